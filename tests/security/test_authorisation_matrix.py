"""Who may call what: every endpoint of both services x every kind of caller -> the status.

The issuer's rule (issuer_api/deps.py, ledger/governance/api_keys.py), as the API applies it today:

* **401** ``UNAUTHENTICATED`` — no key, a malformed or unknown key, a revoked key: no hint which.
* **403** ``FORBIDDEN`` — a valid key that lacks the endpoint's scope (``admin`` implies every agency
  scope; supersede needs ``issue`` *and* ``revoke``), or of the wrong kind: a governance key is not
  an agency's (agency endpoints), an agency key is not governance (``POST /types``, ``/agencies``,
  an agency's operators, activation and its keys under ``/agencies/{code}/api-keys``). ``GET /agencies/{code}`` and rotating its signing key take
  either a governance key or that agency's own key (``read``, ``admin``); another agency's key gets 403.
* **404** ``NOT_FOUND`` — another agency's credential or API key: the same answer as an id that does
  not exist, so an agency cannot even learn that another's credential exists.
* Collections (list, search, audit, API keys, issuing) act on the caller's own agency: another
  agency's key gets *its own* (empty of ours) answer, never ours.
* ``/healthz`` and the API's documents are public; ``/metrics`` needs a governance key (its counts
  are every agency's).

The matrix is keyed by the app's own route table: a new endpoint without an entry fails
:func:`test_every_issuer_route_is_in_the_matrix`. The verifier is public (``/metrics`` too: verdicts,
latency and reachability, no agency's counts): every endpoint answers
without credentials (and ignores any sent), and methods it does not take are refused (405).
The W3C VC API's verifier endpoints (``POST /credentials/verify``, ``/presentations/verify``) are
public like ``POST /verify``. Runs in process (TestClient, real anvil, real SQLite); one row runs
through a real uvicorn process, and the verifier's rows run through a real uvicorn (in a thread).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from certledger.cli import main
from issuer_api.app import create_app
from issuer_api.main import build_service
from ledger.chain.embedded import rpc_urls_for
from ledger.config import load_settings
from ledger.governance.api_keys import SCOPES, create_api_key, revoke_api_key
from ledger.issuance import anchor_once
from ledger.settings import IssuerSettings
from tests.integration.conftest import degree
from tests.integration.verifier_server import presentation_request, serving, settings_for, share, start_verifier

EDU, CIVIL = "zj-hz-education", "zj-hz-civil"
SUBJECT = {
    "name": "王伟",
    "idNumber": "330106199001011234",
    "degree": "工学学士",
    "major": "数学",
    "institution": "浙江大学",
    "graduationDate": "2024-06-30",
}
CASES: list[tuple[str, str, str, int]] = []  # (endpoint, caller, expected, got): counted and printed at the end


# ------------------------------------------------------------------------------------- the world


@dataclass
class Api:
    client: TestClient
    service: object
    home: object
    governance: str
    keys: dict = field(default_factory=dict)  # caller kind -> key (fixed ones)
    pool: list = field(default_factory=list)  # anchored EDU credentials not yet touched

    def key(self, agency: str | None, scopes: list[str]) -> str:
        return create_api_key(self.service.ctx.engine, agency, scopes, "matrix")[1]

    def fresh_credential(self) -> str:
        if not self.pool:
            auth = bearer(self.keys["edu-admin"])
            for i in range(8):
                reply = self.client.post(
                    "/credentials",
                    json={"type": "DegreeCertificate", "subject": {**SUBJECT, "name": f"矩阵{i}"}},
                    headers=auth,
                )
                assert reply.status_code == 201, reply.text
                self.pool.append(reply.json()["id"])
            anchor_once(self.service.ctx, flush=True)
        return self.pool.pop()


def bearer(key: str | None) -> dict:
    return {"Authorization": f"Bearer {key}"} if key else {}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    home = tmp_path_factory.mktemp("matrix") / "home"
    for args in (["init", "--port", "0"], ["chain", "up"], ["deploy"]):
        assert main(["--data-dir", str(home), *args]) == 0
    try:
        config = load_settings(home)
        service = build_service(
            config, rpc_urls_for(config), IssuerSettings(verifier_url="http://127.0.0.1:8600", run_anchorer=False)
        )
        _, governance = create_api_key(service.ctx.engine, None, ["governance"], "matrix governance")
        with TestClient(create_app(service)) as client:
            api = Api(client, service, home, governance)
            for code in (EDU, CIVIL):
                reply = client.post(
                    "/agencies",
                    json={
                        "code": code,
                        "name": f"{code} bureau",
                        "types": ["DegreeCertificate", "ResidenceCertificate"],
                    },
                    headers=bearer(governance),
                )
                assert reply.status_code == 201, reply.text
                api.keys[f"{code}-first-admin"] = reply.json()["apiKey"]
            api.keys["edu-admin"] = api.key(EDU, ["admin"])
            api.keys["other-agency"] = api.key(CIVIL, ["admin"])
            api.keys["read-only"] = api.key(EDU, ["read"])
            revoked = create_api_key(service.ctx.engine, EDU, ["admin"], "to revoke")
            revoke_api_key(service.ctx.engine, revoked[0].id, EDU, "matrix")
            api.keys["revoked"] = revoked[1]
            revoked_gov = create_api_key(service.ctx.engine, None, ["governance"], "to revoke")
            revoke_api_key(service.ctx.engine, revoked_gov[0].id, None, "matrix")
            api.keys["revoked-governance"] = revoked_gov[1]
            yield api
    finally:
        main(["--data-dir", str(home), "chain", "down"])


# --------------------------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Endpoint:
    """``scopes``: what the right key holds (None: public; ("governance",): governance).
    ``request(api, cid)`` -> (path, kwargs) with ``cid`` a credential of EDU (or None).
    ``ok``: the right key's status. ``foreign``: what another agency's admin key gets."""

    scopes: tuple[str, ...] | None
    request: Callable
    ok: int
    foreign: int = 404
    needs_credential: bool = False
    check_foreign: Callable | None = None  # (api, reply, cid) -> None: asserts nothing of EDU's leaked
    fresh_for_success: bool = False  # the right key's call changes the credential
    governance_too: bool = False  # an agency's own key with ``scopes``, or a governance key


def _json(body):
    return {"json": body}


def _ids(reply) -> set:
    return {item["id"] for item in reply.json()["items"]}


def _no_edu_credentials(api, reply, cid):
    assert cid not in _ids(reply) and all(c["issuer"] != EDU for c in reply.json()["items"] if "issuer" in c)


def _no_edu_audit(api, reply, cid):
    assert cid not in json.dumps(reply.json(), ensure_ascii=False)


def _no_edu_keys(api, reply, cid):
    edu_ids = {k["id"] for k in api.client.get("/api-keys", headers=bearer(api.keys["edu-admin"])).json()}
    assert edu_ids and not edu_ids & {k["id"] for k in reply.json()}


def _issued_for_other(api, reply, cid):
    other = reply.json()["id"]
    assert api.client.get(f"/credentials/{other}", headers=bearer(api.keys["edu-admin"])).status_code == 404


def _issued_w3c_for_other(api, reply, cid):
    """POST /credentials/issue with another agency's key: signed as that agency, its record not ours."""
    assert reply.json()["verifiableCredential"]["issuer"]["agency"] == f"urn:certledger:agency:{CIVIL}"
    other = reply.headers["location"].removeprefix("/credentials/")
    assert api.client.get(f"/credentials/{other}", headers=bearer(api.keys["edu-admin"])).status_code == 404
    assert api.client.get(f"/credentials/{other}", headers=bearer(api.keys["other-agency"])).status_code == 200


