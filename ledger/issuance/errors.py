"""What the issuance library refuses, as a small hierarchy a route or a command maps to a status.

Each error has a stable ``code`` (a route maps it to an HTTP status, a command to an exit code)
and a message a person can act on. Input that fails its schema raises
:class:`ledger.protocol.errors.ValidationError` (every field at fault) instead.
"""

from __future__ import annotations

from ledger.protocol.errors import FieldError


class IssuanceError(Exception):
    code = "ISSUANCE_ERROR"


class AgencyNotFound(IssuanceError):
    """No agency with this code is recorded in this installation."""

    code = "AGENCY_NOT_FOUND"

    def __init__(self, agency: str) -> None:
        self.agency = agency
        super().__init__(f"agency {agency!r} is not recorded in this installation")


class AgencyKeysMissing(IssuanceError):
    code = "AGENCY_KEYS_MISSING"

    def __init__(self, agency: str, detail: str) -> None:
        self.agency = agency
        super().__init__(f"the keys of agency {agency!r} cannot be loaded: {detail}")


class UnknownCredentialType(IssuanceError):
    code = "UNKNOWN_TYPE"

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        super().__init__(f"unknown credential type {type_name!r}: add it first (certledger type add)")


class TypeNotPermitted(IssuanceError):
    code = "TYPE_NOT_PERMITTED"

    def __init__(self, agency: str, type_name: str) -> None:
        self.agency, self.type_name = agency, type_name
        super().__init__(
            f"agency {agency!r} may not issue {type_name!r}; it may issue the types granted to it by governance"
        )


class IdempotencyConflict(IssuanceError):
    """The idempotency key was already used by this agency for a different request."""

    code = "IDEMPOTENCY_CONFLICT"

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"idempotency key {key!r} was already used for a different request; "
            "use a new key for a new request (a retry must send exactly the same request)"
        )


class RowError:
    """The problems of one input row (row numbers: see ledger.issuance.rows)."""

    __slots__ = ("row", "errors")

    def __init__(self, row: int, errors: list[FieldError]) -> None:
        self.row = row
        self.errors = sorted(set(errors))

    def to_dict(self) -> dict:
        return {"row": self.row, "errors": [e.to_dict() for e in self.errors]}

    @classmethod
    def from_dict(cls, data: dict) -> RowError:
        return cls(data["row"], [FieldError(e["field"], e["reason"]) for e in data["errors"]])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RowError) and (self.row, self.errors) == (other.row, other.errors)

    def __repr__(self) -> str:
        shown = "; ".join(f"{e.field}: {e.reason}" for e in self.errors)
        return f"row {self.row}: {shown}"


class BulkRejected(IssuanceError):
    """all_or_nothing=True and some rows are invalid: nothing was issued."""

    code = "BULK_REJECTED"

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        first = "; ".join(repr(e) for e in errors[:3])
        more = f" (and {len(errors) - 3} more rows)" if len(errors) > 3 else ""
        super().__init__(f"{len(errors)} invalid rows, nothing issued: {first}{more}")


class CredentialNotFound(IssuanceError):
    """No such credential *for this agency*: another agency's credential is reported the same way."""

    code = "NOT_FOUND"

    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)
        super().__init__(f"no credential {', '.join(self.ids[:5])}{' …' if len(self.ids) > 5 else ''} for this agency")


class NotAnchored(IssuanceError):
    code = "NOT_ANCHORED"

    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)
        super().__init__(
            f"credential {', '.join(self.ids[:5])}{' …' if len(self.ids) > 5 else ''} is not anchored yet; "
            "its status can change once its batch is anchored (usually within seconds)"
        )


class InvalidTransition(IssuanceError):
    code = "INVALID_TRANSITION"

    def __init__(self, message: str, ids: list[str]) -> None:
        self.ids = list(ids)
        super().__init__(message)


class SupersedeRefused(IssuanceError):
    code = "SUPERSEDE_REFUSED"


class UnknownSigningKey(IssuanceError):
    """Not a signing key of this agency on chain (another agency's key gets the same answer)."""

    code = "NOT_FOUND"

    def __init__(self, agency: str, public_key: str) -> None:
        super().__init__(f"{public_key} is not a signing key of agency {agency} on chain")


class KeyRevocationRefused(IssuanceError):
    """A key compromise the chain or this installation refuses: an unknown key, a time out of range,
    a key revoked as of another time, the agency's current key, or a re-issue before the revocation."""

    code = "KEY_REVOCATION_REFUSED"


class StatusChangeFailed(IssuanceError):
    """The chain refused a status change (a revert other than 'already in that state')."""

    code = "CHAIN_REFUSED"


__all__ = [
    "AgencyKeysMissing",
    "AgencyNotFound",
    "BulkRejected",
    "CredentialNotFound",
    "IdempotencyConflict",
    "InvalidTransition",
    "IssuanceError",
    "KeyRevocationRefused",
    "NotAnchored",
    "RowError",
    "StatusChangeFailed",
    "SupersedeRefused",
    "TypeNotPermitted",
    "UnknownCredentialType",
    "UnknownSigningKey",
]
