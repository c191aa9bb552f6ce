"""Day two for an agency, through the API as through `certledger agency …` and `api-key … --agency`:
its on-chain state, its signing key's rotation, its operators, its activation, its API keys.

Thin over ``ledger.governance.agency_admin``, the functions the command line calls. Every change is
sent with the issuer process's governance account, whichever API key asked, and audited under that
key's id (one event per transaction sent).

Who may ask:

* ``GET /agencies/{code}``: a governance key, or a key of that agency with ``read``;
* rotating the signing key: a governance key, or that agency's ``admin`` key. The agency's admin may
  rotate its own key because the rotation only adds a key of its own namespace (the old key stays
  valid, nothing is revoked) and the private key never leaves the data directory; so a stolen admin
  key gains nothing by it that ``issue`` did not give already, while an agency that suspects its key
  need not wait for governance.
* operators, (de)activation and the agency's API keys under ``/agencies/{code}/api-keys``: a
  governance key only (they change who may write for the agency).

A key of another agency is refused (403). Retries are safe: activation and a named operator are
states, sent only when the chain does not hold them yet; the rotations (a new key or account each
time) resume a rotation cut short with the same new key, and with an ``Idempotency-Key`` a retry
answers what the first request did instead of rotating again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from web3 import Web3

from http_common.openapi_problems import problem_responses as refusals
from http_common.problem import Problem
from issuer_api import schemas as out
from issuer_api.deps import principal, scope, service
from issuer_api.routes.admin import KeyRequest, create_key, key_list
from ledger.chain import RegistryClient
from ledger.governance import accounts, agency_admin
from ledger.governance.api_keys import GOVERNANCE_SCOPE, Principal, revoke_api_key
from ledger.issuance import idempotency
from ledger.protocol.identifiers import check_agency_code
from ledger.storage import AgencyRecord

router = APIRouter(prefix="/agencies/{code}", tags=["governance and administration"])

# One governance change at a time in this process: each is a few transactions from one account, and
# two at once would race for its nonce (or both rotate from the same key file).
_governance_writes = threading.Lock()


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeyValidity(_Closed):
    publicKey: str
    validFrom: str
    revokedAt: str | None


class AgencyShown(_Closed):
    code: str
    name: str
    active: bool
    types: list[str]
    operators: list[str]
    keys: list[KeyValidity]


class Sent(_Closed):
    done: list[str] = Field(description="steps sent now, one transaction each")
    already: list[str] = Field(description="steps the chain held already (a retry)")
    txHashes: list[str]


class KeyRotated(Sent):
    code: str
    signingKey: str = Field(description="the key new credentials are signed with")
    previousKey: str | None = Field(description="still valid: retire it once everything it signed is anchored")
    replayed: bool


class OperatorAdded(Sent):
    code: str
    operator: str
    previousOperator: str | None = Field(description="remove it once the new operator is funded and in use")
    fundFirst: bool = Field(description="the new account must be given ether before the issuer sends from it")
    replayed: bool


class OperatorRemoved(Sent):
    code: str
    operator: str


class Activation(Sent):
    code: str
    active: bool


class OperatorRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{}, {"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}]}
    )
    address: str | None = Field(
        None, description="an address to make an operator; none: rotate the operator account the issuer sends from"
    )


def _checked(code: str) -> str:
    try:
        return check_agency_code(code)
    except ValueError as exc:
        raise Problem(422, "INVALID_AGENCY", f"code: {exc}", "The agency is invalid") from None


def _for_agency(scope_name: str) -> Callable:
    """A governance key, or a key of agency ``code`` itself that has ``scope_name``."""

    async def check(code: str, who: Principal = Depends(principal)) -> Principal:
        if who.agency is None:
            if GOVERNANCE_SCOPE not in who.scopes:
                raise Problem(403, "FORBIDDEN", "this API key lacks the governance scope", "Not allowed")
        elif not who.allows(scope_name):
            raise Problem(403, "FORBIDDEN", f"this API key lacks the {scope_name!r} scope", "Not allowed")
        elif who.agency != code:
            raise Problem(403, "FORBIDDEN", f"this API key acts for agency {who.agency}, not {code}", "Not allowed")
        return who

    return check


@contextmanager
def _refusals() -> Iterator[None]:
    """The library's refusals as problems (a chain that does not answer is the app's 503)."""
    try:
        yield
    except agency_admin.AgencyNotRegistered as exc:
        raise Problem(404, "AGENCY_NOT_FOUND", str(exc), "No such agency") from None
    except agency_admin.OperatorConflict as exc:
        raise Problem(409, "OPERATOR_CONFLICT", str(exc), "The operator belongs to another agency") from None
    except agency_admin.AgencyAdminError as exc:
        raise Problem(409, "AGENCY_KEYS_MISSING", str(exc), "The agency's keys are not here") from None


def _local_agency(svc, code: str) -> None:
    """A rotation writes the agency's key folder and its record: both must be in this data directory."""
    with Session(svc.ctx.engine) as session:
        if session.get(AgencyRecord, code) is None:
            raise Problem(404, "AGENCY_NOT_FOUND", f"agency {code} is not onboarded in this issuer", "No such agency")