# The W3C VC API's request: a typed credential (the world's degree subject), issued through its JSON Schema.
# The subject's terms are defined by the undefined-terms context (JSON-LD safe mode refuses them otherwise).
W3C_DEGREE = {
    "credential": {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/undefined-terms/v2"],
        "type": ["VerifiableCredential", "DegreeCertificate"],
        "credentialSubject": SUBJECT,
    }
}


_type_names = (f"MatrixType{i}" for i in itertools.count())
_agency_codes = (f"matrix-agency-{i}" for i in itertools.count())
_CSV = "name,idNumber,degree,major,institution,graduationDate\n张三,330106199001011234,学士,数学,浙江大学,2024-06-30\n"


def _drop_key_request(api, cid):
    key_id = create_api_key(api.service.ctx.engine, EDU, ["read"], "to drop")[0].id
    return "DELETE", f"/api-keys/{key_id}", {}


OPS = "matrix-ops"  # the agency whose operators and activation the governance rows change


def _ops_agency(api) -> str:
    if OPS not in api.keys:
        reply = api.client.post(
            "/agencies",
            json={"code": OPS, "name": "ops", "types": ["DegreeCertificate"]},
            headers=bearer(api.governance),
        )
        assert reply.status_code == 201, reply.text
        api.keys[OPS] = reply.json()["apiKey"]
    return OPS


