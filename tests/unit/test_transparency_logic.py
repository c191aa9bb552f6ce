"""The transparency section's pure pieces: cursors, periods, the summary fold, compromised keys, the
server-drawn charts (every text escaped) and the CSV cells a spreadsheet must not run."""

from __future__ import annotations

import datetime as dt

import pytest

from verifier.transparency import (
    TransparencyError,
    _decode_positions,
    _encode_positions,
    _fold_agencies,
    _Row,
    _Summary,
    decode_cursor,
    encode_cursor,
    period_start,
)
from verifier.transparency_api import _cell
from verifier.transparency_charts import _nice_max, bar_chart, hbar_chart, key_timeline

AGENCY = b"\x01" * 32
T0 = 1_765_000_000  # 2025-12-06T05:46:40Z, a Saturday


def row(name: str, block: int, value: int = 0, *, ts: int = T0, key: bytes = b"", reason: int = 0, extra: str = ""):
    return _Row("dep", block, 0, "0x" + "ab" * 32, ts, name, AGENCY, key, value, reason, extra, "机构 <b>")


def test_cursors_round_trip_and_anything_else_is_a_400_naming_the_cursor():
    assert decode_cursor(encode_cursor([5, 7]), (int, int)) == [5, 7]
    for bad in ("", "not-a-cursor", encode_cursor([5]), encode_cursor(["5", 7]), encode_cursor([True, 7]), "x" * 500):
        with pytest.raises(TransparencyError) as err:
            decode_cursor(bad, (int, int))
        assert err.value.status == 400 and err.value.field == "cursor"
    positions = {"a": [1, 2], "b": [3, 4]}
    assert _decode_positions(_encode_positions(positions), "after") == positions
    for bad in (encode_cursor([["a", 1]]), encode_cursor([[1, 2, 3]]), encode_cursor({"a": 1}), "%%%"):
        with pytest.raises(TransparencyError) as err:
            _decode_positions(bad, "after")
        assert err.value.field == "after"


def test_periods_are_utc_days_and_iso_weeks_from_monday():
    day = period_start(T0, "day")
    assert dt.datetime.fromtimestamp(day, dt.UTC).isoformat() == "2025-12-06T00:00:00+00:00"
    week = dt.datetime.fromtimestamp(period_start(T0, "week"), dt.UTC)
    assert week.isoformat() == "2025-12-01T00:00:00+00:00" and week.weekday() == 0
    assert period_start(int(week.timestamp()), "week") == int(week.timestamp())


def test_the_summary_counts_anchors_and_changes_by_day_and_reason():
    summary = _Summary(generation=0)
    for r in (
        row("AgencyRegistered", 1, extra="edu"),
        row("Anchored", 2, 100),
        row("Anchored", 3, 50, ts=T0 + 86_400),
        row("StatusChanged", 4, 2, reason=1),
        row("StatusChanged", 5, 1, reason=5),
        row("StatusChanged", 6, 0, reason=4),
        row("RootStatusChanged", 7, 2, reason=2),
    ):
        summary.apply(r)
    assert summary.codes == {AGENCY: "edu"}
    totals = summary.totals[AGENCY]
    assert (totals["batches"], totals["credentials"]) == (2, 150)
    assert (totals["revocations"], totals["suspensions"], totals["reinstatements"], totals["batchRevocations"]) == (
        1,
        1,
        1,
        1,
    )
    assert summary.days[AGENCY][T0 // 86_400 * 86_400] == [100, 1, 4]  # the four changes share T0's day
    assert summary.reasons[AGENCY][("batch", "revoked", 2)] == 1


def test_a_key_revoked_as_of_a_past_time_is_compromised():
    rows = [
        row("AgencyRegistered", 1, extra="edu"),
        row("KeyAdded", 2, T0 - 100, key=b"\x02" * 32),
        row("KeyAdded", 3, T0 - 100, key=b"\x03" * 32),
        row("KeyRevoked", 4, T0 - 50, key=b"\x02" * 32),  # as of before the revocation was recorded (T0)
        row("KeyRevoked", 5, T0, key=b"\x03" * 32),  # as of the moment it was recorded
        row("OperatorAdded", 6, 1, extra="0xop"),
        row("OperatorRemoved", 7, 0, extra="0xop"),
        row("AgencyActiveChanged", 8, 0),
    ]
    (agency,) = _fold_agencies(rows)
    keys = {k["publicKey"][:4]: k for k in agency["keys"]}
    assert keys["0x02"]["compromised"] is True and keys["0x03"]["compromised"] is False
    assert keys["0x03"]["revokedAt"] is not None
    assert agency["operators"] == [] and agency["active"] is False and agency["name"] == "机构 <b>"


def test_every_text_in_a_chart_is_escaped():
    evil = '<script>alert("x")</script>&'
    for svg in (
        bar_chart([evil, "b"], [(evil, "#000", [1, 2])], evil),
        hbar_chart([(evil, 3, "#000")], evil),
        key_timeline(
            [
                {
                    "publicKey": evil,
                    "validFrom": evil,
                    "revokedAt": None,
                    "revocationRecordedAt": None,
                    "compromised": False,
                    "addedAt": "2025-01-01T00:00:00Z",
                }
            ],
            T0,
            evil,
            (evil, evil, evil),
        ),
    ):
        assert "<script>" not in svg and "&lt;script&gt;" in svg and svg.startswith("<svg")


def test_axis_tops_are_four_whole_steps():
    for value in range(0, 5000, 7):
        top = _nice_max(value)
        assert top >= value and top % 4 == 0 and (value < 5 or top < 2.6 * value)


def test_csv_cells_never_start_a_formula():
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("+1") == "'+1" and _cell("@x") == "'@x" and _cell("-2") == "'-2"
    assert _cell(5) == "5" and _cell(None) == "" and _cell(True) == "true" and _cell("杭州") == "杭州"
