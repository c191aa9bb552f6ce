"""eddsa-rdfc-2022 (ledger.protocol.rdfc): the W3C vc-di-eddsa test vector, round trips, tampering, safe mode;
and ledger.protocol.data_integrity over both cryptosuites (purposes, challenge, domain, expires, proof sets)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from ledger.protocol import did_key
from ledger.protocol.data_integrity import verify_data_integrity
from ledger.protocol.keys import PublicKey, SigningKey
from ledger.protocol.proof import ProofVerificationError, add_proof
from ledger.protocol.rdfc import canonicalize_rdfc, create_proof_rdfc, hash_data, verify_proof_rdfc
from tests.unit.core_vectors import VECTORS

RDFC = VECTORS / "eddsa-rdfc-2022"
V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"


def vector_key() -> PublicKey:
    pair = json.loads((VECTORS / "eddsa-jcs-2022" / "keyPair.json").read_text())
    return PublicKey(did_key.decode_public_key(pair["publicKeyMultibase"]))


def signed_vector() -> dict:
    return json.loads((RDFC / "signed.json").read_text())


def test_canonical_proof_configuration_is_the_vectors():
    config = json.loads((RDFC / "proofConfig.json").read_text())
    assert canonicalize_rdfc(config) == (RDFC / "canonicalProofConfig.txt").read_text()


def test_hash_data_is_the_vectors():
    doc = {k: v for k, v in signed_vector().items() if k != "proof"}
    config = json.loads((RDFC / "proofConfig.json").read_text())
    assert hash_data(canonicalize_rdfc(doc), canonicalize_rdfc(config)).hex() == (RDFC / "combinedHash.txt").read_text()


def test_the_signed_vector_verifies_with_its_key():
    result = verify_proof_rdfc(signed_vector(), public_key=vector_key())
    assert result.public_key == vector_key()
    assert result.created == datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)


@pytest.mark.parametrize(
    "tamper, code",
    [
        (lambda d: d["credentialSubject"].__setitem__("alumniOf", "Another School"), "INVALID_SIGNATURE"),
        (lambda d: d.__setitem__("validFrom", "2023-01-02T00:00:00Z"), "INVALID_SIGNATURE"),
        (lambda d: d["proof"].__setitem__("created", "2023-02-24T23:36:39Z"), "INVALID_SIGNATURE"),
        (lambda d: d["proof"].__setitem__("proofValue", "z5nmMBw2u9TGKd9NxxHJtyZKgjN2Eh"), "INVALID_PROOF_VALUE"),
        (lambda d: d["proof"].__setitem__("cryptosuite", "eddsa-jcs-2022"), "WRONG_CRYPTOSUITE"),
        (lambda d: d["proof"].__setitem__("proofPurpose", "authentication"), "WRONG_PROOF_PURPOSE"),
        (lambda d: d.__setitem__("@context", [V2, "https://example.com"]), "NOT_CANONICALIZABLE"),
        (lambda d: d.__setitem__("@context", [V2, 123192875]), "NOT_CANONICALIZABLE"),
    ],
)
def test_tampering_is_refused(tamper, code):
    doc = signed_vector()
    tamper(doc)
    with pytest.raises(ProofVerificationError) as err:
        verify_proof_rdfc(doc, public_key=vector_key())
    assert err.value.code == code


def test_a_property_no_context_defines_is_refused_not_left_unsigned():
    key = SigningKey.generate()
    doc = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": key.public_key.did,
        "credentialSubject": {"id": "did:example:s"},
    }
    signed = {**doc, "proof": create_proof_rdfc(doc, key, created="2024-01-01T00:00:00Z")}
    verify_proof_rdfc(signed)
    signed["credentialSubject"]["undefinedClaim"] = "added after signing"  # JSON-LD would drop it
    with pytest.raises(ProofVerificationError) as err:
        verify_proof_rdfc(signed)
    assert err.value.code == "NOT_CANONICALIZABLE"


def test_a_context_appended_after_signing_is_allowed_when_the_proof_names_its_own():
    key = SigningKey.generate()
    doc = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": key.public_key.did,
        "credentialSubject": {"id": "did:example:s", "name": "Alice"},
    }
    proof = create_proof_rdfc(doc, key, created="2024-01-01T00:00:00Z")
    proof["@context"] = [V2]  # signed with it: step 4 substitutes the proof's context
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    data = hash_data(canonicalize_rdfc(doc), canonicalize_rdfc(config))
    proof["proofValue"] = did_key.b58btc_encode(key.sign(data))
    signed = {**doc, "@context": [V2, EXAMPLES], "proof": proof}
    verify_proof_rdfc(signed)
    signed["@context"] = [EXAMPLES, V2]
    with pytest.raises(ProofVerificationError) as err:
        verify_proof_rdfc(signed)
    assert err.value.code == "CONTEXT_MISMATCH"


# ----------------------------------------------------------------------------- data integrity


def presentation(key: SigningKey, **extra) -> dict:
    vp = {"@context": [V2], "type": ["VerifiablePresentation"], "holder": key.public_key.did}
    return {
        **vp,
        "proof": create_proof_rdfc(vp, key, created="2024-01-01T00:00:00Z", proof_purpose="authentication", **extra),
    }


def test_authentication_proofs_check_challenge_and_domain():
    key = SigningKey.generate()
    vp = presentation(key, challenge="abc", domain="example.org")
    verify_data_integrity(vp, purpose="authentication", challenge="abc", domain="example.org")
    for kwargs, code in (
        ({"challenge": "other"}, "CHALLENGE_MISMATCH"),
        ({"challenge": "abc", "domain": "evil.example"}, "DOMAIN_MISMATCH"),
    ):
        with pytest.raises(ProofVerificationError) as err:
            verify_data_integrity(vp, purpose="authentication", **kwargs)
        assert err.value.code == code
    with pytest.raises(ProofVerificationError) as err:
        verify_data_integrity(vp)  # an authentication proof is no assertion
    assert err.value.code == "WRONG_PROOF_PURPOSE"


def test_an_expired_proof_is_refused():
    key = SigningKey.generate()
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    vp = presentation(key, challenge="c", expires=past)
    with pytest.raises(ProofVerificationError) as err:
        verify_data_integrity(vp, purpose="authentication", challenge="c")
    assert err.value.code == "PROOF_EXPIRED"


def test_both_cryptosuites_and_proof_sets():
    a, b = SigningKey.generate(), SigningKey.generate()
    doc = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": a.public_key.did,
        "credentialSubject": {"id": "did:example:s"},
    }
    jcs = add_proof(doc, a, created="2024-01-01T00:00:00Z")["proof"]
    rdfc = create_proof_rdfc(doc, b, created="2024-01-01T00:00:00Z")
    results = verify_data_integrity({**doc, "proof": [jcs, rdfc]})
    assert [r.public_key for r in results] == [a.public_key, b.public_key]
    broken = copy.deepcopy(rdfc)
    broken["created"] = "2024-01-02T00:00:00Z"
    with pytest.raises(ProofVerificationError) as err:
        verify_data_integrity({**doc, "proof": [jcs, broken]})
    assert err.value.code == "INVALID_SIGNATURE"
    with pytest.raises(ProofVerificationError) as err:
        verify_data_integrity({**doc, "proof": {**rdfc, "cryptosuite": "ecdsa-rdfc-2019"}})
    assert err.value.code == "WRONG_CRYPTOSUITE"
    with pytest.raises(ProofVerificationError) as err:
        verify_data_integrity(doc)
    assert err.value.code == "PROOF_MISSING"