def _new_address() -> str:
    from eth_account import Account

    return Account.create().address


def _remove_operator_request(api, cid):
    """An operator of OPS added just now, to be removed."""
    from ledger.governance.agency_admin import add_operator

    address = _new_address()
    add_operator(api.service.governance_registry(), _ops_agency(api), address)
    return "DELETE", f"/agencies/{OPS}/operators/{address}", {}


def _drop_agency_key_request(api, cid):
    key_id = create_api_key(api.service.ctx.engine, _ops_agency(api), ["read"], "to drop")[0].id
    return "DELETE", f"/agencies/{OPS}/api-keys/{key_id}", {}


def _status_list_request(api, cid):
    """A published status list of EDU (reserved and published here once: issuance does not yet)."""
    from ledger.issuance.status_allocation import reserve
    from ledger.issuance.status_publisher import get_list_credential, publish

    ctx = api.service.ctx
    if get_list_credential(ctx.engine, EDU, 1, "revocation") is None:
        reserve(ctx.engine, EDU, ctx.chain.signing_key(EDU).public_key.raw, 1)
        publish(ctx)
    return "GET", f"/status/{EDU}/1/revocation", {}


_SPARE_KEY: dict[str, tuple[str, str]] = {}


def _revoked_edu_key(api) -> tuple[str, str]:
    """A second signing key of EDU, registered and revoked (as of now) on chain once: the right
    key's revoke (the same time again: a retry) and reissue (nothing signed with it) both succeed."""
    if not _SPARE_KEY:
        from certledger.cli.context import App
        from ledger.issuance.key_compromise import utc_text
        from ledger.protocol.identifiers import agency_id
        from ledger.protocol.keys import SigningKey

        app = App(api.home)
        registry = app.registry(app.governance)
        raw = SigningKey.generate().public_key.raw
        registry.add_key(agency_id(EDU), raw, 0)
        registry.revoke_key(agency_id(EDU), raw, 0)
        _SPARE_KEY["key"] = ("0x" + raw.hex(), utc_text(registry.key_of(agency_id(EDU), raw).revoked_at))
    return _SPARE_KEY["key"]


def _key_revoke_request(api, cid):
    key, at = _revoked_edu_key(api)
    return "POST", f"/agency/keys/{key}/revoke", _json({"compromisedAt": at, "reason": "matrix"})


def _key_reissue_request(api, cid):
    return "POST", f"/agency/keys/{_revoked_edu_key(api)[0]}/reissue", {}


