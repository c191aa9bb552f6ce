"""The verification report: one result per check, and the verdict, computed in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum

from ledger.verification.messages import render

CHECK_NAMES = ("format", "integrity", "anchor", "issuer", "status", "validity")


class Status(str, Enum):
    VALID = "VALID"
    INVALID = "INVALID"
    ERROR = "ERROR"  # could not decide (e.g. the chain is unreachable)
    SKIPPED = "SKIPPED"  # not run because a check it depends on did not pass


class Verdict(str, Enum):
    VALID = "VALID"
    INVALID = "INVALID"
    ERROR = "ERROR"

    @property
    def exit_code(self) -> int:
        return {"VALID": 0, "INVALID": 1, "ERROR": 2}[self.value]


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    code: str
    data: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return render(self.code, "en", self.data)

    @property
    def message_zh(self) -> str:
        return render(self.code, "zh-CN", self.data)

    def to_json(self, language: str = "en") -> dict:
        """``message`` is in ``language`` (``en`` or ``zh-CN``); ``messages`` holds both."""
        en, zh = self.message, self.message_zh
        return {
            "name": self.name,
            "status": self.status.value,
            "code": self.code,
            "message": zh if language.startswith("zh") else en,
            "messages": {"en": en, "zh-CN": zh},
        }


def _result(name: str, status: Status, code: str, data: dict) -> CheckResult:
    # What the frozen dataclass __init__ does (set the four fields), minus its per-field
    # object.__setattr__ calls: six results per verification. The fields are checked below.
    result = _new(CheckResult)
    fields = result.__dict__
    fields["name"] = name
    fields["status"] = status
    fields["code"] = code
    fields["data"] = data
    return result


_new = object.__new__
if tuple(f.name for f in dataclasses.fields(CheckResult)) != ("name", "status", "code", "data"):  # pragma: no cover
    _result = CheckResult  # noqa: F811 - the fields changed: use the real constructor


def valid(name: str, code: str, **data) -> CheckResult:
    return _result(name, _VALID, code, data)


def invalid(name: str, code: str, **data) -> CheckResult:
    return _result(name, _INVALID, code, data)


def error(name: str, code: str, **data) -> CheckResult:
    return _result(name, _ERROR, code, data)


def skipped(name: str, after: str) -> CheckResult:
    """`name` was not run because the check `after`, which it needs, did not pass."""
    return _result(name, _SKIPPED, "SKIPPED", {"after": after})


def verdict_of(checks: list[CheckResult]) -> Verdict:
    """VALID only when all six checks ran and passed; fails closed otherwise.

    INVALID wins over ERROR: a proven defect is reported even when another check could not decide.
    """
    statuses = {c.name: c.status for c in checks}
    # one pass (this runs for every report): INVALID wins at once, ERROR is remembered
    has_error, all_valid = False, True
    for s in statuses.values():
        if s is _INVALID:
            return _V_INVALID
        if s is _ERROR:
            has_error = True
        elif s is not _VALID:
            all_valid = False
    if has_error:
        return _V_ERROR
    if all_valid and statuses.keys() == _CHECK_NAME_SET:
        return _V_VALID
    return _V_INVALID  # a missing or skipped check with no failure is still not a pass


# Enum members bound once: attribute access on an Enum class is slow, and this is the hot path.
_VALID, _INVALID, _ERROR, _SKIPPED = Status.VALID, Status.INVALID, Status.ERROR, Status.SKIPPED
_V_VALID, _V_INVALID, _V_ERROR = Verdict.VALID, Verdict.INVALID, Verdict.ERROR
_CHECK_NAME_SET = frozenset(CHECK_NAMES)


@dataclass(frozen=True)
class Report:
    checks: list[CheckResult]
    credential: (
        dict  # {"id", "type", "issuer": {"id", "name", "agency": {"code", "name"}}, "anchoredAt"} as far as known
    )

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.checks)

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    def to_json(self, language: str = "en") -> dict:
        return {
            "verdict": self.verdict.value,
            "checks": [c.to_json(language) for c in self.checks],
            "credential": self.credential,
        }
