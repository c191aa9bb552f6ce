"""``POST /credentials/verify`` and ``POST /presentations/verify`` (the W3C VC API) as plain ASGI in
front of the FastAPI app, like ``POST /verify``: the same body limits (415, 413), JSON read strictly
(``ledger.strict_json``), the answers of ``verifier.vc_api``, problems for malformed requests.

``checks: ["proof"]`` on a bare credential signed eddsa-jcs-2022 is answered on the event loop (no
I/O, no JSON-LD: a fraction of a millisecond); everything else — JSON-LD expansion, RDF
canonicalisation, status lists fetched over HTTP, the six checks with their chain reads — runs in
the thread pool.

Not yet in the OpenAPI document: its description is ``verifier.vc_api_openapi``.
"""
from __future__ import annotations

import logging
from types import SimpleNamespace

from starlette.concurrency import run_in_threadpool

from ledger.json_depth import MAX_DEPTH, too_deep
from ledger.problem import Problem as AnyProblem
from ledger.strict_json import JsonBodyError, parse_strict_json_plain

from .app import _SECURITY_HEADERS, _VerifyEndpoint, _dumps
from .problems import Problem
from .vc_api import is_bundle, verify_credential_body, verify_credential_proof_only, verify_presentation_body

log = logging.getLogger("verifier.vc_api")

CREDENTIALS, PRESENTATIONS = "credentials", "presentations"
_PROOF_ONLY = {"checks": ["proof"]}


def _fast(document: object) -> bool:
    """A request the event loop answers itself: proof only, a bare eddsa-jcs-2022 credential."""
    if type(document) is not dict or document.get("options") != _PROOF_ONLY or len(document) != 2:
        return False
    vc = document.get("verifiableCredential")
    if type(vc) is not dict or is_bundle(vc):
        return False
    proof = vc.get("proof")
    return type(proof) is dict and proof.get("cryptosuite") == "eddsa-jcs-2022"


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
        headers = []
        try:
            if scope["method"] != "POST":
                raise Problem(405, "METHOD_NOT_ALLOWED", "this endpoint takes POST")
            body = await _VerifyEndpoint._body(self._reader, scope, receive)
            if body is None:
                return  # the client went away
            if too_deep(body):
                raise Problem(400, "NOT_JSON", f"the JSON is nested more than {MAX_DEPTH} levels deep")
            try:
                document, plain = parse_strict_json_plain(body)
            except JsonBodyError as exc:
                raise Problem(400, "NOT_JSON", str(exc)) from None
            if kind == CREDENTIALS:
                if _fast(document):
                    status, answer = verify_credential_proof_only(document["verifiableCredential"], plain)
                else:
                    status, answer = await run_in_threadpool(verify_credential_body, document, self.service,
                                                             self.status_lists)
            else:
                status, answer = await run_in_threadpool(verify_presentation_body, document, self.status_lists)
            payload, media_type = _dumps(answer), b"application/json"
            if status == 503:
                headers.append((b"retry-after", b"5"))
        except AnyProblem as problem:
            status, payload, media_type = problem.status, _dumps(problem.to_json()), b"application/problem+json"
        except Exception:  # noqa: BLE001 - never a traceback to the client
            log.exception("unexpected error in POST /%s/verify", kind)
            problem = Problem(500, "INTERNAL_ERROR", "the verifier failed; the error was logged")
            status, payload, media_type = 500, _dumps(problem.to_json()), b"application/problem+json"
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", media_type), (b"content-length", str(len(payload)).encode()), *headers,
            *_SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": payload})


__all__ = ["VcApiEndpoint"]