ISSUER: dict[tuple[str, str], Endpoint] = {
    ("GET", "/healthz"): Endpoint(None, lambda a, c: ("GET", "/healthz", {}), 200),
    # every agency's counts: governance only (docs/operations.md, Monitoring)
    ("GET", "/metrics"): Endpoint(("governance",), lambda a, c: ("GET", "/metrics", {}), 200),
    ("GET", "/types"): Endpoint(("read",), lambda a, c: ("GET", "/types", {}), 200, foreign=200),
    ("POST", "/types"): Endpoint(
        ("governance",),
        lambda a, c: ("POST", "/types", _json({"name": next(_type_names), "schema": {"type": "object"}})),
        201,
    ),
    ("POST", "/agencies"): Endpoint(
        ("governance",),
        lambda a, c: (
            "POST",
            "/agencies",
            _json({"code": next(_agency_codes), "name": "matrix", "types": ["DegreeCertificate"]}),
        ),
        201,
    ),
    ("GET", "/agencies/{code}"): Endpoint(
        ("read",), lambda a, c: ("GET", f"/agencies/{EDU}", {}), 200, foreign=403, governance_too=True
    ),
    ("POST", "/agencies/{code}/signing-keys/rotate"): Endpoint(
        ("admin",),
        lambda a, c: ("POST", f"/agencies/{EDU}/signing-keys/rotate", {}),
        200,
        foreign=403,
        governance_too=True,
    ),
    ("POST", "/agencies/{code}/operators"): Endpoint(
        ("governance",),
        lambda a, c: ("POST", f"/agencies/{_ops_agency(a)}/operators", _json({"address": _new_address()})),
        200,
    ),
    ("DELETE", "/agencies/{code}/operators/{address}"): Endpoint(("governance",), _remove_operator_request, 200),
    ("POST", "/agencies/{code}/deactivate"): Endpoint(
        ("governance",), lambda a, c: ("POST", f"/agencies/{_ops_agency(a)}/deactivate", {}), 200
    ),
    ("POST", "/agencies/{code}/reactivate"): Endpoint(
        ("governance",), lambda a, c: ("POST", f"/agencies/{_ops_agency(a)}/reactivate", {}), 200
    ),
    ("POST", "/agencies/{code}/api-keys"): Endpoint(
        ("governance",),
        lambda a, c: ("POST", f"/agencies/{_ops_agency(a)}/api-keys", _json({"scopes": ["read"]})),
        201,
    ),
    ("GET", "/agencies/{code}/api-keys"): Endpoint(
        ("governance",), lambda a, c: ("GET", f"/agencies/{_ops_agency(a)}/api-keys", {}), 200
    ),
    ("DELETE", "/agencies/{code}/api-keys/{key_id}"): Endpoint(("governance",), _drop_agency_key_request, 200),
    ("POST", "/api-keys"): Endpoint(
        ("admin",), lambda a, c: ("POST", "/api-keys", _json({"scopes": ["read"]})), 201, foreign=201
    ),
    ("GET", "/api-keys"): Endpoint(
        ("admin",), lambda a, c: ("GET", "/api-keys", {}), 200, foreign=200, check_foreign=_no_edu_keys
    ),
    ("DELETE", "/api-keys/{key_id}"): Endpoint(("admin",), _drop_key_request, 200),
    # another agency's admin key: EDU's key is not one of its keys (404)
    ("POST", "/agency/keys/{public_key}/revoke"): Endpoint(("admin",), _key_revoke_request, 200),
    ("POST", "/agency/keys/{public_key}/reissue"): Endpoint(("admin",), _key_reissue_request, 200),
    ("GET", "/audit"): Endpoint(
        ("read",),
        lambda a, c: ("GET", "/audit", {}),
        200,
        foreign=200,
        needs_credential=True,
        check_foreign=_no_edu_audit,
    ),
    ("POST", "/credentials"): Endpoint(
        ("issue",),
        lambda a, c: ("POST", "/credentials", _json({"type": "DegreeCertificate", "subject": SUBJECT})),
        201,
        foreign=201,
        check_foreign=_issued_for_other,
    ),
    ("POST", "/credentials/issue"): Endpoint(
        ("issue",),
        lambda a, c: ("POST", "/credentials/issue", _json(W3C_DEGREE)),
        201,
        foreign=201,
        check_foreign=_issued_w3c_for_other,
    ),
    ("POST", "/credentials/bulk"): Endpoint(
        ("issue",),
        lambda a, c: (
            "POST",
            "/credentials/bulk?type=DegreeCertificate",
            {"content": _CSV.encode(), "headers": {"content-type": "text/csv"}},
        ),
        200,
        foreign=200,
    ),
    ("GET", "/credentials"): Endpoint(
        ("read",),
        lambda a, c: ("GET", "/credentials", {}),
        200,
        foreign=200,
        needs_credential=True,
        check_foreign=_no_edu_credentials,
    ),
    ("POST", "/credentials/status"): Endpoint(
        ("revoke",),
        lambda a, c: ("POST", "/credentials/status", _json({"action": "suspend", "ids": [c], "reason": 0})),
        200,
        needs_credential=True,
        fresh_for_success=True,
    ),
    ("GET", "/credentials/{credential_id}"): Endpoint(
        ("read",), lambda a, c: ("GET", f"/credentials/{c}", {}), 200, needs_credential=True
    ),
    ("GET", "/credentials/{credential_id}/bundle"): Endpoint(
        ("read",), lambda a, c: ("GET", f"/credentials/{c}/bundle", {}), 200, needs_credential=True
    ),
    ("POST", "/credentials/{credential_id}/supersede"): Endpoint(
        ("issue", "revoke"),
        lambda a, c: ("POST", f"/credentials/{c}/supersede", _json({"subject": {**SUBJECT, "name": "更正"}})),
        201,
        needs_credential=True,
        fresh_for_success=True,
    ),
    ("POST", "/credentials/{credential_id}/{action}"): Endpoint(
        ("revoke",),
        lambda a, c: ("POST", f"/credentials/{c}/revoke", _json({"reason": 2})),
        200,
        needs_credential=True,
        fresh_for_success=True,
    ),
    ("GET", "/credentials/{credential_id}/share"): Endpoint(
        ("read",), lambda a, c: ("GET", f"/credentials/{c}/share", {}), 200, needs_credential=True
    ),
    ("GET", "/credentials/{credential_id}/qr.png"): Endpoint(
        ("read",), lambda a, c: ("GET", f"/credentials/{c}/qr.png", {}), 200, needs_credential=True
    ),
    ("GET", "/credentials/{credential_id}/qr.svg"): Endpoint(
        ("read",), lambda a, c: ("GET", f"/credentials/{c}/qr.svg", {}), 200, needs_credential=True
    ),
    ("GET", "/status/{agency}/{list_id}/{purpose}"): Endpoint(None, _status_list_request, 200),  # public, read-only
}
DOCUMENTS = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")}

