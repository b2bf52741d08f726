"""One applicability rule everywhere: a pre-release, post-release or local version counts as its
release, for a check's applies marker, a deviation or note, an advice row and an axis pin alike."""

from __future__ import annotations

import pytest
from packaging.version import Version

from matrix.axis import load_axis
from matrix.scope import Scope, parse_ranges
from matrix.versions import RangeError, VersionRange, release


@pytest.mark.parametrize(
    ("version", "counts_as"),
    [
        ("3.2.0.dev0", "3.2.0"),
        ("3.2.0rc1", "3.2.0"),
        ("3.2.0a3", "3.2.0"),
        ("3.1.3+local", "3.1.3"),
        ("3.1.3.post1", "3.1.3"),
        ("3.1.3", "3.1.3"),
    ],
)
def test_a_version_counts_as_its_release(version: str, counts_as: str) -> None:
    """Whatever its suffix, a version is its release inside a range."""
    assert release(version) == Version(counts_as)


@pytest.mark.parametrize(
    ("version", "spec", "inside"),
    [
        ("3.2.0.dev0", ">=3.2", True),  # Flask's main branch already has 3.2's behaviour
        ("3.2.0.dev0", "<3.2", False),
        ("3.2.0rc1", ">=3.2", True),
        ("3.1.3+local", "==3.1.3", True),
        ("3.1.3+local", ">=3.1.2,<3.2", True),
        ("3.1.2", ">=3.1.2", True),
        ("3.1.1", ">=3.1.2", False),
        ("?", ">=0", False),  # not a version: inside no range
    ],
)
def test_range_membership(version: str, spec: str, inside: bool) -> None:
    """A range holds exactly where the version's release is inside it."""
    assert (version in VersionRange.parse(spec)) is inside


def test_absent_distribution_is_inside_no_range() -> None:
    """A range on a distribution that is not installed never holds."""
    assert None not in VersionRange.parse(">=0")


@pytest.mark.parametrize(
    ("versions", "why"),
    [
        ({"flask": "3.2.0.dev0"}, None),
        ({"flask": "3.1.3"}, "needs flask >=3.2; here 3.1.3"),
        ({}, "needs flask >=3.2; here absent"),
    ],
)
def test_scope_says_why_it_excludes_a_cell(versions: dict[str, str | None], why: str | None) -> None:
    """A scope's reason names the failing part (the n/a note of an applies marker)."""
    scope = Scope(("gevent",), (), parse_ranges({"flask": ">=3.2"}))
    assert scope.why_not("gevent", "pywsgi", versions) == why
    assert scope.why_not("threads", "werkzeug", versions) == "only under gevent"


def test_the_same_rule_picks_an_axis_pin() -> None:
    """The axis's pins follow the same rule: a 3.0 pre-release gets Werkzeug 3.0's pin."""
    assert "werkzeug>=3.0,<3.1" in load_axis().pins_for(Version("3.0.0rc1"))


def test_a_bad_range_is_one_error() -> None:
    """A range packaging cannot read names itself."""
    with pytest.raises(RangeError, match="'>>3' is not a version range"):
        VersionRange.parse(">>3")