def _once(svc, code: str, key: str | None, operation: str, run: Callable[[], dict]) -> dict:
    with _governance_writes, _refusals():
        if key is None:
            return {**run(), "replayed": False}
        result, replayed = idempotency.once(svc.ctx.engine, code, key, operation, {"code": code}, run)
        return {**result, "replayed": replayed}


def _sent(change: agency_admin.Change) -> dict:
    return {"done": change.done, "already": change.skipped, "txHashes": change.tx_hashes}


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get(
    "",
    summary="An agency's on-chain state: name, active, types, operators, keys with their validity",
    responses={200: {"model": AgencyShown}, **refusals(401, 403, 404, 422, 503)},
)
def show(code: str, svc=Depends(service), who: Principal = Depends(_for_agency("read"))):
    code = _checked(code)
    registry = RegistryClient(svc.ctx.chain.w3, svc.ctx.chain.deployment.registry)  # read-only
    with _refusals():
        state = agency_admin.agency_state(registry, code, agency_admin.known_type_names(svc.ctx.engine, code))
    return {
        "code": state.code,
        "name": state.name,
        "active": state.active,
        "types": state.types,
        "operators": state.operators,
        "keys": [
            {
                "publicKey": k.public_key,
                "validFrom": _utc(k.valid_from),
                "revokedAt": _utc(k.revoked_at) if k.revoked_at else None,
            }
            for k in state.keys
        ],
    }


@router.post(
    "/signing-keys/rotate",
    summary="Rotate the agency's signing key (its admin, or governance)",
    description="A new encrypted signing key in the data directory, registered on chain (valid from the block "
    "that adds it), then the key this process signs new credentials with; other issuer processes take it "
    "when restarted. The previous key stays valid (docs/operations.md, 'Rotating a signing key'). "
    "With an Idempotency-Key a retry answers the first rotation's result.",
    responses={200: {"model": KeyRotated}, **refusals(401, 403, 404, 409, 422, 503)},
)
def rotate_signing_key(
    code: str,
    svc=Depends(service),
    who: Principal = Depends(_for_agency("admin")),
    idempotency_key: str | None = Header(None, max_length=200),
):
    code = _checked(code)
    _local_agency(svc, code)

    def run() -> dict:
        change = agency_admin.rotate_signing_key(svc.governance_registry(), svc.config.data_dir, code, svc.passphrase)
        agency_admin.remember_rotation(svc.ctx.engine, code, signing_key=change.new_key)
        agency_admin.audit_change(svc.ctx.engine, "key-rotate", who.key_id, code, change)
        if change.signing_key is not None:
            svc.ctx.chain.keyring.use_signing_key(code, change.signing_key)
        return {"code": code, "signingKey": change.new_key, "previousKey": change.old_key or None, **_sent(change)}

    return _once(svc, code, idempotency_key, "key-rotate", run)


@router.post(
    "/operators",
    summary="Add an operator (governance); without an address, rotate the operator account",
    description="With `address`: make it an operator of the agency. Without: a new encrypted operator account "
    "in the data directory becomes the one the issuer sends from (after a restart); the answer names it: fund "
    "it, restart the issuer, then remove the previous one. With an Idempotency-Key a retry of a rotation "
    "answers the first one's result.",
    responses={200: {"model": OperatorAdded}, **refusals(400, 401, 403, 404, 409, 413, 422, 503)},
)
def add_operator(
    code: str,
    body: OperatorRequest | None = None,
    svc=Depends(service),
    who: Principal = Depends(scope(GOVERNANCE_SCOPE)),
    idempotency_key: str | None = Header(None, max_length=200),
):
    code = _checked(code)
    address = body.address if body else None  # "" is not "none": it is refused as an address
    if address is not None:
        address = _address(address, "address")
        with _governance_writes, _refusals():
            change = agency_admin.add_operator(svc.governance_registry(), code, address)
            agency_admin.audit_change(svc.ctx.engine, "operator-add", who.key_id, code, change)
        return {
            "code": code,
            "operator": address,
            "previousOperator": None,
            "fundFirst": False,
            "replayed": False,
            **_sent(change),
        }
    _local_agency(svc, code)

    def run() -> dict:
        change = agency_admin.rotate_operator(svc.governance_registry(), svc.config.data_dir, code, svc.passphrase)
        agency_admin.remember_rotation(svc.ctx.engine, code, operator=change.new_address)
        embedded = svc.config.chain.embedded
        if embedded:  # the development chain: fund it here, as `agency operator add` does
            accounts.fund_on_anvil(svc.ctx.chain.w3.provider.endpoint_uri, change.new_address)
        agency_admin.audit_change(svc.ctx.engine, "operator-add", who.key_id, code, change)
        return {
            "code": code,
            "operator": change.new_address,
            "previousOperator": change.old_address or None,
            "fundFirst": not embedded,
            **_sent(change),
        }

    return _once(svc, code, idempotency_key, "operator-rotate", run)