CALLERS = (
    "no key",
    "malformed key",
    "unknown key",
    "revoked key",
    "other agency",
    "read-only key",
    "key lacking the scope",
    "governance key",
    "revoked governance key",
    "right key",
)


def expected(endpoint: Endpoint, caller: str) -> int:
    if endpoint.scopes is None:
        return endpoint.ok
    governance = endpoint.scopes == ("governance",)
    if caller in ("no key", "malformed key", "unknown key", "revoked key", "revoked governance key"):
        return 401
    if caller == "right key":
        return endpoint.ok
    if governance:
        return endpoint.ok if caller == "governance key" else 403  # any agency key, whatever its scopes
    if caller == "governance key":
        return endpoint.ok if endpoint.governance_too else 403  # governance is not an agency
    if caller == "other agency":
        return endpoint.foreign
    if caller == "read-only key":
        return endpoint.ok if endpoint.scopes == ("read",) else 403
    return 403  # lacking the scope


def caller_key(api: Api, endpoint: Endpoint, caller: str) -> str | None:
    fixed = {
        "no key": None,
        "malformed key": "not-a-key",
        "unknown key": "clk_000000000000_" + "x" * 43,
        "revoked key": api.keys["revoked"],
        "other agency": api.keys["other-agency"],
        "read-only key": api.keys["read-only"],
        "governance key": api.governance,
        "revoked governance key": api.keys["revoked-governance"],
    }
    if caller in fixed:
        return fixed[caller]
    scopes = endpoint.scopes or ("read",)
    if scopes == ("governance",):
        return api.governance if caller == "right key" else api.keys["edu-admin"]
    if caller == "right key":
        return api.key(EDU, list(scopes))
    lacking = [s for s in SCOPES if s not in scopes and s != "admin"]
    if len(scopes) > 1:
        lacking = [scopes[0]]  # supersede: one of the two scopes it needs is not enough
    return api.key(EDU, lacking)


