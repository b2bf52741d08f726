"""Records round-trip, are written atomically, and bad files are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matrix.records import CheckResult, Record, RecordError, read_record, read_records, write_record


def sample() -> Record:
    return Record(
        "gevent",
        "gevent",
        "gevent.pywsgi",
        {"python": "3.11.7", "flask": "3.1.3"},
        [CheckResult("isolation", "t", "pass", 0.5, {"in_flight": 100})],
        complete=True,
    )


def test_round_trip(tmp_path: Path) -> None:
    """What is written is what is read back."""
    write_record(tmp_path / "r.json", sample())
    assert read_record(tmp_path / "r.json") == sample()


def test_rewrite_leaves_no_temporary_files(tmp_path: Path) -> None:
    """Rewriting replaces the file whole and leaves nothing else in the folder."""
    for _ in range(3):
        write_record(tmp_path / "r.json", sample())
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema": "flask-context-matrix/record/2", "checks": [', "not JSON"),
        ('{"schema": "other/1"}', "schema 'other/1' is not"),
        ("[]", "not a record"),
        ('{"schema": "flask-context-matrix/record/2", "checks": []}', "field 'environment'"),
    ],
    ids=["truncated", "wrong-schema", "not-an-object", "missing-field"],
)
def test_bad_record_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    """Corrupt, truncated and wrong-schema files raise RecordError naming the file."""
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(RecordError) as info:
        read_record(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_unknown_outcome_is_refused(tmp_path: Path) -> None:
    """An outcome outside the vocabulary is refused."""
    data = sample().to_json()
    data["checks"][0]["outcome"] = "mostly-fine"
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(RecordError, match="unknown outcome 'mostly-fine'"):
        read_record(tmp_path / "r.json")


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    """No records at all is an error, not an empty table."""
    with pytest.raises(RecordError, match="no records found"):
        read_records([tmp_path])
