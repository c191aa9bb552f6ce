"""Issue, anchor on a real anvil, verify: VALID, and a tamper suite that must never pass."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from ledger.chain import Reason
from ledger.protocol.bundle import Bundle
from ledger.protocol.did_key import b58btc_decode, b58btc_encode
from ledger.protocol.identifiers import agency_id
from ledger.protocol.keys import SigningKey
from ledger.verification import Status, Verdict, verify
from tests.conftest import deploy_fresh, new_funded_account
from tests.integration.conftest import degree

pytestmark = pytest.mark.integration

EDU, CIVIL = "zj-hz-education", "zj-hz-civil"


def as_json(bundle: Bundle) -> dict:
    return json.loads(bundle.dumps())


def check(report, name):
    return report.check(name)


@pytest.fixture(scope="module")
def valid_bundle(shared_world):
    _, bundles = shared_world.anchor(EDU, [shared_world.sign(EDU, degree(f"学生{i}")) for i in range(5)])
    return as_json(bundles[2])


def test_valid_bundle_every_check_valid(shared_world, valid_bundle):
    report = verify(json.dumps(valid_bundle), shared_world.trust(), shared_world.reader())
    assert [(c.name, c.status) for c in report.checks] == [
        (n, Status.VALID) for n in ("format", "integrity", "anchor", "issuer", "status", "validity")
    ]
    assert report.verdict is Verdict.VALID
    out = report.to_json()
    assert out["verdict"] == "VALID"
    assert out["credential"]["type"] == "DegreeCertificate"
    # v2: the issuer is the signing key's did:key; the agency is named by its code and its ON-CHAIN name
    edu = shared_world.agencies[EDU]
    assert out["credential"]["issuer"] == {
        "id": edu.signing_key.public_key.did,
        "name": edu.issuer.name,
        "agency": {"code": EDU, "name": "杭州市教育局 Hangzhou Education Bureau"},
    }
    assert valid_bundle["credential"]["issuer"]["agency"] == f"urn:certledger:agency:{EDU}"
    assert "杭州市教育局 Hangzhou Education Bureau" in check(report, "issuer").message
    assert out["credential"]["anchoredAt"].endswith("Z")
    assert all(c["messages"]["zh-CN"] and c["message"] for c in out["checks"])


@pytest.mark.parametrize(
    "render",
    [
        lambda b: json.dumps(b),
        lambda b: json.dumps(b, indent=4),
        lambda b: json.dumps(b, ensure_ascii=True),  # every Chinese character as \\uXXXX
        lambda b: json.dumps(_reverse_keys(b), indent=1),
        lambda b: json.dumps(b, separators=(" , ", " : ")).encode("utf-8"),
    ],
    ids=["compact", "indent4", "ascii-escaped", "keys-reversed", "odd-whitespace-bytes"],
)
def test_harmless_reserialisation_stays_valid(shared_world, valid_bundle, render):
    report = verify(render(valid_bundle), shared_world.trust(), shared_world.reader())
    assert report.verdict is Verdict.VALID, report.to_json()


def _reverse_keys(value):
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


# --- the tamper suite: (mutation of the bundle JSON) -> (check, code) expected ----------------------


def _set(path, value):
    def mutate(b):
        target = b
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path):
    def mutate(b):
        target = b
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _flip_signature_bit(b):
    sig = bytearray(b58btc_decode(b["credential"]["proof"]["proofValue"]))
    sig[10] ^= 0x01
    b["credential"]["proof"]["proofValue"] = b58btc_encode(bytes(sig))


def _flip_hex(path, index=None):
    def mutate(b):
        target = b["anchor"]
        value = target[path] if index is None else target[path][index]
        flipped = value[:-1] + ("0" if value[-1] != "0" else "1")
        if index is None:
            target[path] = flipped
        else:
            target[path][index] = flipped

    return mutate


def _other_address(b, field):
    prefix, chain, _ = b["anchor"][field].split(":")
    b["anchor"][field] = f"{prefix}:{chain}:0x{'12' * 20}"


def _swap_key(b, key):
    """issuer.id and the verification method both name another key: consistent, but not the signer."""
    did = key.public_key.did
    b["credential"]["issuer"]["id"] = did
    b["credential"]["proof"]["verificationMethod"] = f"{did}#{did[len('did:key:') :]}"


def _move_status_slot(b, index):
    for entry in b["credential"]["credentialStatus"]:
        entry["statusListIndex"] = str(index)
        entry["id"] = f"{entry['statusListCredential']}#{index}"


def _wrong_chain(b):
    for field in ("ledger", "registry"):
        _, _, address = b["anchor"][field].split(":")
        b["anchor"][field] = f"eip155:1:{address}"


TAMPERS = {
    "claim-changed": (_set(["credential", "credentialSubject", "name"], "李四"), "integrity", "INVALID_SIGNATURE"),
    "claim-added": (
        _set(["credential", "credentialSubject", "honours"], "summa cum laude"),
        "integrity",
        "INVALID_SIGNATURE",
    ),
    "claim-removed": (_delete(["credential", "credentialSubject", "major"]), "integrity", "INVALID_SIGNATURE"),
    "claim-lookalike": (
        _set(["credential", "credentialSubject", "institution"], "浙江大学 Zhejiang Univеrsity"),
        "integrity",
        "INVALID_SIGNATURE",
    ),
    "issuer-name-changed": (
        _set(["credential", "issuer", "name"], "Fake University"),
        "integrity",
        "INVALID_SIGNATURE",
    ),
    # v2: issuer.agency names the agency inside the signed data; claiming another one breaks the
    # signature, and the chain is then read in THAT agency's namespace, where the root is not anchored
    "issuer-other-agency": (
        _set(["credential", "issuer", "agency"], f"urn:certledger:agency:{CIVIL}"),
        "integrity",
        "INVALID_SIGNATURE",
    ),
    "issuer-lookalike": (
        _set(["credential", "issuer", "agency"], "urn:certledger:agency:zj-hz-еducation"),
        "format",
        "CREDENTIAL_MALFORMED",
    ),
    "issuer-agency-removed": (_delete(["credential", "issuer", "agency"]), "format", "CREDENTIAL_MALFORMED"),
    "issuer-as-v1-iri": (
        _set(["credential", "issuer"], f"urn:certledger:agency:{EDU}"),
        "format",
        "CREDENTIAL_MALFORMED",
    ),
    # issuer.id must be the did:key of the proof's verification method
    "issuer-key-swapped": (
        _set(["credential", "issuer", "id"], SigningKey.generate().public_key.did),
        "format",
        "CREDENTIAL_MALFORMED",
    ),
    "issuer-and-method-swapped": (lambda b: _swap_key(b, SigningKey.generate()), "integrity", "INVALID_SIGNATURE"),
    "status-index-changed": (lambda b: _move_status_slot(b, 7), "integrity", "INVALID_SIGNATURE"),
    "status-removed": (_delete(["credential", "credentialStatus"]), "format", "CREDENTIAL_MALFORMED"),
    "status-one-entry": (lambda b: b["credential"]["credentialStatus"].pop(), "format", "CREDENTIAL_MALFORMED"),
    "validFrom-changed": (_set(["credential", "validFrom"], "2020-01-01T00:00:00Z"), "integrity", "INVALID_SIGNATURE"),
    "validUntil-added": (_set(["credential", "validUntil"], "2099-01-01T00:00:00Z"), "integrity", "INVALID_SIGNATURE"),
    "validFrom-unparseable": (_set(["credential", "validFrom"], "next tuesday"), "format", "CREDENTIAL_MALFORMED"),
    "id-changed": (
        _set(["credential", "id"], "urn:uuid:00000000-0000-4000-8000-000000000000"),
        "integrity",
        "INVALID_SIGNATURE",
    ),
    # eddsa-jcs-2022 lets a verifier ignore contexts appended after the proof's own (spec §3.3.2), so
    # the signature still holds; v2's format check refuses any other @context, and the anchored digest
    # would catch it too (test_appended_context_is_caught_twice)
    "context-appended": (
        lambda b: b["credential"]["@context"].append("https://example.org/x"),
        "format",
        "CREDENTIAL_MALFORMED",
    ),
    "context-replaced": (_set(["credential", "@context"], ["https://example.org/x"]), "format", "CREDENTIAL_MALFORMED"),
    "proof-created-changed": (
        _set(["credential", "proof", "created"], "2021-01-01T00:00:00Z"),
        "integrity",
        "INVALID_SIGNATURE",
    ),
    "proof-cryptosuite": (
        _set(["credential", "proof", "cryptosuite"], "ecdsa-jcs-2019"),
        "format",
        "CREDENTIAL_MALFORMED",
    ),
    "proof-purpose": (
        _set(["credential", "proof", "proofPurpose"], "authentication"),
        "format",
        "CREDENTIAL_MALFORMED",
    ),
    "proof-removed": (_delete(["credential", "proof"]), "format", "CREDENTIAL_MALFORMED"),
    "proof-as-set": (
        lambda b: b["credential"].__setitem__("proof", [b["credential"]["proof"]]),
        "format",
        "CREDENTIAL_MALFORMED",
    ),
    "signature-bit-flipped": (_flip_signature_bit, "integrity", "INVALID_SIGNATURE"),
    "signature-not-base58": (_set(["credential", "proof", "proofValue"], "z0OIl"), "integrity", "INVALID_PROOF_VALUE"),
    "digest-altered": (_flip_hex("digest"), "anchor", "DIGEST_MISMATCH"),
    "root-altered": (_flip_hex("root"), "anchor", "MERKLE_PATH_INVALID"),
    "path-step-altered": (_flip_hex("path", 0), "anchor", "MERKLE_PATH_INVALID"),
    "path-step-removed": (lambda b: b["anchor"]["path"].pop(), "anchor", "MERKLE_PATH_INVALID"),
    "wrong-ledger": (lambda b: _other_address(b, "ledger"), "anchor", "UNTRUSTED_DEPLOYMENT"),
    "wrong-registry": (lambda b: _other_address(b, "registry"), "anchor", "UNTRUSTED_DEPLOYMENT"),
    "wrong-chain": (_wrong_chain, "anchor", "UNTRUSTED_DEPLOYMENT"),
    "anchor-null": (_set(["anchor"], None), "anchor", "NOT_ANCHORED"),
    "unknown-version": (_set(["version"], 3), "format", "UNSUPPORTED_VERSION"),
    "v1-bundle": (_set(["version"], 1), "format", "UNSUPPORTED_VERSION"),
    "version-as-string": (_set(["version"], "2"), "format", "BUNDLE_MALFORMED"),
    "version-as-float": (_set(["version"], 2.0), "format", "BUNDLE_MALFORMED"),
    "unknown-field": (_set(["extra"], True), "format", "BUNDLE_MALFORMED"),
    "digest-uppercase-hex": (
        lambda b: b["anchor"].__setitem__("digest", "0x" + b["anchor"]["digest"][2:].upper()),
        "format",
        "BUNDLE_MALFORMED",
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampered_bundle_is_not_valid(shared_world, valid_bundle, name):
    mutate, check_name, code = TAMPERS[name]
    bundle = copy.deepcopy(valid_bundle)
    mutate(bundle)
    report = verify(json.dumps(bundle, ensure_ascii=False), shared_world.trust(), shared_world.reader())
    assert report.verdict is Verdict.INVALID
    result = check(report, check_name)
    assert (result.status, result.code) == (Status.INVALID, code), report.to_json()
    if name == "issuer-other-agency":
        # the digest covers issuer.agency too; the verifier now speaks of CIVIL (test_credential_claiming_
        # another_agency_is_checked_in_its_namespace covers a credential signed that way from the start)
        assert (check(report, "anchor").status, check(report, "anchor").code) == (Status.INVALID, "DIGEST_MISMATCH")
        assert report.credential["issuer"]["agency"]["code"] == CIVIL


def test_appended_context_is_caught_twice(shared_world, valid_bundle):
    """Defence in depth: an appended @context keeps the eddsa-jcs-2022 signature valid; format refuses
    it, and even past format the anchored digest (over the whole credential) would not match."""
    from ledger.protocol.digest import credential_digest, to_hex32
    from ledger.protocol.proof import verify_proof

    bundle = copy.deepcopy(valid_bundle)
    bundle["credential"]["@context"].append("https://example.org/x")
    verify_proof(bundle["credential"])  # still verifies: the signature alone does not catch it
    assert to_hex32(credential_digest(bundle["credential"])) != bundle["anchor"]["digest"]
    report = verify(json.dumps(bundle), shared_world.trust(), shared_world.reader())
    assert (check(report, "format").code, report.verdict) == ("CREDENTIAL_MALFORMED", Verdict.INVALID)
    assert "@context" in check(report, "format").message


def test_duplicate_json_keys_are_refused(shared_world, valid_bundle):
    text = json.dumps(valid_bundle, ensure_ascii=False)
    twice = text.replace('"name": "学生2"', '"name": "学生2", "name": "李四"', 1)
    assert twice != text
    report = verify(twice, shared_world.trust(), shared_world.reader())
    assert (check(report, "format").code, report.verdict) == ("BUNDLE_MALFORMED", Verdict.INVALID)
    assert "duplicate" in check(report, "format").message


def test_not_json_and_wrong_shapes(shared_world):
    for raw in (b"\xff\xfe", "not json", "[]", '{"type": "CertLedgerBundle"}', "null", ""):
        report = verify(raw, shared_world.trust(), shared_world.reader())
        assert report.verdict is Verdict.INVALID
        assert check(report, "format").status is Status.INVALID


# --- semantic cases that need their own chain state ------------------------------------------------


def _verdict(world, bundle, reader=None):
    return verify(bundle.to_bytes(), world.trust(), reader or world.reader())


def test_root_never_anchored(world):
    from ledger.protocol.batch import ClosedBatch

    batch = ClosedBatch.close([world.sign(EDU, degree())])
    bundle = batch.bundle(0, world.deployment, "0x" + "ab" * 32, 1)
    report = _verdict(world, bundle)
    assert (check(report, "anchor").code, report.verdict) == ("ROOT_NOT_ANCHORED", Verdict.INVALID)


def test_bundle_of_an_untrusted_deployment_that_is_valid_there(world, w3, anvil):
    """A perfectly anchored credential on another deployment is still INVALID here."""
    other = deploy_fresh(w3, anvil.rpc_url)
    from tests.integration.conftest import World

    rogue = World(other["deployment"], other["registry"], {}, anvil.rpc_url, anvil.chain_id)
    rogue.add_agency(
        EDU, "Rogue copy of the education bureau", ["DegreeCertificate"], new_funded_account(anvil.rpc_url)
    )
    _, bundles = rogue.anchor(EDU, [rogue.sign(EDU, degree())])
    assert _verdict(rogue, bundles[0]).verdict is Verdict.VALID  # valid where it was anchored
    report = _verdict(world, bundles[0])
    assert (check(report, "anchor").code, report.verdict) == ("UNTRUSTED_DEPLOYMENT", Verdict.INVALID)


def test_key_of_another_agency(world):
    """v1's KEY_OF_OTHER_AGENCY: in v2 keys are per agency, so a key registered only for CIVIL is simply
    not registered in EDU's namespace, where a credential naming EDU is checked."""
    from ledger.protocol.credential import issue_credential
    from ledger.protocol.credential_types import BUILTIN_TYPES

    edu, civil = world.agencies[EDU], world.agencies[CIVIL]
    forged = issue_credential(
        BUILTIN_TYPES["DegreeCertificate"],
        degree(),
        edu.issuer,
        civil.signing_key,
        status=edu.status(),
        created=datetime.now(UTC) - timedelta(seconds=5),
    )
    assert forged["issuer"]["agency"] == f"urn:certledger:agency:{EDU}"
    assert world.registry.key_of(agency_id(CIVIL), civil.signing_key.public_key.raw).registered
    assert not world.registry.key_of(agency_id(EDU), civil.signing_key.public_key.raw).registered
    # anchored by EDU's own operator (an insider with CIVIL's key): the key is not EDU's
    _, bundles = world.anchor(EDU, [forged])
    report = _verdict(world, bundles[0])
    assert check(report, "integrity").status is Status.VALID
    assert check(report, "anchor").status is Status.VALID
    assert (check(report, "issuer").code, report.verdict) == ("KEY_NOT_REGISTERED", Verdict.INVALID)
    assert "杭州市教育局 Hangzhou Education Bureau" in check(report, "issuer").message
    # anchored by CIVIL, whose key it is: CIVIL's anchor is not in EDU's namespace
    forged = issue_credential(
        BUILTIN_TYPES["DegreeCertificate"],
        degree("另一个"),
        edu.issuer,
        civil.signing_key,
        status=edu.status(),
        created=datetime.now(UTC) - timedelta(seconds=5),
    )
    _, bundles = world.anchor(CIVIL, [forged])
    report = _verdict(world, bundles[0])
    assert check(report, "integrity").status is Status.VALID
    assert (check(report, "anchor").code, report.verdict) == ("ROOT_NOT_ANCHORED", Verdict.INVALID)
    assert check(report, "issuer").status is Status.SKIPPED