def call(client, method: str, path: str, key: str | None, kwargs: dict):
    kwargs = dict(kwargs)
    headers = {**kwargs.pop("headers", {}), **bearer(key)}
    return client.request(method, path, headers=headers, **kwargs)


def route_table(routes, prefix: str = ""):
    """(method, path) of every route, API or not, through included routers (hidden ones too)."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI >= 0.120 wraps an included router
            yield from route_table(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            for method in getattr(route, "methods", None) or ():
                if method != "HEAD":
                    yield method, prefix + route.path


def test_every_issuer_route_is_in_the_matrix(api):
    routes = set(route_table(api.client.app.routes))
    documented = {(m.upper(), p) for p, ops in api.client.get("/openapi.json").json()["paths"].items() for m in ops}
    assert documented and documented <= routes
    missing = routes - set(ISSUER) - DOCUMENTS
    assert not missing, f"endpoints without an authorisation matrix entry: {sorted(missing)}"
    assert not set(ISSUER) - routes, "matrix entries for endpoints that no longer exist"
    assert set(ISSUER) > documented - {("GET", "/healthz")}


@pytest.mark.parametrize("route", list(ISSUER), ids=[f"{m} {p}" for m, p in ISSUER])
def test_issuer_matrix(api, route):
    endpoint = ISSUER[route]
    edu_admin = bearer(api.keys["edu-admin"])
    shared = api.fresh_credential() if endpoint.needs_credential else None
    before = api.client.get(f"/credentials/{shared}", headers=edu_admin).json() if shared else None
    mismatches = []
    for caller in CALLERS:
        want = expected(endpoint, caller)
        success = 200 <= want < 300
        cid = (
            api.fresh_credential() if (endpoint.needs_credential and endpoint.fresh_for_success and success) else shared
        )
        method, path, kwargs = endpoint.request(api, cid)
        reply = call(api.client, method, path, caller_key(api, endpoint, caller), kwargs)
        CASES.append((f"{route[0]} {route[1]}", caller, str(want), reply.status_code))
        if reply.status_code != want:
            mismatches.append(f"{caller}: expected {want}, got {reply.status_code} {reply.text[:200]}")
            continue
        if want >= 400:
            assert reply.headers["content-type"].startswith("application/problem+json"), (caller, reply.headers)
            code = reply.json()["code"]
            assert code == {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND"}.get(want, code), (caller, code)
            if want == 404 and cid:  # exactly what a credential that does not exist gets
                _, ghost_path, ghost_kw = endpoint.request(api, "urn:uuid:00000000-0000-4000-8000-000000000000")
                ghost = call(api.client, method, ghost_path, caller_key(api, endpoint, caller), ghost_kw)
                assert (ghost.status_code, ghost.json()["code"]) == (404, code)
        if caller == "other agency" and success and endpoint.check_foreign:
            endpoint.check_foreign(api, reply, shared)
    assert not mismatches, "\n".join(mismatches)
    if shared:  # every refused caller left our credential exactly as it was
        assert api.client.get(f"/credentials/{shared}", headers=edu_admin).json() == before


def test_status_lists_are_read_only_for_everyone(api):
    """The public status lists take no writes, whoever asks: 405, and the list stays as it was."""
    _, path, _ = _status_list_request(api, None)
    before = api.client.get(path).content
    mismatches = []
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for caller in ("no key", "other agency", "read-only key", "governance key"):
            endpoint = ISSUER[("GET", "/status/{agency}/{list_id}/{purpose}")]
            reply = call(api.client, method, path, caller_key(api, endpoint, caller), {"json": {}})
            CASES.append((f"{method} /status/{{agency}}/{{list_id}}/{{purpose}}", caller, "405", reply.status_code))
            if reply.status_code != 405 or reply.json()["code"] != "METHOD_NOT_ALLOWED":
                mismatches.append(f"{method} with {caller}: {reply.status_code} {reply.text[:100]}")
    assert not mismatches, "\n".join(mismatches)
    assert api.client.get(path).content == before


# --------------------------------------------------------------------------------- the verifier


@pytest.fixture(scope="module")
def verifier(shared_world, tmp_path_factory):
    world = shared_world
    tmp = tmp_path_factory.mktemp("matrix-verifier")
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree("矩阵验证"))])
    server = start_verifier(settings_for(world, tmp))
    _, cid, _ = share(
        __import__("ledger.content", fromlist=["LocalContentStore"]).LocalContentStore(server.settings.content_dir),
        bundles[0],
        server.url,
    )
    # the transparency section's path parameters: an agency, its anchored batch, a digest of it
    records = {"{code}": EDU, "{root}": "0x" + batch.root.hex(), "{digest}": "0x" + batch.digests[0].hex()}
    try:
        yield server, bundles[0].to_bytes(), cid, records
    finally:
        server.stop()


TRANSPARENCY_PATHS = (
    "/transparency",
    "/transparency/agencies",
    "/transparency/agencies/{code}",
    "/transparency/lookup",
    "/transparency/api/agencies",
    "/transparency/api/agencies/{code}",
    "/transparency/api/agencies/{code}/anchored",
    "/transparency/api/agencies/{code}/status-changes",
    "/transparency/api/agencies/{code}/batches",
    "/transparency/api/agencies/{code}/batches/{root}",
    "/transparency/api/agencies/{code}/digests/{digest}",
    "/transparency/api/ledger",
    "/transparency/api/ledger/timeline",
    "/transparency/api/events",
    "/transparency/api/export.ndjson",
    "/transparency/api/export.csv",
)
VERIFIER_PATHS = (
    "/verify",
    "/verify/batch",
    "/credentials/verify",
    "/presentations/verify",
    "/render/pdf",
    "/content/{cid}",
    "/s/{cid}",
    "/",
    "/healthz",
    "/metrics",
    "/wallet",
    "/wallet/sw.js",
    "/wallet/manifest.webmanifest",
    *TRANSPARENCY_PATHS,  # public and read-only: GET answers anyone, every write is refused
)


def test_verifier_endpoints_are_public_and_refuse_other_methods(verifier):
    server, bundle, cid, records = verifier

    def filled(path: str) -> str:
        for name, value in {"{cid}": cid, **records}.items():
            path = path.replace(name, value)
        return path

    vc_api = json.dumps({"verifiableCredential": json.loads(bundle)}).encode()
    vp_api = json.dumps(presentation_request(json.loads(bundle)["credential"], "matrix-challenge")).encode()
    requests = {
        ("POST", "/verify"): ({"content": bundle}, 200),
        ("POST", "/verify/batch"): ({"content": b"[" + bundle + b"]"}, 200),
        ("POST", "/credentials/verify"): ({"content": vc_api}, 200),
        ("POST", "/presentations/verify"): ({"content": vp_api}, 200),
        ("POST", "/render/pdf"): ({"content": bundle}, 200),
        ("GET", f"/content/{cid}"): ({}, 200),
        ("GET", f"/s/{cid}"): ({}, 200),
        ("GET", "/"): ({}, 200),
        ("GET", "/healthz"): ({}, 200),
        ("GET", "/metrics"): ({}, 200),
        ("GET", "/wallet"): ({}, 200),
        ("GET", "/wallet/sw.js"): ({}, 200),
        ("GET", "/wallet/manifest.webmanifest"): ({}, 200),
        ("GET", "/openapi.json"): ({}, 200),
        ("GET", "/static/app.js"): ({}, 200),
        **{("GET", filled(p)): ({}, 200) for p in TRANSPARENCY_PATHS},
    }
    paths = {path for _, path in route_table(server.app.routes)}  # through the included transparency router
    assert paths >= set(VERIFIER_PATHS)
    documented = set(server.app.openapi()["paths"])
    assert documented == set(VERIFIER_PATHS), documented  # every route of the document is in this matrix
    credentials = {
        "none": {},
        "bearer": {"Authorization": "Bearer clk_000000000000_" + "x" * 43},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        "cookie": {"Cookie": "session=1"},
    }
    mismatches = []
    with server.client() as client:
        for (method, path), (kwargs, want) in requests.items():
            for label, headers in credentials.items():
                reply = client.request(method, path, headers={"Content-Type": "application/json", **headers}, **kwargs)
                CASES.append((f"verifier {method} {path.split('/bafk')[0]}", label, str(want), reply.status_code))
                if reply.status_code != want:
                    mismatches.append(f"{method} {path} with {label}: {reply.status_code}")
        for path in map(filled, VERIFIER_PATHS):
            allowed = {"POST"} if path.endswith(("/verify", "/batch", "/render/pdf")) else {"GET", "HEAD"}
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                if method in allowed:
                    continue
                reply = client.request(method, path, content=b"{}")
                CASES.append((f"verifier {method} {path.split('/bafk')[0]}", "none", "405", reply.status_code))
                if reply.status_code != 405 or reply.json()["code"] != "METHOD_NOT_ALLOWED":
                    mismatches.append(f"{method} {path}: {reply.status_code} {reply.text[:100]}")
    assert not mismatches, "\n".join(mismatches)


# ------------------------------------------------------------------ one row through a real uvicorn


def test_a_matrix_row_through_a_real_uvicorn_process(api, tmp_path):
    """GET /credentials/{id} and POST /credentials/{id}/revoke, every caller, over HTTP to
    `certledger serve issuer` on the same data directory."""
    cid = api.fresh_credential()
    with serving(
        api.home, "issuer", log=tmp_path / "issuer.log", env={"CERTLEDGER_RUN_ANCHORER": "0"}, timeout_s=60
    ) as server:
        with server.client(timeout=30) as client:
            for route in (("GET", "/credentials/{credential_id}"), ("POST", "/credentials/{credential_id}/{action}")):
                endpoint = ISSUER[route]
                for caller in CALLERS:
                    want = expected(endpoint, caller)
                    method, path, kwargs = endpoint.request(api, cid)
                    reply = call(client, method, path, caller_key(api, endpoint, caller), kwargs)
                    CASES.append((f"uvicorn {route[0]} {route[1]}", caller, str(want), reply.status_code))
                    assert reply.status_code == want, (route, caller, reply.text)
            assert client.get(f"/credentials/{cid}", headers=bearer(api.keys["edu-admin"])).json()["state"] == "revoked"


def test_print_the_number_of_cases(capsys):
    issuer = sum(1 for e, *_ in CASES if not e.startswith(("verifier", "uvicorn")))
    verifier_cases = sum(1 for e, *_ in CASES if e.startswith("verifier"))
    uvicorn_cases = len(CASES) - issuer - verifier_cases
    with capsys.disabled():
        print(
            f"\nauthorisation matrix: {len(CASES)} cases ({issuer} issuer in process, {uvicorn_cases} issuer "
            f"through uvicorn, {verifier_cases} verifier), all as expected"
        )
    if CASES:  # the whole module ran
        assert issuer >= len(ISSUER) * len(CALLERS) and verifier_cases > 0
