"""The expectations file is validated up front; bad rows are one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from matrix.expectations import ExpectationsError, load_expectations

ROW = """
[[deviation]]
check = "bare_worker"
models = ["gevent"]
{extra}
observed.request = {{ raises = "RuntimeError", message = "Working outside of request context." }}
reason = "a reason"
cite = ["https://example.invalid/source"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expectations.toml"
    path.write_text(text)
    return path


def test_packaged_file_is_valid() -> None:
    """The expectations shipped with the matrix load and every row has a reason and a source."""
    expectations = load_expectations()
    assert expectations.deviations
    assert all(d.reason and d.cite for d in expectations.deviations)


def test_row_applies_within_its_version_range(tmp_path: Path) -> None:
    """A row keyed on a Flask range applies inside it and not outside."""
    expectations = load_expectations(write(tmp_path, ROW.format(extra='flask = ">=3.1"')))
    assert expectations.lookup("bare_worker", "gevent", {"flask": "3.1.3"}) is not None
    assert expectations.lookup("bare_worker", "gevent", {"flask": "3.0.3"}) is None
    assert expectations.lookup("bare_worker", "threads", {"flask": "3.1.3"}) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[deviation]\ncheck = 1", "not valid TOML"),
        (ROW.format(extra="").replace("bare_worker", "no_such_check"), "names unknown check 'no_such_check'"),
        (ROW.format(extra='flask = ">>3"'), "flask = '>>3' is not a version range"),
        (ROW.format(extra="").replace('["gevent"]', '["trio"]'), "models must be a list of"),
        (ROW.format(extra="").replace('reason = "a reason"', ""), "lacks 'reason'"),
        (ROW.format(extra='colour = "red"'), "unknown keys ['colour']"),
    ],
    ids=["syntax", "unknown-check", "bad-range", "unknown-model", "no-reason", "unknown-key"],
)
def test_malformed_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    """Each kind of malformed file raises ExpectationsError with one line naming the problem."""
    with pytest.raises(ExpectationsError) as info:
        load_expectations(write(tmp_path, text))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_overlapping_rows_are_refused(tmp_path: Path) -> None:
    """Two rows applying to one cell is an error, never a silent pick."""
    expectations = load_expectations(write(tmp_path, ROW.format(extra="") * 2))
    with pytest.raises(ExpectationsError, match="2 deviations apply to bare_worker under gevent"):
        expectations.lookup("bare_worker", "gevent", {"flask": "3.1.3"})