def test_credential_claiming_another_agency_is_checked_in_its_namespace(world):
    """Signed by EDU's key but naming CIVIL in issuer.agency: every chain read is in CIVIL's namespace.
    EDU's anchor does not count there, and CIVIL anchoring it does not make EDU's key CIVIL's."""
    from ledger.protocol.credential import Issuer, issue_credential
    from ledger.protocol.credential_types import BUILTIN_TYPES

    edu, civil = world.agencies[EDU], world.agencies[CIVIL]
    residence = {"name": "王五", "idNumber": "330106199001011234", "address": "杭州市西湖区"}

    def claiming_civil(name):
        subject = dict(residence, name=name)
        return issue_credential(
            BUILTIN_TYPES["ResidenceCertificate"],
            subject,
            Issuer(CIVIL, civil.issuer.name),
            edu.signing_key,
            status=civil.status(),
            created=datetime.now(UTC) - timedelta(seconds=5),
        )

    _, bundles = world.anchor(EDU, [claiming_civil("王五")])
    report = _verdict(world, bundles[0])
    assert check(report, "integrity").status is Status.VALID
    assert (check(report, "anchor").code, report.verdict) == ("ROOT_NOT_ANCHORED", Verdict.INVALID)
    assert CIVIL in check(report, "anchor").message
    assert report.credential["issuer"]["agency"]["code"] == CIVIL

    _, bundles = world.anchor(CIVIL, [claiming_civil("赵六")])
    report = _verdict(world, bundles[0])
    assert check(report, "anchor").code == "ANCHORED"
    assert (check(report, "issuer").code, report.verdict) == ("KEY_NOT_REGISTERED", Verdict.INVALID)
    assert "杭州市民政局 Hangzhou Civil Affairs Bureau" in check(report, "issuer").message


