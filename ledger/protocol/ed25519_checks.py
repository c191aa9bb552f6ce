"""Which 32-byte strings are acceptable Ed25519 public keys.

RFC 8032 verification alone accepts keys that are points of small order: with the identity point as
the key and the "trivial" signature (R = identity, S = 0) it verifies *any* message, so such a key
would let anyone sign for an agency that registered it. Encodings that are not canonical (a y
coordinate >= p, or x = 0 with the sign bit set) give one point several spellings, which breaks
"one key, one identity" on chain. CertLedger refuses both wherever a key is read — registration,
key files, verification — and also bytes that are not a point of the curve at all.

The eight small-order points are exactly those whose y coordinate is 0, 1, p-1 or one of two order-8
values (the check below compares y; both signs of x are covered).
"""

from __future__ import annotations

from functools import lru_cache

P = 2**255 - 19
_D = (-121665 * pow(121666, P - 2, P)) % P
_SQRT_M1 = pow(2, (P - 1) // 4, P)
_ORDER8_Y = (
    2707385501144840649318225287225658788936804267575313519463743609750303402022,
    55188659117513257062467267217118295137698188065244968500265048394206261417927,
)
SMALL_ORDER_Y = frozenset({0, 1, P - 1, *_ORDER8_Y})


def _is_square(x2: int) -> bool:
    x = pow(x2, (P + 3) // 8, P)  # p = 5 (mod 8): a root candidate, possibly times sqrt(-1)
    return (x * x - x2) % P == 0 or ((x * _SQRT_M1) ** 2 - x2) % P == 0


@lru_cache(maxsize=4096)  # verifiers meet the same few keys again and again
def weak_key_reason(raw: bytes) -> str | None:
    """Why ``raw`` is not an acceptable Ed25519 public key, or None when it is."""
    if len(raw) != 32:
        return f"an Ed25519 public key is 32 bytes, not {len(raw)}"
    encoded = int.from_bytes(raw, "little")
    y = encoded & ((1 << 255) - 1)  # the top bit is the sign of x
    if y >= P:
        return "not a canonical encoding (y >= 2**255-19)"
    if y in SMALL_ORDER_Y:
        return "a point of small order (it would verify forged signatures)"
    # x**2 = (y**2 - 1) / (d*y**2 + 1): the point exists only when that has a square root. x = 0
    # (where a set sign bit would be a second spelling) needs y = ±1, refused above as small order.
    x2 = (y * y - 1) * pow(_D * y * y + 1, P - 2, P) % P
    if not _is_square(x2):
        return "not a point on the Ed25519 curve"
    return None


__all__ = ["SMALL_ORDER_Y", "weak_key_reason"]
