"""The W3C CCG VC API verifier endpoints: ``POST /credentials/verify`` and ``POST /presentations/verify``.

``POST /credentials/verify`` — body ``{"verifiableCredential": VC, "options": {...}}``:

* **A bare credential** gets the checks ``proof`` (its Data Integrity proofs: eddsa-jcs-2022 or
  eddsa-rdfc-2022, did:key verification methods), ``dataModel`` (VC 2.0: ``ledger.protocol.data_model``),
  ``validity`` (``validFrom`` <= now <= ``validUntil``) and ``status`` (its Bitstring Status List
  entries, read from the lists they name: ``ledger.verification.status_list_fetch``). The anchor check does not
  run, and the answer says so in ``warnings`` (``ANCHOR_NOT_CHECKED``).
* **A bundle** (``verifiableCredential`` is a CertLedger bundle), or a credential with its anchor
  receipt in ``options.anchor``, gets CertLedger's six checks (``ledger.verification.verify``: format,
  integrity, anchor, issuer, status, validity — status and permission read from the chain), named
  ``format``, ``proof``, ``anchor``, ``issuer``, ``status``, ``validity``; the full report is in
  ``report``.

``options.checks`` chooses among those names (an unknown name is a 400). The answer is
``{"verified", "checks" (the checks that ran), "warnings", "errors"}``; each warning and error is
``{"check", "code", "member"?, "message"}``. Status: 200 when verified; 422 when a check failed;
503 (``Retry-After``) when nothing failed but a check could not decide (``UNDECIDED_CODES``: the
chain or a status list that could not be read). Not deciding is not "not verified": the same
request may verify a moment later, so it is not a 4xx (which tells a client not to send it again
unchanged), and never a 200. A check that crashed (``INTERNAL_ERROR`` in the report) is a bug of
this verifier, not an undecided check: :class:`CheckCrashed`, which the endpoint answers 500.

``POST /presentations/verify`` — body ``{"verifiablePresentation": VP, "options": {"challenge",
"domain", "checks"?}}``: the presentation's ``proof`` (an ``authentication`` proof whose
``challenge`` is ``options.challenge``, which is required, and whose ``domain`` holds
``options.domain`` when given; signed by the ``holder`` when the presentation names one) and its
``dataModel``; then each embedded credential as a bare credential (``credentialResults``, one
per credential, in order; their failures are also the presentation's errors, with the member
``verifiableCredential[i]…``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from http_common.problem import Problem
from ledger.protocol.bundle import BUNDLE_TYPE, BUNDLE_VERSION
from ledger.protocol.data_integrity import AUTHENTICATION, controller_of, verify_data_integrity
from ledger.protocol.data_model import (
    DataModelError,
    check_credential_data_model,
    check_presentation_data_model,
)
from ledger.protocol.datetimes import DateTimeFormatError, parse_xsd_datetime
from ledger.protocol.proof import ProofVerificationError
from ledger.verification.report import Status, Verdict

BARE_CHECKS = ("proof", "dataModel", "validity", "status")
BUNDLE_CHECKS = ("format", "proof", "anchor", "issuer", "status", "validity")
PRESENTATION_CHECKS = ("proof", "dataModel", "validity", "status")
_SIX = {
    "format": "format",
    "proof": "integrity",
    "anchor": "anchor",
    "issuer": "issuer",
    "status": "status",
    "validity": "validity",
}
# What an answer's warnings and errors name as their "check" ("report": the full verdict of the six checks).
ANSWER_CHECKS = ("format", "proof", "dataModel", "anchor", "issuer", "status", "validity", "report")
# The codes of a check that could not decide: the only errors of a 503.
CHAIN_UNAVAILABLE, STATUS_LIST_UNAVAILABLE = "CHAIN_UNAVAILABLE", "STATUS_LIST_UNAVAILABLE"
UNDECIDED_CODES = frozenset({CHAIN_UNAVAILABLE, STATUS_LIST_UNAVAILABLE})


class CheckCrashed(Exception):
    """One of the six checks raised (the report says ERROR, INTERNAL_ERROR): a bug, answered 500."""


class Outcome:
    """What one verification found; ``to_json`` is the VC API answer."""

    def __init__(self) -> None:
        self.checks: list[str] = []
        self.errors: list[dict] = []
        self.warnings: list[dict] = []
        self.undecided = False  # a check could not decide (ERROR), nothing proven wrong by it

    def ran(self, check: str) -> None:
        if check not in self.checks:
            self.checks.append(check)

    def error(self, check: str, code: str, message: str, member: str | None = None) -> None:
        self.errors.append(_entry(check, code, message, member))

    def warn(self, check: str, code: str, message: str, member: str | None = None) -> None:
        self.warnings.append(_entry(check, code, message, member))

    @property
    def verified(self) -> bool:
        return not self.errors and not self.undecided

    def status_code(self) -> int:
        if self.verified:
            return 200
        if self.undecided and all(e.get("undecided") for e in self.errors):
            return 503
        return 422

    def to_json(self) -> dict:
        return {
            "verified": self.verified,
            "checks": list(self.checks),
            "warnings": [_public(w) for w in self.warnings],
            "errors": [_public(e) for e in self.errors],
        }


def _entry(check: str, code: str, message: str, member: str | None) -> dict:
    out = {"check": check, "code": code, "message": message}
    if member is not None:
        out["member"] = member
    return out


def _public(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "undecided"}


def _bad_request(detail: str, code: str = "BAD_REQUEST") -> Problem:
    return Problem(400, code, detail, "Malformed request")


def _options(body: Mapping) -> dict:
    options = body.get("options", {})
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise _bad_request("options must be an object")
    return dict(options)


def _chosen(options: Mapping, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    checks = options.get("checks")
    if checks is None:
        return default
    if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
        raise _bad_request("options.checks must be an array of check names")
    unknown = [c for c in checks if c not in allowed]
    if unknown:
        raise _bad_request(f"unknown check {unknown[0]!r}: this endpoint runs {', '.join(allowed)}", "CHECK_UNKNOWN")
    return tuple(dict.fromkeys(checks))


def is_bundle(document: object) -> bool:
    return isinstance(document, Mapping) and document.get("type") == BUNDLE_TYPE and "credential" in document


# ------------------------------------------------------------------------------ the checks


def check_proof(
    outcome: Outcome,
    document: object,
    *,
    purpose: str = "assertionMethod",
    prefix: str = "",
    challenge: str | None = None,
    domain: str | None = None,
    now: datetime | None = None,
    plain_json: bool = False,
):
    outcome.ran("proof")
    try:
        return verify_data_integrity(
            document, purpose=purpose, challenge=challenge, domain=domain, now=now, plain_json=plain_json
        )
    except ProofVerificationError as exc:
        outcome.error("proof", exc.code, exc.reason, prefix + "proof")
        return None


def check_data_model(outcome: Outcome, document: object, *, presentation: bool = False, prefix: str = "") -> None:
    outcome.ran("dataModel")
    unchecked: list[str] = []
    try:
        if presentation:
            check_presentation_data_model(document)
        else:
            check_credential_data_model(document, unchecked_resources=unchecked)
    except DataModelError as exc:
        for v in exc.violations:
            outcome.error("dataModel", v.code, v.reason, prefix + v.member if v.member else prefix.rstrip("."))
    for url in unchecked:
        outcome.warn(
            "dataModel",
            "RELATED_RESOURCE_NOT_CHECKED",
            f"the digest of {url} was checked for its form only: this verifier does not have its bytes",
            prefix + "relatedResource",
        )


def check_validity(outcome: Outcome, document: object, now: datetime, prefix: str = "") -> None:
    outcome.ran("validity")
    if not isinstance(document, Mapping):
        return
    dates = {}
    for name in ("validFrom", "validUntil"):
        if name in document:
            try:
                if not isinstance(document[name], str):
                    raise DateTimeFormatError("must be a string")
                dates[name] = parse_xsd_datetime(document[name])
            except DateTimeFormatError as exc:
                outcome.error("validity", "DATE_INVALID", f"is not an XML Schema dateTimeStamp: {exc}", prefix + name)
    vf, vu = dates.get("validFrom"), dates.get("validUntil")
    if vf and vu and vu < vf:
        outcome.error("validity", "VALIDITY_INVERTED", "validUntil is earlier than validFrom", prefix + "validUntil")
    elif vf and now < vf:
        outcome.error("validity", "NOT_YET_VALID", f"valid only from {document['validFrom']}", prefix + "validFrom")
    elif vu and now > vu:
        outcome.error("validity", "EXPIRED", f"expired at {document['validUntil']}", prefix + "validUntil")


def check_status_lists(outcome: Outcome, document: object, fetcher, now: datetime, prefix: str = "") -> None:
    outcome.ran("status")
    if not isinstance(document, Mapping):
        return
    for finding in fetcher.check(document, now):
        if finding.ok:
            continue
        member = prefix + finding.member
        if not finding.error:
            outcome.warn("status", finding.code, finding.message, member)
        elif finding.code == STATUS_LIST_UNAVAILABLE:
            outcome.undecided = True
            outcome.errors.append({**_entry("status", finding.code, finding.message, member), "undecided": True})
        else:
            outcome.error("status", finding.code, finding.message, member)


# ------------------------------------------------------------------------------ credentials


def verify_bare(credential: object, checks: tuple[str, ...], fetcher, now: datetime, prefix: str = "") -> Outcome:
    """The checks a credential without an anchor gets (see the module)."""
    outcome = Outcome()
    proof_ok = True
    if "proof" in checks:
        proof_ok = check_proof(outcome, credential, prefix=prefix, now=now) is not None
    if "dataModel" in checks:
        check_data_model(outcome, credential, prefix=prefix)
    if "validity" in checks:
        check_validity(outcome, credential, now, prefix)
    if "status" in checks:
        if proof_ok:  # a status list is fetched only for a credential whose proof holds
            check_status_lists(outcome, credential, fetcher, now, prefix)
        else:
            outcome.ran("status")
            outcome.warn(
                "status",
                "STATUS_NOT_CHECKED",
                "the status lists were not read: the proof did not verify",
                prefix + "credentialStatus",
            )
    return outcome


def verify_six(service, bundle: dict, checks: tuple[str, ...]) -> tuple[Outcome, dict]:
    """CertLedger's six checks of a bundle, reported as the VC API answers."""
    report = service.verify_now(json.dumps(bundle, ensure_ascii=False).encode("utf-8"))
    outcome = Outcome()
    results = {c.name: c for c in report.checks}
    for result in report.checks:  # asked for or not: a crash is never reported as a verdict
        if result.status is Status.ERROR and result.code not in UNDECIDED_CODES:
            raise CheckCrashed(f"the {result.name} check failed: {result.data.get('detail', result.code)}")
    for name in checks:
        result = results[_SIX[name]]
        outcome.ran(name)
        member = result.data.get("field") if isinstance(result.data.get("field"), str) else None
        if result.status is Status.VALID:
            continue
        if result.status is Status.ERROR:
            outcome.undecided = True
            outcome.errors.append({**_entry(name, result.code, result.message, member), "undecided": True})
        else:
            outcome.error(name, result.code, result.message, member)
    if report.verdict is not Verdict.VALID and not outcome.errors and not outcome.undecided:
        outcome.warn(
            "report",
            "VERDICT_" + report.verdict.value,
            f"the full CertLedger verdict is {report.verdict.value}: a check not asked for did not pass",
        )
    return outcome, report.to_json()