def test_unregistered_key(world):
    from ledger.protocol.credential import issue_credential
    from ledger.protocol.credential_types import BUILTIN_TYPES

    stray = SigningKey.generate()
    credential = issue_credential(
        BUILTIN_TYPES["DegreeCertificate"],
        degree(),
        world.agencies[EDU].issuer,
        stray,
        status=world.agencies[EDU].status(),
        created=datetime.now(UTC) - timedelta(seconds=5),
    )
    _, bundles = world.anchor(EDU, [credential])
    assert check(_verdict(world, bundles[0]), "issuer").code == "KEY_NOT_REGISTERED"


def test_anchored_by_another_agency(world):
    """v1's ANCHORED_BY_OTHER_AGENCY: in v2 the root is looked up in the namespace of the agency the
    credential names, so CIVIL's anchor of EDU's credential does not make it anchored."""
    batch, bundles = world.anchor(CIVIL, [world.sign(EDU, degree(f"s{i}")) for i in range(3)])
    report = _verdict(world, bundles[0])
    assert (check(report, "anchor").code, report.verdict) == ("ROOT_NOT_ANCHORED", Verdict.INVALID)
    assert EDU in check(report, "anchor").message
    assert check(report, "issuer").status is Status.SKIPPED
    assert check(report, "status").status is Status.SKIPPED
    # CIVIL's anchor did not squat the root: EDU anchors it in its own namespace, and it verifies
    edu = world.agencies[EDU]
    edu.ledger.anchor(batch.root, len(batch))
    assert _verdict(world, bundles[0]).verdict is Verdict.VALID
    # CIVIL revoking the digests (and the whole root) through its own anchor changes nothing for EDU's credentials
    civil = world.agencies[CIVIL]
    civil.ledger.revoke(batch.digests[0], batch.root, batch.tree.proof(0), Reason.ISSUED_IN_ERROR)
    civil.ledger.suspend(batch.digests[1], batch.root, batch.tree.proof(1), Reason.ADMINISTRATIVE)
    civil.ledger.revoke_root(batch.root, Reason.ISSUED_IN_ERROR)
    assert edu.ledger.status_of(agency_id(CIVIL), batch.digests[0]).state == 2  # it happened, in CIVIL's namespace
    reader = world.reader()
    for bundle in bundles:
        report = _verdict(world, bundle, reader)
        assert report.verdict is Verdict.VALID, report.to_json()
        assert check(report, "status").code == "STATUS_ACTIVE"


