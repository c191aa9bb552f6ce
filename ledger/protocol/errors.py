"""Field-level validation errors shared by the credential model.

Callers (the issuer API, the CLI) show people *which* field is wrong and why;
a single exception carries every problem found, not just the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class FieldError:
    """One problem: ``field`` is a dotted path (``credentialSubject.degree.name``,
    ``items[2]``), ``reason`` a sentence for a person."""

    field: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "reason": self.reason}


class ValidationError(ValueError):
    """Input that does not satisfy its schema or format; ``errors`` lists all problems."""

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        self.errors = sorted(set(errors))
        summary = "; ".join(f"{e.field}: {e.reason}" for e in self.errors)
        super().__init__(f"{message}: {summary}" if message else summary)

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.errors]


__all__ = ["FieldError", "ValidationError"]
