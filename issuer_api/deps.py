"""Typed request dependencies: the service, the caller, and the caller's right to act."""

from __future__ import annotations

from fastapi import Depends, Request

from http_common.problem import Problem
from ledger.governance.api_keys import GOVERNANCE_SCOPE, Principal, authenticate


# Dependencies that do no I/O are coroutines: FastAPI runs a plain function in the thread pool, a
# hand-off that costs more than the function itself on every request.
async def service(request: Request):
    return request.app.state.service


def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("x-api-key")
    found = authenticate(request.app.state.service.ctx.engine, token)
    if found is None:
        raise Problem(
            401, "UNAUTHENTICATED", "send a valid API key: Authorization: Bearer clk_…", "Authentication required"
        )
    return found


def scope(name: str):
    """The caller, if its key has `name`; agency scopes need an agency key, governance a governance key."""

    async def check(who: Principal = Depends(principal)) -> Principal:
        if not who.allows(name) or (name != GOVERNANCE_SCOPE and who.agency is None):
            raise Problem(403, "FORBIDDEN", f"this API key lacks the {name!r} scope", "Not allowed")
        return who

    return check