def test_type_not_permitted(world):
    subject = {"name": "王五", "idNumber": "330106199001011234", "address": "杭州市西湖区"}
    _, bundles = world.anchor(EDU, [world.sign(EDU, subject, "ResidenceCertificate")])
    report = _verdict(world, bundles[0])
    assert (check(report, "issuer").code, report.verdict) == ("TYPE_NOT_PERMITTED", Verdict.INVALID)


def test_proof_created_after_anchor(world):
    future = datetime.now(UTC) + timedelta(hours=1)
    _, bundles = world.anchor(EDU, [world.sign(EDU, degree(), created=future, valid_from=future - timedelta(hours=2))])
    assert check(_verdict(world, bundles[0]), "issuer").code == "CREATED_AFTER_ANCHOR"


def test_key_revoked_before_anchor_invalidates(world):
    credential = world.sign(EDU, degree())
    edu = world.agencies[EDU]
    world.registry.revoke_key(agency_id(EDU), edu.signing_key.public_key.raw, 0)  # compromise: revoked as of now
    _, bundles = world.anchor(EDU, [credential])  # anchored after the revocation
    report = _verdict(world, bundles[0])
    assert (check(report, "issuer").code, report.verdict) == ("KEY_REVOKED", Verdict.INVALID)


def test_key_revoked_after_anchor_leaves_older_credentials_valid(world):
    _, bundles = world.anchor(EDU, [world.sign(EDU, degree())])
    anchored_at = world.agencies[EDU].ledger.anchor_of(agency_id(EDU), bundles[0].anchor.root).timestamp
    time.sleep(1.1)  # the revocation lands in a later second than the anchor
    world.registry.revoke_key(agency_id(EDU), world.agencies[EDU].signing_key.public_key.raw, 0)
    revoked_at = world.registry.key_of(agency_id(EDU), world.agencies[EDU].signing_key.public_key.raw).revoked_at
    assert revoked_at > anchored_at
    assert _verdict(world, bundles[0]).verdict is Verdict.VALID


