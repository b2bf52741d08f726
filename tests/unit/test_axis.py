"""Flask specs in four forms, and the pins each Flask version needs, from matrix/axis.toml."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.version import Version

from matrix.axis import FlaskSpecError, load_axis, parse_flask_spec

ROOT = Path(__file__).resolve().parents[2]


def test_default_axis_is_every_minor_at_its_latest_patch() -> None:
    """The default axis is Flask 2.0 to 3.1, one latest patch per minor."""
    assert load_axis().default == ("2.0.3", "2.1.3", "2.2.5", "2.3.3", "3.0.3", "3.1.3")


@pytest.mark.parametrize(
    ("version", "pins"),
    [
        ("2.0.3", ["blinker>=1.4", "werkzeug>=2.0,<2.1"]),
        ("2.2.5", ["blinker>=1.4", "werkzeug>=2.2,<2.3"]),
        ("2.2.0rc1", ["blinker>=1.4", "werkzeug>=2.2,<2.3"]),
        ("3.1.3", []),
        ("3.2.0.dev0", []),
    ],
)
def test_pins_follow_version_ranges(version: str, pins: list[str]) -> None:
    """Each Flask version gets exactly the pins whose range holds it, pre-releases included."""
    assert load_axis().pins_for(Version(version)) == pins


def test_released_version() -> None:
    """'3.1.1' installs flask[async]==3.1.1."""
    spec = parse_flask_spec("3.1.1")
    assert (spec.kind, spec.requirement, spec.label) == ("version", "flask[async]==3.1.1", "3.1.1")


def test_source_folder_reads_its_version(tmp_path: Path) -> None:
    """A checkout installs from its folder, and its pyproject version selects the pins."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "Flask"\nversion = "2.2.6.dev"\n')
    spec = parse_flask_spec(str(tmp_path))
    assert spec.kind == "folder" and spec.version == Version("2.2.6.dev0")
    assert spec.requirements(load_axis()) == [
        f"flask[async] @ {tmp_path.resolve().as_uri()}",
        "blinker>=1.4",
        "werkzeug>=2.2,<2.3",
    ]


def test_wheel_and_vcs(tmp_path: Path) -> None:
    """A wheel's version comes from its file name; a VCS requirement is passed through unpinned."""
    wheel = tmp_path / "flask-3.0.3-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert parse_flask_spec(str(wheel)).version == Version("3.0.3")
    vcs = parse_flask_spec("git+https://github.com/pallets/flask@main")
    assert (vcs.kind, vcs.version, vcs.requirement) == (
        "vcs",
        None,
        "flask[async] @ git+https://github.com/pallets/flask@main",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("latest", r"is not a version \(3\.1\.1\), a wheel file"),
        ("missing-flask-1.0-py3-none-any.whl", "does not exist"),
    ],
)
def test_bad_specs_are_one_line(spec: str, message: str) -> None:
    """Specs of no known form are refused with one line naming the forms."""
    with pytest.raises(FlaskSpecError, match=message):
        parse_flask_spec(spec)


def test_tox_environments_take_flask_from_the_axis() -> None:
    """toxfile.py maps flask20-gevent to the axis's 2.0 release and ignores other names."""
    pytest.importorskip("tox")
    sys.path.insert(0, str(ROOT))
    try:
        import toxfile
    finally:
        sys.path.remove(str(ROOT))
    assert toxfile.flask_spec_for("flask20-gevent") == "2.0.3"
    assert toxfile.flask_spec_for("flask31-asgi") == "3.1.3"
    assert toxfile.flask_spec_for("report") is None
