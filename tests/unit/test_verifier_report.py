"""The report's JSON text: ``Report.to_json_text`` (cached per check) says exactly what
``json.dumps(report.to_json())`` says, and the verdict follows the rule of docs/protocol.md."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from ledger.verification.report import CHECK_NAMES, CheckResult, Report, Status, Verdict, skipped, valid, verdict_of

_data_values = st.one_of(
    st.text(max_size=12), st.integers(), st.none(), st.lists(st.text(max_size=4), max_size=3)
)  # a list is not hashable: that check is rendered without the cache
_checks = st.lists(
    st.builds(
        CheckResult,
        name=st.sampled_from(CHECK_NAMES),
        status=st.sampled_from(list(Status)),
        code=st.sampled_from(["FORMAT_OK", "SIGNATURE_VALID", "ROOT_NOT_ANCHORED", "REVOKED", "NO_SUCH_CODE"]),
        data=st.dictionaries(st.sampled_from(["reason", "field", "key", "批次"]), _data_values, max_size=3),
    ),
    max_size=7,
)


@given(_checks, st.dictionaries(st.text(max_size=5), st.text(max_size=8), max_size=3))
def test_the_cached_text_is_the_plain_encoding(checks, credential):
    report = Report(checks, credential)
    assert report.to_json_text() == json.dumps(report.to_json(), ensure_ascii=False)
    assert report.to_json_text() == json.dumps(report.to_json(), ensure_ascii=False)  # now from the cache


def test_valid_only_when_all_six_checks_passed():
    all_valid = [valid(name, "OK") for name in CHECK_NAMES]
    assert verdict_of(all_valid) is Verdict.VALID
    assert verdict_of(all_valid[:-1]) is Verdict.INVALID  # one check missing fails closed
    assert verdict_of([*all_valid[:-1], skipped("validity", "status")]) is Verdict.INVALID
    with_error = [*all_valid[:2], CheckResult("anchor", Status.ERROR, "CHAIN_UNREACHABLE"), *all_valid[3:]]
    assert verdict_of(with_error) is Verdict.ERROR
    with_both = [*with_error[:4], CheckResult("status", Status.INVALID, "REVOKED"), with_error[5]]
    assert verdict_of(with_both) is Verdict.INVALID  # a proven defect wins over "could not decide"