def test_key_revoked_as_of_a_past_time_invalidates_from_then_on(world):
    """A compromise found later: revoke_key(agency, key, revoked_at) back-dates the revocation; what was
    anchored before that time stays valid, what was anchored at or after it is KEY_REVOKED."""
    edu = world.agencies[EDU]
    _, before = world.anchor(EDU, [world.sign(EDU, degree("早"))])
    time.sleep(1.1)
    _, after = world.anchor(EDU, [world.sign(EDU, degree("晚"))])
    t_before = edu.ledger.anchor_of(agency_id(EDU), before[0].anchor.root).timestamp
    t_after = edu.ledger.anchor_of(agency_id(EDU), after[0].anchor.root).timestamp
    assert t_before < t_after
    time.sleep(1.1)
    world.registry.revoke_key(agency_id(EDU), edu.signing_key.public_key.raw, t_after)  # as of the second anchor
    assert world.registry.key_of(agency_id(EDU), edu.signing_key.public_key.raw).revoked_at == t_after
    reader = world.reader()
    assert _verdict(world, before[0], reader).verdict is Verdict.VALID
    report = _verdict(world, after[0], reader)
    assert (check(report, "issuer").code, report.verdict) == ("KEY_REVOKED", Verdict.INVALID)


def test_validity_period(world):
    now = datetime.now(UTC)
    expired = world.sign(
        EDU,
        degree("过期"),
        created=now - timedelta(days=400),
        valid_from=now - timedelta(days=400),
        valid_until=now - timedelta(days=1),
    )
    future = world.sign(EDU, degree("未来"), valid_from=now + timedelta(days=30))
    _, bundles = world.anchor(EDU, [expired, future])
    assert check(_verdict(world, bundles[0]), "validity").code == "EXPIRED"
    assert check(_verdict(world, bundles[1]), "validity").code == "NOT_YET_VALID"
    # the clock is a parameter: the same bundle was valid last year
    report = verify(bundles[0].to_bytes(), world.trust(), world.reader(), now=now - timedelta(days=100))
    assert report.verdict is Verdict.VALID


def test_revoked_suspended_and_batch_revoked(world):
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"s{i}")) for i in range(4)])
    ledger = world.agencies[EDU].ledger
    ledger.revoke(batch.digests[0], batch.root, batch.tree.proof(0), Reason.SUPERSEDED)
    ledger.suspend(batch.digests[1], batch.root, batch.tree.proof(1), Reason.ADMINISTRATIVE)
    reader = world.reader()
    revoked = _verdict(world, bundles[0], reader)
    assert (check(revoked, "status").code, revoked.verdict) == ("REVOKED", Verdict.INVALID)
    assert "superseded" in check(revoked, "status").message
    assert "已被替代" in check(revoked, "status").message_zh
    assert check(_verdict(world, bundles[1], reader), "status").code == "SUSPENDED"
    assert _verdict(world, bundles[2], reader).verdict is Verdict.VALID

    ledger.revoke_root(batch.root, Reason.ISSUED_IN_ERROR)
    reader.refresh(world.trust().find(bundles[2].anchor.ledger, bundles[2].anchor.registry))
    assert check(_verdict(world, bundles[2], reader), "status").code == "BATCH_REVOKED"


def test_chain_unreachable_is_error_never_valid(world):
    from ledger.verification import CachedChainReader, RpcChainReader

    _, bundles = world.anchor(EDU, [world.sign(EDU, degree())])
    dead = CachedChainReader(RpcChainReader({world.chain_id: ["http://127.0.0.1:9"]}, timeout_s=1))
    report = verify(bundles[0].to_bytes(), world.trust(), dead)
    assert report.verdict is Verdict.ERROR
    assert (check(report, "anchor").status, check(report, "anchor").code) == (Status.ERROR, "CHAIN_UNAVAILABLE")
    assert report.verdict.exit_code == 2


def test_cache_never_refetches_anchors_and_follows_status_changes(world):
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"c{i}")) for i in range(3)])
    reader = world.reader(head_poll_s=0)  # look at the head on every read
    for b in bundles:
        assert _verdict(world, b, reader).verdict is Verdict.VALID
    warm, heads = reader.fact_reads, reader.head_reads
    for b in bundles:
        assert _verdict(world, b, reader).verdict is Verdict.VALID
    assert reader.fact_reads == warm  # no fact read twice while no block arrived
    assert reader.head_reads > heads  # but the head was looked at

    world.agencies[EDU].ledger.suspend(batch.digests[1], batch.root, batch.tree.proof(1), Reason.HOLDER_REQUEST)
    assert check(_verdict(world, bundles[1], reader), "status").code == "SUSPENDED"  # invalidated by the event
    assert _verdict(world, bundles[0], reader).verdict is Verdict.VALID
