"""The verification report: one result per check, and the verdict, computed in one place."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

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


def valid(name: str, code: str, **data) -> CheckResult:
    return CheckResult(name, Status.VALID, code, data)


def invalid(name: str, code: str, **data) -> CheckResult:
    return CheckResult(name, Status.INVALID, code, data)


def error(name: str, code: str, **data) -> CheckResult:
    return CheckResult(name, Status.ERROR, code, data)


def skipped(name: str, after: str) -> CheckResult:
    """`name` was not run because the check `after`, which it needs, did not pass."""
    return CheckResult(name, Status.SKIPPED, "SKIPPED", {"after": after})


def verdict_of(checks: list[CheckResult]) -> Verdict:
    """VALID only when all six checks ran and passed; fails closed otherwise.

    INVALID wins over ERROR: a proven defect is reported even when another check could not decide.
    """
    statuses = {c.name: c.status for c in checks}
    if Status.INVALID in statuses.values():
        return Verdict.INVALID
    if Status.ERROR in statuses.values():
        return Verdict.ERROR
    if statuses.keys() == set(CHECK_NAMES) and all(s is Status.VALID for s in statuses.values()):
        return Verdict.VALID
    return Verdict.INVALID  # a missing or skipped check with no failure is still not a pass


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

    def to_json_text(self) -> str:
        """``json.dumps(self.to_json(), ensure_ascii=False)`` (tests/unit/test_verifier_report.py holds
        them equal), a third of the time: a check's text depends only on its name, status, code and
        data, which repeat from bundle to bundle, so each is rendered in two languages and encoded once."""
        parts = []
        for c in self.checks:
            try:
                parts.append(_check_text(c.name, c.status, c.code, tuple(sorted(c.data.items()))))
            except TypeError:  # a list or dict in the data is not hashable: no cache
                parts.append(json.dumps(c.to_json(), ensure_ascii=False))
        credential = json.dumps(self.credential, ensure_ascii=False)
        return f'{{"verdict": "{self.verdict.value}", "checks": [{", ".join(parts)}], "credential": {credential}}}'


@lru_cache(maxsize=50_000)
def _check_text(name: str, status: Status, code: str, data: tuple) -> str:
    return json.dumps(CheckResult(name, status, code, dict(data)).to_json(), ensure_ascii=False)
