"""``POST /credentials/verify`` and ``POST /presentations/verify`` (the W3C VC API) as plain ASGI in
front of the FastAPI app, like ``POST /verify``: the same body limits (415, 413), JSON read strictly
(``ledger.protocol.strict_json``), the answers of ``verifier.vc_api``, problems for malformed requests.

``checks: ["proof"]`` on a bare credential signed eddsa-jcs-2022 is answered on the event loop (no
I/O, no JSON-LD: a fraction of a millisecond); everything else — JSON-LD expansion, RDF
canonicalisation, status lists fetched over HTTP, the six checks with their chain reads — runs in
the thread pool.

The routes are declared in the FastAPI app too (``verifier.app``), so that the OpenAPI document
describes them (``verifier.vc_api_openapi``); those routes answer with :func:`answer` as well, should
a request ever reach them.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any, TypeGuard

from starlette.concurrency import run_in_threadpool

from http_common.problem import Problem as AnyProblem
from ledger.protocol.json_depth import MAX_DEPTH, too_deep
from ledger.protocol.strict_json import JsonBodyError, parse_strict_json_plain
from verifier.app import _SECURITY_HEADERS, _dumps, _VerifyEndpoint
from verifier.problems import Problem
from verifier.vc_api import is_bundle, verify_credential_body, verify_credential_proof_only, verify_presentation_body

log = logging.getLogger("verifier.vc_api")

CREDENTIALS, PRESENTATIONS = "credentials", "presentations"
RETRY_AFTER_S = b"5"  # a 503's Retry-After: the index polls the chain every 0.5 s, a status list is fetched in <= 5 s
_PROOF_ONLY = {"checks": ["proof"]}


def _fast(document: object) -> TypeGuard[dict[str, Any]]:
    """A request the event loop answers itself: proof only, a bare eddsa-jcs-2022 credential."""
    if type(document) is not dict or document.get("options") != _PROOF_ONLY or len(document) != 2:
        return False
    vc = document.get("verifiableCredential")
    if type(vc) is not dict or is_bundle(vc):
        return False
    proof = vc.get("proof")
    return type(proof) is dict and proof.get("cryptosuite") == "eddsa-jcs-2022"


async def answer(kind: str, body: bytes, service, status_lists) -> tuple[int, bytes, bytes, list]:
    """(status, payload, media type, extra headers) of a VC API request's body; every refusal a
    problem, every crash a logged 500."""
    headers = []
    try:
        if too_deep(body):
            raise Problem(400, "NOT_JSON", f"the JSON is nested more than {MAX_DEPTH} levels deep")
        try:
            document, plain = parse_strict_json_plain(body)
        except JsonBodyError as exc:
            raise Problem(400, "NOT_JSON", str(exc)) from None
        if kind == CREDENTIALS:
            if _fast(document):
                status, result = verify_credential_proof_only(document["verifiableCredential"], plain)
            else:
                status, result = await run_in_threadpool(verify_credential_body, document, service, status_lists)
        else:
            status, result = await run_in_threadpool(verify_presentation_body, document, status_lists)
        payload, media_type = _dumps(result), b"application/json"
        if status == 503:
            headers.append((b"retry-after", RETRY_AFTER_S))
    except AnyProblem as problem:
        status, payload, media_type = problem.status, _dumps(problem.to_json()), b"application/problem+json"
    except Exception:  # noqa: BLE001 - never a traceback to the client
        log.exception("unexpected error in POST /%s/verify", kind)
        failure = Problem(500, "INTERNAL_ERROR", "the verifier failed; the error was logged")
        status, payload, media_type = 500, _dumps(failure.to_json()), b"application/problem+json"
    return status, payload, media_type, headers


class VcApiEndpoint:
    def __init__(self, app, service, status_lists, limit: int, root_path: str = ""):
        self.app, self.service, self.status_lists = app, service, status_lists
        self._reader = SimpleNamespace(limit=limit)  # what _VerifyEndpoint._body reads of its instance
        self.paths = {}
        for prefix in {"", root_path}:
            self.paths[prefix + "/credentials/verify"] = CREDENTIALS
            self.paths[prefix + "/presentations/verify"] = PRESENTATIONS

    async def __call__(self, scope, receive, send):
        kind = self.paths.get(scope.get("path")) if scope["type"] == "http" else None
        if kind is None:
            return await self.app(scope, receive, send)
        try:
            if scope["method"] != "POST":
                raise Problem(405, "METHOD_NOT_ALLOWED", "this endpoint takes POST")
            body = await _VerifyEndpoint._body(self._reader, scope, receive)
        except AnyProblem as problem:
            status, payload, media_type, headers = (
                problem.status,
                _dumps(problem.to_json()),
                b"application/problem+json",
                [],
            )
        else:
            if body is None:
                return  # the client went away
            status, payload, media_type, headers = await answer(kind, body, self.service, self.status_lists)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", media_type),
                    (b"content-length", str(len(payload)).encode()),
                    *headers,
                    *_SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


__all__ = ["CREDENTIALS", "PRESENTATIONS", "VcApiEndpoint", "answer"]