@router.delete(
    "/operators/{address}",
    summary="Remove one of the agency's operators (governance)",
    responses={200: {"model": OperatorRemoved}, **refusals(401, 403, 404, 409, 422, 503)},
)
def remove_operator(code: str, address: str, svc=Depends(service), who: Principal = Depends(scope(GOVERNANCE_SCOPE))):
    code = _checked(code)
    address = _address(address, "address")
    with _governance_writes, _refusals():
        change, _ = agency_admin.remove_operator(svc.governance_registry(), address, code)
        agency_admin.audit_change(svc.ctx.engine, "operator-remove", who.key_id, code, change)
    return {"code": code, "operator": address, **_sent(change)}


def _activation(svc, who: Principal, code: str, active: bool) -> dict:
    code = _checked(code)
    with _governance_writes, _refusals():
        change = agency_admin.set_active(svc.governance_registry(), code, active)
        agency_admin.audit_change(svc.ctx.engine, "reactivate" if active else "deactivate", who.key_id, code, change)
    return {"code": code, "active": active, **_sent(change)}


@router.post(
    "/deactivate",
    summary="Deactivate the agency (governance): it can no longer anchor; what it anchored stays as it is",
    responses={200: {"model": Activation}, **refusals(401, 403, 404, 422, 503)},
)
def deactivate(code: str, svc=Depends(service), who: Principal = Depends(scope(GOVERNANCE_SCOPE))):
    return _activation(svc, who, code, False)


@router.post(
    "/reactivate",
    summary="Reactivate the agency (governance)",
    responses={200: {"model": Activation}, **refusals(401, 403, 404, 422, 503)},
)
def reactivate(code: str, svc=Depends(service), who: Principal = Depends(scope(GOVERNANCE_SCOPE))):
    return _activation(svc, who, code, True)


@router.post(
    "/api-keys",
    status_code=201,
    summary="Create an API key of the agency (governance; shown once), e.g. when it has lost its admin keys",
    description="As `certledger api-key create --agency CODE`: a label names one live key, so a retried request "
    "is refused (409, naming the key it made) instead of leaving two.",
    responses={
        201: {"model": out.KeyCreated},
        **refusals(400, 401, 403, 404, 409, 413, 422, s409="a live key of the agency already has this label"),
    },
)
def new_agency_key(
    code: str, body: KeyRequest, svc=Depends(service), who: Principal = Depends(scope(GOVERNANCE_SCOPE))
):
    code = _checked(code)
    _local_agency(svc, code)
    return create_key(svc.ctx.engine, code, body, who.key_id)


@router.get(
    "/api-keys",
    summary="The agency's API keys (governance; never their secrets)",
    responses={200: {"model": list[out.KeyInfo]}, **refusals(401, 403, 404, 422)},
)
def agency_keys(code: str, svc=Depends(service), who: Principal = Depends(scope(GOVERNANCE_SCOPE))):
    code = _checked(code)
    _local_agency(svc, code)
    return key_list(svc.ctx.engine, code)


@router.delete(
    "/api-keys/{key_id}",
    summary="Revoke one of the agency's API keys (governance; a retry answers the same)",
    responses={200: {"model": out.KeyRevoked}, **refusals(401, 403, 404, 422)},
)
def drop_agency_key(code: str, key_id: str, svc=Depends(service), who: Principal = Depends(scope(GOVERNANCE_SCOPE))):
    code = _checked(code)
    if not revoke_api_key(svc.ctx.engine, key_id, code, who.key_id):
        raise Problem(404, "NOT_FOUND", f"no API key {key_id} of agency {code}", "Not found")
    return {"id": key_id, "revoked": True}


def _address(value: str, name: str) -> str:
    try:
        return Web3.to_checksum_address(value)
    except (ValueError, TypeError):
        raise Problem(
            422,
            "VALIDATION_FAILED",
            f"{name}: not an Ethereum address (0x + 40 hex digits)",
            "The request is malformed",
            errors=[{"field": name, "reason": "not an Ethereum address (0x + 40 hex digits)"}],
        ) from None
