"""Pure pieces of the issuance library: encryption at rest, idempotency fingerprints, policies, signing rows,
crash points, cursors."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from ledger.issuance import BatchPolicy
from ledger.issuance.anchoring import _backoff
from ledger.issuance.errors import BulkRejected, RowError
from ledger.issuance.idempotency import check_key, request_hash
from ledger.issuance.queries import _decode, _encode
from ledger.issuance.signing import RefusedRow, RowSigner, SignedRow, sign_rows
from ledger.protocol.credential import Issuer, check_credential
from ledger.protocol.credential_types import BUILTIN_TYPES
from ledger.protocol.digest import credential_digest_hex
from ledger.protocol.errors import FieldError, ValidationError
from ledger.protocol.keys import SigningKey
from ledger.protocol.proof import verify_proof
from ledger.protocol.status_list import status_entries
from ledger.storage.at_rest import AtRestCipher, AtRestError, derive_storage_key

SUBJECT = {
    "name": "张三",
    "idNumber": "330106199001011234",
    "degree": "学士",
    "major": "法学",
    "institution": "浙江大学",
    "graduationDate": "2024-06-30",
}

STATUS_BASE = "http://127.0.0.1:8000/status"


# ------------------------------------------------------------------ encryption at rest


def test_encrypt_decrypt_round_trip_and_binding_to_the_row():
    cipher = AtRestCipher(os.urandom(32))
    sealed = cipher.encrypt_json({"name": "张三"}, "urn:uuid:a")
    assert sealed[:1] == b"\x01" and "张三".encode() not in sealed
    assert cipher.decrypt_json(sealed, "urn:uuid:a") == {"name": "张三"}
    with pytest.raises(AtRestError):
        cipher.decrypt_json(sealed, "urn:uuid:b")  # another row's associated data
    with pytest.raises(AtRestError):
        AtRestCipher(os.urandom(32)).decrypt_json(sealed, "urn:uuid:a")
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(AtRestError):
        cipher.decrypt(bytes(tampered), b"urn:uuid:a")
    with pytest.raises(AtRestError):
        cipher.decrypt(b"\x02" + sealed[1:], b"urn:uuid:a")
    assert cipher.encrypt(b"x") != cipher.encrypt(b"x")  # fresh nonce each time
    assert "key" not in repr(cipher).replace("<key hidden>", "")


def test_encrypt_many_encrypts_each_value_for_its_row_with_its_own_nonce():
    cipher = AtRestCipher(os.urandom(32))
    pairs = [(os.urandom(32), f"urn:uuid:{i}".encode()) for i in range(50)] + [(b"", b"urn:uuid:empty")]
    sealed = cipher.encrypt_many(pairs)
    assert [cipher.decrypt(s, associated) for s, (_, associated) in zip(sealed, pairs)] == [p for p, _ in pairs]
    assert len({s[1:13] for s in sealed}) == len(pairs)  # a nonce per value
    with pytest.raises(AtRestError):
        cipher.decrypt(sealed[0], pairs[1][1])  # bound to its own row
    assert cipher.encrypt_many([]) == []


def test_storage_key_derivation_is_deterministic_and_cached():
    salt = os.urandom(16)
    a = derive_storage_key("pass", salt, 2**10)
    assert a == derive_storage_key("pass", salt, 2**10) and len(a) == 32
    assert a != derive_storage_key("pass", os.urandom(16), 2**10)
    assert a != derive_storage_key("other", salt, 2**10)
    with pytest.raises(ValueError):
        derive_storage_key("", salt)
    with pytest.raises(ValueError):
        AtRestCipher(b"short")


# ------------------------------------------------------------------ idempotency


def test_request_fingerprint_ignores_key_order_not_values():
    assert request_hash({"a": 1, "b": {"x": "中", "y": 2}}) == request_hash({"b": {"y": 2, "x": "中"}, "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})


@pytest.mark.parametrize("key", ["", "a b", "x" * 201, "é", "tab\t"])
def test_bad_idempotency_keys(key):
    with pytest.raises(ValidationError):
        check_key(key)


def test_good_idempotency_key():
    assert check_key("order-42:2024/06") == "order-42:2024/06"


# ------------------------------------------------------------------ policies and errors


def test_batch_policy_bounds():
    with pytest.raises(ValueError):
        BatchPolicy(max_size=0)
    with pytest.raises(ValueError):
        BatchPolicy(max_size=2**32)
    with pytest.raises(ValueError):
        BatchPolicy(max_age_s=-1)


def test_batch_policy_from_the_environment():
    from ledger.settings import ConfigError, LedgerEnvironment

    def from_env(environ):
        return BatchPolicy.from_environment(LedgerEnvironment.from_environ(environ))

    assert from_env({}) == BatchPolicy()
    policy = from_env(
        {"CERTLEDGER_BATCH_MAX_SIZE": "250", "CERTLEDGER_BATCH_MAX_AGE_S": "0.5", "CERTLEDGER_ANCHOR_LEASE_TTL_S": "3"}
    )
    assert (policy.max_size, policy.max_age_s, policy.lease_ttl_s) == (250, 0.5, 3.0)
    with pytest.raises(ConfigError, match="CERTLEDGER_BATCH_MAX_SIZE"):
        from_env({"CERTLEDGER_BATCH_MAX_SIZE": "many"})
    with pytest.raises(ConfigError, match="CERTLEDGER_BATCH_MAX_SIZE: input should be greater than or equal to 1"):
        from_env({"CERTLEDGER_BATCH_MAX_SIZE": "0"})


def test_backoff_doubles_up_to_the_maximum():
    ctx = SimpleNamespace(policy=BatchPolicy(retry_backoff_s=2, retry_backoff_max_s=60))
    assert [_backoff(ctx, n) for n in (0, 1, 2, 3, 10, 100)] == [timedelta(seconds=s) for s in (2, 2, 4, 8, 60, 60)]


def test_bulk_rejected_message_lists_rows():
    errors = [RowError(n, [FieldError("credentialSubject.name", "is required")]) for n in (2, 3, 5, 9)]
    message = str(BulkRejected(errors))
    assert "4 invalid rows" in message and "row 2: credentialSubject.name: is required" in message
    assert "and 1 more rows" in message
    assert RowError.from_dict(errors[0].to_dict()) == errors[0]


def test_cursor_round_trip():
    assert _decode(_encode(["2024-01-01T00:00:00+00:00", "urn:uuid:x"])) == ["2024-01-01T00:00:00+00:00", "urn:uuid:x"]
    with pytest.raises(ValueError):
        _decode("!!!")


# ------------------------------------------------------------------ signing rows


@pytest.fixture(scope="module")
def signer():
    return RowSigner(
        Issuer("zj-hz-education", "教育局"),
        BUILTIN_TYPES["DegreeCertificate"],
        SigningKey.generate(),
        "2024-07-01T00:00:00Z",
        STATUS_BASE,
    )


def test_signed_row_is_a_verifiable_credential(signer):
    import json

    row = signer.sign(7, {**SUBJECT, "id": "did:example:1"}, None, "2030-01-01T00:00:00Z", (2, 99))
    credential = json.loads(row.canonical)
    verify_proof(credential)
    check_credential(credential)
    assert row.digest == credential_digest_hex(credential)
    assert (row.number, row.subject_id, row.valid_from, row.valid_until) == (
        7,
        "did:example:1",
        "2024-07-01T00:00:00Z",
        "2030-01-01T00:00:00Z",
    )
    assert (row.status_list_id, row.status_index) == (2, 99)
    assert credential["credentialStatus"] == status_entries(STATUS_BASE, "zj-hz-education", 2, 99)


def test_refused_row_names_the_fields(signer):
    result = signer.sign_or_refuse(3, {"name": "x"}, None, None, (1, 3))
    assert isinstance(result, RefusedRow) and result.number == 3
    assert "credentialSubject.degree" in {e.field for e in result.errors}


def test_parallel_signing_keeps_order_and_matches_sequential(signer):
    items = [
        (i, {**SUBJECT, "name": f"s{i}"} if i % 7 else {"name": "bad"}, None, None, (1, 1000 + i)) for i in range(1, 60)
    ]
    parallel = list(sign_rows(signer, items, workers=2))
    assert [r.number for r in parallel] == list(range(1, 60))
    assert all(r.status_index == 1000 + r.number for r in parallel if isinstance(r, SignedRow))
    assert all(isinstance(r, RefusedRow) == (r.number % 7 == 0) for r in parallel)
    ok = [r for r in parallel if isinstance(r, SignedRow)]
    import json

    for r in ok[:5]:
        verify_proof(json.loads(r.canonical))
    spec = signer.spec()
    assert spec.seed.hex() not in repr(spec) and repr(spec.seed) not in repr(spec)  # the key never printed


# ------------------------------------------------------------------ crash points


@pytest.mark.slow  # an exhaustive property run: make test, not make check
def test_crash_hook_kills_only_at_its_step():
    code = (
        "import sys; from tests.integration.crash_hooks import kill_at; "
        "kill_at(sys.argv[1])('before_send'); print('alive')"
    )
    repo = Path(__file__).resolve().parents[2]
    alive = subprocess.run([sys.executable, "-c", code, "after_send"], capture_output=True, text=True, cwd=repo)
    assert alive.returncode == 0 and "alive" in alive.stdout
    killed = subprocess.run([sys.executable, "-c", code, "before_send"], capture_output=True, text=True, cwd=repo)
    assert killed.returncode == -9 and "alive" not in killed.stdout


def test_the_default_step_hook_does_nothing_and_unknown_steps_are_refused():
    from ledger.issuance.context import no_step
    from tests.integration.crash_hooks import kill_at

    assert kill_at(None) is no_step and no_step("before_send") is None
    with pytest.raises(ValueError, match="unknown anchoring step"):
        kill_at("before_sned")


# ------------------------------------------------------------------ signing = issue_credential, byte for byte

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ledger.protocol import credential as credential_module  # noqa: E402
from ledger.protocol.canonical import canonicalize  # noqa: E402
from ledger.protocol.credential import issue_credential  # noqa: E402
from ledger.protocol.credential_types import CredentialType  # noqa: E402

FREE = CredentialType("FreeForm", {"type": "object"})
_TRICKY_KEYS = st.sampled_from(
    [
        "type",
        "proof",
        "validFrom",
        "validUntil",
        "id",
        "@context",
        "issuer",
        "é",
        "\U0001f600",
        "proofValue",
        "renderMethod",
        'a"b',
        "",
        "Type",
    ]
)
_json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53) + 1, 2**53 - 1),
        st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer() or abs(f) < 2**53),
        st.text(max_size=8),
        st.just(["VerifiableCredential", "FreeForm"]),
        st.just(',"type":["VerifiableCredential","FreeForm"],"validFrom":"'),
        st.just(',"renderMethod":[{"renderSuite":'),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(_TRICKY_KEYS, st.text(max_size=4)), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    subject=st.dictionaries(st.one_of(_TRICKY_KEYS, st.text(max_size=5)), _json_values, max_size=6),
    until=st.sampled_from([None, "2099-01-01T00:00:00Z"]),
    start=st.sampled_from([None, "2024-01-01T00:00:00Z"]),
)
@pytest.mark.slow  # an exhaustive property run: make test, not make check
def test_row_signer_makes_exactly_what_issue_credential_makes(subject, until, start):
    key = SigningKey.from_seed(bytes(range(32)))
    issuer = Issuer("zj-hz-education", '教育局 "Edu"')
    signer = RowSigner(issuer, FREE, key, "2024-07-01T08:00:00Z", STATUS_BASE)
    credential, row = signer.sign_full(1, subject, start, until, (7, 131071))
    fixed = credential["id"]
    original = credential_module.new_credential_id
    credential_module.new_credential_id = lambda: fixed
    try:
        reference = issue_credential(
            FREE,
            subject,
            issuer,
            key,
            created="2024-07-01T08:00:00Z",
            valid_from=start,
            valid_until=until,
            status=status_entries(STATUS_BASE, issuer.code, 7, 131071),
        )
    finally:
        credential_module.new_credential_id = original
    assert credential == reference  # Ed25519 is deterministic: same proofValue too
    assert row.canonical == canonicalize(reference)
    assert row.digest == credential_digest_hex(reference)


def test_row_signer_refuses_a_non_canonical_proof_time():
    with pytest.raises(ValueError):
        RowSigner(Issuer("zj-hz-education", "x"), FREE, SigningKey.generate(), "2024-07-01T08:00:00.5Z", STATUS_BASE)