def _request(body: object, member: str, usage: str) -> Mapping:
    """The request object of a VC API verify call: ``member`` and optionally ``options``, no more."""
    if not isinstance(body, Mapping):
        raise _bad_request(usage)
    if member not in body:
        raise _bad_request(f"the request has no {member}")
    unknown = sorted(set(body) - {member, "options"})
    if unknown:
        raise _bad_request(f"unknown member {unknown[0]!r}")
    return body


def _anchor_not_checked(outcome: Outcome) -> None:
    outcome.warn(
        "anchor",
        "ANCHOR_NOT_CHECKED",
        "the credential came without its anchor receipt: the anchor, "
        "the issuer's authority on chain and the chain status were not checked (send the bundle, or "
        "options.anchor, for CertLedger's six checks)",
    )


def verify_credential_body(body: object, service, fetcher, now: datetime | None = None) -> tuple[int, dict]:
    """``POST /credentials/verify``: (HTTP status, answer); :class:`Problem` for a malformed request."""
    body = _request(body, "verifiableCredential", 'send {"verifiableCredential": {...}, "options": {...}}')
    options = _options(body)
    document = body["verifiableCredential"]
    now = now or datetime.now(UTC)
    anchor = options.get("anchor")
    if is_bundle(document) or anchor is not None:
        if anchor is not None and not isinstance(anchor, Mapping):
            raise _bad_request("options.anchor must be the anchor object of the credential's bundle")
        bundle = (
            dict(document)
            if is_bundle(document)
            else {"type": BUNDLE_TYPE, "version": BUNDLE_VERSION, "credential": document, "anchor": anchor}
        )
        checks = _chosen(options, BUNDLE_CHECKS, BUNDLE_CHECKS)
        outcome, report = verify_six(service, bundle, checks)
        answer = outcome.to_json()
        answer["report"] = report
        return outcome.status_code(), answer
    if not isinstance(document, Mapping):
        raise _bad_request("verifiableCredential must be a JSON object")
    checks = _chosen(options, BARE_CHECKS + ("anchor",), BARE_CHECKS)
    outcome = verify_bare(document, tuple(c for c in checks if c != "anchor"), fetcher, now)
    if "anchor" in checks:
        outcome.ran("anchor")
        outcome.error("anchor", "NOT_ANCHORED", "no anchor receipt: send the bundle, or the anchor in options.anchor")
    else:
        _anchor_not_checked(outcome)
    return outcome.status_code(), outcome.to_json()


