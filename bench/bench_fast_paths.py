"""Each fast path that remains on a hot path, against the reference code it stands in for.

Run: .venv/bin/python bench/bench_fast_paths.py
A fast path stays only where it saves at least 10% of the operation it sits in (docs/architecture.md,
"Fast paths"); this prints, for each, microseconds per call of the fast path and of the reference on
the same input in the same process (best of 7 rounds, CPU time), and the share of one verification
(or one bulk-issued credential) that the difference is. The unit tests named in docs/architecture.md
hold each pair equal.
"""

from __future__ import annotations

import copy
import gc
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.issuance.schema_precheck import FastValidatedType  # noqa: E402
from ledger.protocol import datetimes  # noqa: E402
from ledger.protocol.bundle import _hex32, _hex32_of_text, parse_bundle_plain  # noqa: E402
from ledger.protocol.canonical import canonicalize  # noqa: E402
from ledger.protocol.canonical_plain import (  # noqa: E402
    plain_object_text,
    plain_object_text_sharing,
    shared_member_text,
)
from ledger.protocol.credential_types import BUILTIN_TYPES  # noqa: E402
from ledger.protocol.merkle import MerkleTree, compute_root, hash_pair, leaf_hash  # noqa: E402
from ledger.verification.report import CHECK_NAMES, Report, valid  # noqa: E402

EXAMPLE = ROOT / "docs" / "examples" / "bundle.json"


def per_call_us(fn, n: int) -> float:
    best = float("inf")
    gc.collect()
    for _ in range(7):
        t = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, time.process_time() - t)
    return best / n * 1e6


def plain_fold(digest: bytes, proof) -> bytes:
    node = leaf_hash(digest)
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def main() -> None:
    raw = EXAMPLE.read_bytes()
    bundle, plain = parse_bundle_plain(raw)
    credential = bundle.credential
    assert plain
    rows = []

    rows.append(
        (
            "canonical text of a credential (x3 per verification)",
            per_call_us(lambda: plain_object_text(credential), 20_000),
            per_call_us(lambda: canonicalize(credential), 5_000),
            3,
        )
    )

    # a credential of a type with a display layout: renderMethod is a third of its text, the same
    # in every credential of the type; the proof check writes two texts that hold it
    with_layout = json.loads(
        json.dumps({**credential, "renderMethod": [BUILTIN_TYPES["DegreeCertificate"].render_method]})
    )

    def spliced() -> str | None:
        member = shared_member_text(with_layout["renderMethod"])
        assert member is not None
        return plain_object_text_sharing(with_layout, "renderMethod", member)

    assert spliced() == plain_object_text(with_layout)
    rows.append(
        (
            "canonical text of a credential with its layout (x2 per verification)",
            per_call_us(spliced, 20_000),
            per_call_us(lambda: plain_object_text(with_layout), 20_000),
            2,
        )
    )

    digests = [i.to_bytes(32, "big") for i in range(1, 10_001)]
    tree = MerkleTree.build(digests)
    proofs = [tree.proof(i) for i in range(0, 10_000, 7)]
    pairs = list(zip(digests[::7], proofs))
    state = {"i": 0}

    def next_pair():
        state["i"] = (state["i"] + 1) % len(pairs)
        return pairs[state["i"]]

    rows.append(
        (
            "Merkle path of a 10,000 batch, in batch order",
            per_call_us(lambda: compute_root(*next_pair()), 20_000),
            per_call_us(lambda: plain_fold(*next_pair()), 20_000),
            1,
        )
    )

    assert bundle.anchor is not None
    texts = ["0x" + bundle.anchor.root.hex()] + ["0x" + p.hex() for p in proofs[5]]
    rows.append(
        (
            "0x-hex root and path of a bundle, texts seen before",
            per_call_us(lambda: [_hex32(t, "p") for t in texts], 20_000),
            per_call_us(lambda: [_hex32_of_text.__wrapped__(t) for t in texts], 20_000),
            1,
        )
    )

    created = credential["proof"]["created"]
    rows.append(
        (
            "dateTime of the canonical UTC form (x3 per verification)",
            per_call_us(lambda: datetimes.parse_xsd_datetime(created), 50_000),
            per_call_us(lambda: datetimes._parse_xsd_general(created, True, False), 50_000),
            3,
        )
    )

    checks = [valid(name, "OK", key="did:key:z6Mk", batch="0x" + "ab" * 32) for name in CHECK_NAMES]
    report = Report(checks, {"id": "urn:uuid:1", "issuer": {"name": "教育厅"}})
    rows.append(
        (
            "report JSON of POST /verify",
            per_call_us(report.to_json_text, 20_000),
            per_call_us(lambda: json.dumps(report.to_json(), ensure_ascii=False), 20_000),
            1,
        )
    )

    degree = BUILTIN_TYPES["DegreeCertificate"]
    fast = FastValidatedType(degree)
    subject = copy.deepcopy(credential["credentialSubject"])
    subject.pop("id", None)
    assert fast.subject_errors(subject) == degree.subject_errors(subject) == []
    schema_row = (
        "subject schema check (bulk issuance, per credential)",
        per_call_us(lambda: fast.subject_errors(subject), 20_000),
        per_call_us(lambda: degree.subject_errors(subject), 5_000),
        1,
    )

    print(f"{'fast path':60} {'fast us':>8} {'reference us':>13} {'saved us':>9}")
    for name, fast_us, ref_us, times in [*rows, schema_row]:
        print(f"{name:60} {fast_us:8.2f} {ref_us:13.2f} {(ref_us - fast_us) * times:9.2f}")
    print(
        json.dumps(
            {
                "bench": "fast_paths",
                "rows": [
                    {"name": n, "fast_us": round(f, 2), "reference_us": round(r, 2), "saved_us": round((r - f) * t, 2)}
                    for n, f, r, t in [*rows, schema_row]
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
