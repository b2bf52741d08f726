"""Versions: which distributions a cell depends on, what is installed, and the one range rule.

The rule, used by every row ranged on a version (a check's ``applies`` marker, a deviation or
note, an advice row, an axis pin): **a pre-release, post-release or local version counts as its
release**. 3.2.0.dev0, 3.2.0rc1, 3.2.0.post1 and 3.2.0+local are all 3.2.0 inside a range: a
build of Flask's main branch already carries the changes of the release it leads to (so
``>=3.2`` holds for it and ``<3.2`` does not), and a locally patched 3.1.3 is still 3.1.3. A
string that is no version, or an absent distribution, is inside no range.

Imports only the standard library and ``packaging``: tox's own interpreter reads it (``toxfile.py``
through the axis).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

DISTRIBUTIONS = (
    "flask",
    "werkzeug",
    "greenlet",
    "gevent",
    "eventlet",
    "asgiref",
    "hypercorn",
    "waitress",
    "gunicorn",
    "uvicorn",
    "a2wsgi",
    "pyuwsgi",
    "granian",
    "blinker",
    "sqlalchemy",
)
"""The distributions whose versions go into every record, and on which a row may be ranged."""
RANGED = ("python", *DISTRIBUTIONS)
"""What a version range may be keyed on."""
EVERY_COLUMN = ("python", "flask", "werkzeug")
"""The versions every column names; a model and a server add their own distributions."""

Versions = Mapping[str, str | None]
"""Distribution name -> installed version (None where absent)."""


class RangeError(ValueError):
    """A version range that ``packaging`` cannot read."""


@dataclass(frozen=True)
class VersionRange:
    """A range of versions as written in a data file or marker (``>=3.2``, ``>=3.0,<3.1.2``)."""

    text: str
    specifiers: SpecifierSet

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        try:
            return cls(text, SpecifierSet(text))
        except InvalidSpecifier:
            raise RangeError(f"{text!r} is not a version range") from None

    def __contains__(self, version: object) -> bool:
        found = release(version) if isinstance(version, (str, Version)) else None
        return found is not None and found in self.specifiers

    def __str__(self) -> str:
        return self.text


def release(version: str | Version) -> Version | None:
    """The release a version counts as (see the module's rule), or None for no version."""
    try:
        parsed = version if isinstance(version, Version) else Version(version)
    except InvalidVersion:
        return None
    return Version(parsed.base_version)


def installed_versions() -> dict[str, str | None]:
    """Python and the distributions the cells depend on, as installed here (None if absent)."""
    import platform

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in DISTRIBUTIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions
