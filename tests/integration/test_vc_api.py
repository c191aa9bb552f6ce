"""The W3C VC API over real HTTP: `certledger serve issuer` and `certledger serve verifier` on loopback
for a data directory on the embedded chain; POST /credentials/issue, /credentials/verify and
/presentations/verify, with what they must accept and refuse."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from certledger.cli import main
from certledger.cli.context import App
from ledger.governance.api_keys import create_api_key
from ledger.protocol.did_key import did_from_public_key
from ledger.protocol.keys import SigningKey
from ledger.protocol.rdfc import create_proof_rdfc
from ledger.storage.models import AgencyRecord
from tests.integration.verifier_server import free_port, serving

pytestmark = pytest.mark.integration

V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED = "https://www.w3.org/ns/credentials/undefined-terms/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
GENERIC, ONLY_DEGREES = "w3c-suite", "zj-edu-typed"


class Services:
    def __init__(self, issuer: httpx.Client, verifier: httpx.Client, keys: dict, dids: dict, home):
        self.issuer, self.verifier, self.keys, self.dids, self.home = issuer, verifier, keys, dids, home

    def issue(self, credential: dict, agency: str = GENERIC, **headers) -> httpx.Response:
        return self.issuer.post(
            "/credentials/issue",
            json={"credential": credential},
            headers={"Authorization": f"Bearer {self.keys[agency]}", **headers},
        )

    def verify(self, body: dict) -> httpx.Response:
        return self.verifier.post("/credentials/verify", json=body)


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    home = tmp_path_factory.mktemp("vcapi") / "home"
    for args in (
        ["init", "--port", "0"],
        ["chain", "up"],
        ["deploy"],
        ["agency", "register", GENERIC, "--name", "W3C suite agency", "--types", "GenericCredential,DegreeCertificate"],
        ["agency", "register", ONLY_DEGREES, "--name", "Typed only", "--types", "DegreeCertificate"],
    ):
        assert main(["--data-dir", str(home), *args]) == 0, args
    app = App(home)
    keys, dids = {}, {}
    for agency in (GENERIC, ONLY_DEGREES):
        keys[agency] = create_api_key(app.engine, agency, ["issue", "read"], "vc api test")[1]
        with app.engine.connect() as conn:
            raw = conn.execute(AgencyRecord.__table__.select().where(AgencyRecord.code == agency)).first()
        dids[agency] = did_from_public_key(bytes.fromhex(raw.signing_public_key[2:]))
    keys["read-only"] = create_api_key(app.engine, GENERIC, ["read"], "no issue scope")[1]
    issuer_port = free_port()  # the status lists' base URL names it
    env = {
        "CERTLEDGER_STATUS_BASE_URL": f"http://127.0.0.1:{issuer_port}/status",
        "CERTLEDGER_BATCH_MAX_AGE_S": "1",
        "CERTLEDGER_RUN_ANCHORER": "1",
    }
    try:
        with serving(home, "issuer", port=issuer_port, env=env) as issuer, serving(home, "verifier") as verifier:
            with issuer.client() as issuer_client, verifier.client() as verifier_client:
                yield Services(issuer_client, verifier_client, keys, dids, home)
    finally:
        main(["--data-dir", str(home), "chain", "down"])


def example(**extra) -> dict:
    return {
        "@context": [V2, EXAMPLES],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "credentialSubject": {"id": "did:example:alice", "name": "Alice"},
        **extra,
    }


def wait_anchored(s: Services, record_id: str) -> bytes:
    auth = {"Authorization": f"Bearer {s.keys[GENERIC]}"}
    deadline = time.monotonic() + 60
    while s.issuer.get(f"/credentials/{record_id}", headers=auth).json()["state"] != "anchored":
        assert time.monotonic() < deadline, "not anchored within a minute"
        time.sleep(0.5)
    return s.issuer.get(f"/credentials/{record_id}/bundle", headers=auth).content


def test_a_generic_credential_is_issued_anchored_and_verified(services):
    s = services
    issued = s.issue(example(issuer=s.dids[GENERIC], id="https://example.org/credentials/1"))
    assert issued.status_code == 201, issued.text
    vc = issued.json()["verifiableCredential"]
    assert vc["@context"] == [V2, UNDEFINED, EXAMPLES]
    assert vc["type"] == ["VerifiableCredential", "GenericCredential", "ExampleCredential"]
    assert vc["id"] == "https://example.org/credentials/1"
    assert vc["issuer"] == {
        "id": s.dids[GENERIC],
        "name": "W3C suite agency",
        "agency": f"urn:certledger:agency:{GENERIC}",
    }
    assert [e["statusPurpose"] for e in vc["credentialStatus"]] == ["revocation", "suspension"]
    assert vc["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    record_id = issued.headers["Location"].removeprefix("/credentials/")
    assert record_id.startswith("urn:uuid:")

    proof_only = s.verify({"verifiableCredential": vc, "options": {"checks": ["proof"]}})
    assert proof_only.status_code == 200 and proof_only.json()["checks"] == ["proof"]
    assert [w["code"] for w in proof_only.json()["warnings"]] == ["ANCHOR_NOT_CHECKED"]

    bundle = wait_anchored(s, record_id)
    deadline = time.monotonic() + 30  # the status lists are published every 5 s
    while True:
        bare = s.verify({"verifiableCredential": vc})
        if bare.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert bare.status_code == 200, bare.text
    assert bare.json()["checks"] == ["proof", "dataModel", "validity", "status"]

    six = s.verify({"verifiableCredential": httpx.Response(200, content=bundle).json()})
    assert six.status_code == 200, six.text
    assert six.json()["checks"] == ["format", "proof", "anchor", "issuer", "status", "validity"]
    assert six.json()["report"]["credential"]["type"] == "GenericCredential"
    anchor = httpx.Response(200, content=bundle).json()["anchor"]
    with_anchor = s.verify({"verifiableCredential": vc, "options": {"anchor": anchor, "checks": ["anchor", "issuer"]}})
    assert with_anchor.status_code == 200 and with_anchor.json()["checks"] == ["anchor", "issuer"]

    tampered = {**vc, "credentialSubject": {"id": "did:example:alice", "name": "Mallory"}}
    refused = s.verify({"verifiableCredential": tampered, "options": {"checks": ["proof"]}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {
        "check": "proof",
        "code": "INVALID_SIGNATURE",
        "member": "proof",
        "message": refused.json()["errors"][0]["message"],
    }


def test_a_registered_type_is_issued_as_that_type_and_reserved_elsewhere(services):
    s = services
    subject = {
        "name": "张三",
        "degree": "学士",
        "major": "数学",
        "institution": "浙江大学",
        "graduationDate": "2024-06-30",
    }
    typed = s.issue(
        {
            "@context": [V2, UNDEFINED],
            "type": ["VerifiableCredential", "DegreeCertificate"],
            "credentialSubject": subject,
        },
        agency=ONLY_DEGREES,
    )
    assert typed.status_code == 201, typed.text
    vc = typed.json()["verifiableCredential"]
    assert vc["type"] == ["VerifiableCredential", "DegreeCertificate"] and vc["@context"] == [V2, UNDEFINED]
    bad_subject = s.issue(
        {
            "@context": [V2, UNDEFINED],
            "type": ["VerifiableCredential", "DegreeCertificate"],
            "credentialSubject": {"name": "x"},
        },
        agency=ONLY_DEGREES,
    )
    assert bad_subject.status_code == 422
    mixed = s.issue(
        {
            "@context": [V2, EXAMPLES],
            "type": ["VerifiableCredential", "DegreeCertificate", "Other"],
            "credentialSubject": {"id": "did:example:a"},
        }
    )
    assert mixed.status_code == 422 and mixed.json()["code"] == "TYPE_RESERVED"
    assert mixed.json()["errors"][0]["member"] == "type[1]"
    not_permitted = s.issue(example(), agency=ONLY_DEGREES)
    assert not_permitted.status_code == 403 and not_permitted.json()["code"] == "TYPE_NOT_PERMITTED"


@pytest.mark.parametrize(
    "credential, code, member",
    [
        (
            example(credentialSubject={"id": "did:example:a", "name": "A"}, proof={"type": "DataIntegrityProof"}),
            "PROOF_NOT_ALLOWED",
            "proof",
        ),
        (
            {"@context": [V2], "type": ["VerifiableCredential"], "credentialSubject": {"id": "did:example:a", "x": 1}},
            "TERM_UNDEFINED",
            "credentialSubject.x",
        ),
        (
            {
                "@context": [V2, {"VerifiableCredential": "https://example.org/#Bad"}],
                "type": ["VerifiableCredential"],
                "credentialSubject": {"id": "did:example:a"},
            },
            "PROTECTED_TERM_REDEFINED",
            "@context",
        ),
        (
            example(
                relatedResource=[
                    {"id": V2, "digestSRI": "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg"}
                ]
            ),
            "RELATED_RESOURCE_DIGEST_MISMATCH",
            "relatedResource[0].digestSRI",
        ),
        (example(issuer="did:key:z6MkpJySvETLnxhQG9DzEdmKJtysBDjuuTeDfUj1uNNCUqcj"), "ISSUER_NOT_AGENCY", "issuer"),
        (
            example(validFrom="2025-01-02T00:00:00Z", validUntil="2025-01-01T00:00:00Z"),
            "VALIDITY_INVERTED",
            "validUntil",
        ),
        (example(credentialStatus={"type": "BitstringStatusListEntry"}), "STATUS_RESERVED", "credentialStatus"),
        (
            {"type": ["VerifiableCredential"], "credentialSubject": {"id": "did:example:a"}},
            "CONTEXT_INVALID",
            "@context",
        ),
    ],
)
def test_refusals_name_the_member(services, credential, code, member):
    refused = services.issue(credential)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["errors"][0]["member"]) == (code, member)


def test_authentication_and_malformed_requests(services):
    s = services
    assert s.issuer.post("/credentials/issue", json={"credential": example()}).status_code == 401
    no_scope = s.issue(example(), agency="read-only")
    assert no_scope.status_code == 403
    auth = {"Authorization": f"Bearer {s.keys[GENERIC]}"}
    for body in ([], {"credential": example(), "extra": 1}, {"credential": example(), "options": {"created": "x"}}):
        assert s.issuer.post("/credentials/issue", json=body, headers=auth).status_code == 400
    duplicate = b'{"credential": {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": 1, "type": 2}}'
    assert (
        s.issuer.post(
            "/credentials/issue", content=duplicate, headers={**auth, "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert s.verify({"verifiableCredential": "x"}).status_code == 400
    assert s.verify({"verifiableCredential": {}, "options": {"checks": ["telepathy"]}}).status_code == 400
    assert s.verifier.get("/credentials/verify").status_code == 405


def test_an_idempotent_retry_returns_the_same_credential(services):
    s = services
    first = s.issue(example(), **{"Idempotency-Key": "vc-api-retry-1"})
    again = s.issue(example(), **{"Idempotency-Key": "vc-api-retry-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert s.issue(example(name="other"), **{"Idempotency-Key": "vc-api-retry-1"}).status_code == 409


def _presentation(
    holder: SigningKey, challenge: str, domain: str, credentials=(), holder_id: str | None = None
) -> dict:
    vp = {"@context": [V2], "type": ["VerifiablePresentation"], "holder": holder_id or holder.public_key.did}
    if credentials:
        vp["verifiableCredential"] = list(credentials)
    proof = create_proof_rdfc(
        vp, holder, created=datetime.now(UTC), proof_purpose="authentication", challenge=challenge, domain=domain
    )
    return {**vp, "proof": proof}


def test_presentations_signed_eddsa_rdfc_2022(services):
    s = services
    holder = SigningKey.generate()
    credential = {
        "@context": [V2, EXAMPLES],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": holder.public_key.did,
        "credentialSubject": {"id": "did:example:a", "name": "A"},
    }
    credential = {**credential, "proof": create_proof_rdfc(credential, holder, created="2025-01-01T00:00:00Z")}
    vp = _presentation(holder, "u0123456789abcdefghijk", "example.org", [credential])
    options = {"challenge": "u0123456789abcdefghijk", "domain": "example.org"}
    ok = s.verifier.post("/presentations/verify", json={"verifiablePresentation": vp, "options": options})
    assert ok.status_code == 200, ok.text
    assert [r["verified"] for r in ok.json()["credentialResults"]] == [True]

    def refused(document, opts=options) -> set[str]:
        answer = s.verifier.post("/presentations/verify", json={"verifiablePresentation": document, "options": opts})
        assert answer.status_code == 422, answer.text
        return {e["code"] for e in answer.json()["errors"]}

    assert "CHALLENGE_MISMATCH" in refused(vp, {**options, "challenge": "another"})
    assert "DOMAIN_MISMATCH" in refused(vp, {**options, "domain": "evil.example"})
    assert "CHALLENGE_REQUIRED" in refused(vp, {"domain": "example.org"})
    assert "HOLDER_MISMATCH" in refused(
        _presentation(SigningKey.generate(), options["challenge"], "example.org", holder_id=holder.public_key.did)
    )
    assert refused({**vp, "@context": [V2, "https://example.com"]})
    assert refused({**vp, "proof": {**vp["proof"], "proofValue": "z5nmMBw2u9TGKd9NxxHJtyZKgjN2Eh"}})
    forged = {**credential, "credentialSubject": {"id": "did:example:a", "name": "B"}}
    assert "INVALID_SIGNATURE" in refused(_presentation(holder, options["challenge"], "example.org", [forged]))
    unsigned = {"@context": [V2], "type": ["VerifiablePresentation"]}
    assert "PROOF_MISSING" in refused(unsigned)


def test_a_urn_uuid_id_names_the_record_and_is_issued_once(services):
    s = services
    cid = "urn:uuid:5b0f4a52-2b1c-4c8e-9d2a-0c6f7e1f3a11"
    first = s.issue(example(id=cid))
    assert first.status_code == 201 and first.headers["Location"] == f"/credentials/{cid}"
    assert first.json()["verifiableCredential"]["id"] == cid
    again = s.issue(example(id=cid))
    assert again.status_code == 409 and again.json()["code"] == "CREDENTIAL_ID_IN_USE"
