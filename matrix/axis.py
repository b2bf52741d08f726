"""The Flask version axis: default versions, pins as rules, and Flask specs in four forms.

A Flask spec is what a user hands the matrix to test: a released version (``3.1.1``), a wheel
file, a local source folder (a patched checkout) or a VCS requirement (``git+https://...``).
Each becomes one requirement for ``flask[async]`` plus the pins its version needs. This module is
read by ``toxfile.py`` inside tox's own interpreter, so it imports only stdlib and ``packaging``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from matrix.datafile import DataFileError, read_toml
from matrix.versions import RangeError, VersionRange

AXIS_PATH = Path(__file__).with_name("axis.toml")
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")


class FlaskSpecError(ValueError):
    """A Flask spec that is none of the four forms; the message is one line."""


@dataclass(frozen=True)
class Pin:
    flask: VersionRange
    requires: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Axis:
    default: tuple[str, ...]
    pins: tuple[Pin, ...]

    def pins_for(self, version: Version | None) -> list[str]:
        """The pins whose Flask range holds ``version`` (the rule of ``matrix.versions``: a
        pre-release counts as its release, 3.2.0.dev0 as 3.2.0)."""
        if version is None:
            return []
        return [r for pin in self.pins if version in pin.flask for r in pin.requires]


def load_axis(path: Path = AXIS_PATH) -> Axis:
    try:
        data = read_toml(path)
    except DataFileError as exc:
        raise FlaskSpecError(str(exc)) from None
    pins = []
    for raw in data.get("pin", []):
        try:
            pins.append(Pin(VersionRange.parse(raw["flask"]), tuple(raw["requires"]), raw["reason"]))
        except (KeyError, RangeError) as exc:
            raise FlaskSpecError(f"{path}: bad pin row {raw!r}: {exc}") from None
    return Axis(tuple(data["default"]), tuple(pins))


@dataclass(frozen=True)
class FlaskSpec:
    """One Flask to test and how to install it."""

    kind: str
    """``version``, ``wheel``, ``folder`` or ``vcs``."""
    source: str
    version: Version | None
    """Known before installing for versions, wheels and folders; None for VCS requirements."""

    @property
    def requirement(self) -> str:
        if self.kind == "version":
            return f"flask[async]=={self.source}"
        if self.kind == "vcs":
            return f"flask[async] @ {self.source}"
        return f"flask[async] @ {Path(self.source).resolve().as_uri()}"

    @property
    def label(self) -> str:
        """Short, path-free name for tables and environment names."""
        if self.kind == "version":
            return self.source
        return f"{self.kind}:{self.version}" if self.version else self.kind

    def requirements(self, axis: Axis, extra: tuple[str, ...] = ()) -> list[str]:
        """Flask, the pins its version needs, and ``extra`` (``--with``); a pin on a distribution
        that ``extra`` names gives way to it."""
        named = {_name(r) for r in extra}
        return [self.requirement, *(p for p in axis.pins_for(self.version) if _name(p) not in named), *extra]


def _name(requirement: str) -> str:
    """The canonical distribution name a requirement string starts with."""
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", found[1]).lower() if found else requirement


def parse_with(requirements: list[str]) -> tuple[str, ...]:
    """``--with`` requirements, validated: any distribution but Flask (``--flask`` names Flask);
    FlaskSpecError (one line) for one that is not a requirement."""
    from packaging.requirements import InvalidRequirement, Requirement

    parsed = []
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            raise FlaskSpecError(f"--with {text!r} is not a requirement (e.g. werkzeug==2.0.1)") from None
        if _name(requirement.name) == "flask":
            raise FlaskSpecError(f"--with {text!r}: Flask itself is chosen with --flask")
        parsed.append(str(requirement))
    return tuple(parsed)


_WHEEL = re.compile(r"^[Ff]lask-(?P<version>[^-]+)-")
_FOLDER_VERSION = re.compile(r'^version\s*=\s*"(?P<version>[^"]+)"', re.MULTILINE)
_MODULE_VERSION = re.compile(r'^__version__\s*=\s*"(?P<version>[^"]+)"', re.MULTILINE)


def _version(text: str, where: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise FlaskSpecError(f"{where}: {text!r} is not a version") from None


def _folder_version(folder: Path) -> Version | None:
    """Flask's version from a source checkout: pyproject.toml, else src/flask/__init__.py."""
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        found = _FOLDER_VERSION.search(pyproject.read_text(encoding="utf-8"))
        if found:
            return _version(found["version"], str(pyproject))
    for init in (folder / "src/flask/__init__.py", folder / "flask/__init__.py"):
        if init.is_file():
            found = _MODULE_VERSION.search(init.read_text(encoding="utf-8"))
            if found:
                return _version(found["version"], str(init))
    return None


def parse_flask_spec(spec: str) -> FlaskSpec:
    """Classify ``spec``; raises ``FlaskSpecError`` (one line) when it is none of the forms."""
    spec = spec.strip()
    if spec.startswith(VCS_PREFIXES):
        return FlaskSpec("vcs", spec, None)
    path = Path(spec).expanduser()
    if spec.endswith(".whl"):
        if not path.is_file():
            raise FlaskSpecError(f"Flask wheel {spec!r} does not exist")
        found = _WHEEL.match(path.name)
        if not found:
            raise FlaskSpecError(f"{path.name!r} is not a Flask wheel (flask-VERSION-...whl)")
        return FlaskSpec("wheel", str(path), _version(found["version"], path.name))
    if path.is_dir():
        if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
            raise FlaskSpecError(f"folder {spec!r} has no pyproject.toml or setup.py to build Flask from")
        return FlaskSpec("folder", str(path), _folder_version(path))
    try:
        return FlaskSpec("version", str(Version(spec)), Version(spec))
    except InvalidVersion:
        raise FlaskSpecError(
            f"Flask spec {spec!r} is not a version (3.1.1), a wheel file, a source folder "
            f"or a VCS requirement (git+https://...)"
        ) from None