def verify_credential_proof_only(document: object, plain_json: bool = False) -> tuple[int, dict]:
    """The fast path of ``checks: ["proof"]`` on a bare credential (no I/O, no JSON-LD for
    eddsa-jcs-2022): the same answer as :func:`verify_credential_body` would give."""
    outcome = Outcome()
    check_proof(outcome, document, plain_json=plain_json)
    _anchor_not_checked(outcome)
    return outcome.status_code(), outcome.to_json()


# ---------------------------------------------------------------------------- presentations


def verify_presentation_body(body: object, fetcher, now: datetime | None = None) -> tuple[int, dict]:
    """``POST /presentations/verify``: (HTTP status, answer); :class:`Problem` for a malformed request."""
    body = _request(
        body,
        "verifiablePresentation",
        'send {"verifiablePresentation": {...}, "options": {"challenge": …, "domain": …}}',
    )
    options = _options(body)
    checks = _chosen(options, PRESENTATION_CHECKS, PRESENTATION_CHECKS)
    challenge, domain = options.get("challenge"), options.get("domain")
    if challenge is not None and not isinstance(challenge, str):
        raise _bad_request("options.challenge must be a string")
    if domain is not None and not isinstance(domain, str):
        raise _bad_request("options.domain must be a string")
    vp = body["verifiablePresentation"]
    if not isinstance(vp, Mapping):
        raise _bad_request("verifiablePresentation must be a JSON object")
    now = now or datetime.now(UTC)
    outcome = Outcome()
    if "proof" in checks:
        if challenge is None:
            outcome.ran("proof")
            outcome.error(
                "proof",
                "CHALLENGE_REQUIRED",
                "options.challenge is required: a presentation proves "
                "possession only against a challenge this verifier chose",
                "options.challenge",
            )
        else:
            proofs = check_proof(outcome, vp, purpose=AUTHENTICATION, challenge=challenge, domain=domain, now=now)
            holder = vp.get("holder")
            holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
            if (
                proofs
                and holder_id is not None
                and any(controller_of(p.verification_method) != holder_id for p in proofs)
            ):
                outcome.error(
                    "proof",
                    "HOLDER_MISMATCH",
                    "the presentation is not signed by a key of its holder",
                    "proof.verificationMethod",
                )
    if "dataModel" in checks:
        check_data_model(outcome, vp, presentation=True)
    results = []
    credentials = vp.get("verifiableCredential", [])
    for i, vc in enumerate(credentials if isinstance(credentials, list) else [credentials]):
        prefix = f"verifiableCredential[{i}]." if isinstance(credentials, list) else "verifiableCredential."
        if not isinstance(vc, Mapping):
            result = Outcome()
            result.error(
                "dataModel", "PRESENTATION_CREDENTIAL_INVALID", "must be a credential object", prefix.rstrip(".")
            )
        else:
            result = verify_bare(vc, tuple(c for c in checks if c in BARE_CHECKS), fetcher, now, prefix)
        results.append(result)
        for name in result.checks:
            outcome.ran(name)
        outcome.errors.extend(result.errors)
        outcome.warnings.extend(result.warnings)
        outcome.undecided = outcome.undecided or result.undecided
    answer = outcome.to_json()
    answer["credentialResults"] = [r.to_json() for r in results]
    return outcome.status_code(), answer


__all__ = [
    "ANSWER_CHECKS",
    "BARE_CHECKS",
    "BUNDLE_CHECKS",
    "CheckCrashed",
    "Outcome",
    "UNDECIDED_CODES",
    "is_bundle",
    "verify_bare",
    "verify_credential_body",
    "verify_credential_proof_only",
    "verify_presentation_body",
]
