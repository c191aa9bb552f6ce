"""The problem+json refusals of both services, declared in their OpenAPI documents.

One schema (`Problem`, in components) and one helper to declare which refusals an operation can
answer, so that clients and schema-driven tests know every status code and body the services send.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from http_common.problem import PROBLEM_JSON

PROBLEM_REF: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}


class ProblemDetails(BaseModel):
    """RFC 9457 problem details as http_common.problem.Problem writes them (extension members allowed)."""

    model_config = ConfigDict(extra="allow", title="Problem")
    type: str = Field(pattern=r"^urn:certledger:problem:[a-z0-9-]+$")
    title: str
    status: int = Field(ge=400, le=599)
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="stable, for clients to branch on")
    detail: str = Field(description="what was wrong, naming the field at fault where there is one")
    errors: list[dict[str, Any]] | None = Field(None, description="each field at fault and why")


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries: each status answered with application/problem+json. `descriptions`
    (keyed `s404=…`) override the standard reason phrase."""
    return {
        status: {
            "description": descriptions.get(f"s{status}", HTTPStatus(status).phrase),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        }
        for status in statuses
    }


def document_problems(app: FastAPI, every_operation: tuple[int, ...] = ()) -> None:
    """Adds the Problem schema to the app's OpenAPI components (the responses refer to it), the
    refusals `every_operation` may answer (those of middleware in front of all routes), and declares
    FastAPI's default 422 as the problem+json the services' validation handlers send."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                ProblemDetails.model_json_schema()
            )
            common = {str(status): response for status, response in problem_responses(*every_operation).items()}
            validation = problem_responses(422, s422="The request is malformed")[422]
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.setdefault("responses", {})
                    for status, response in common.items():
                        responses.setdefault(status, response)
                    if "HTTPValidationError" in str(responses.get("422")):
                        responses["422"] = validation  # FastAPI's default; both services answer problem+json
            for name in ("HTTPValidationError", "ValidationError"):
                schema["components"]["schemas"].pop(name, None)
        assert app.openapi_schema is not None  # build() has set it
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema


__all__ = ["ProblemDetails", "problem_responses", "document_problems", "PROBLEM_REF"]
