"""The project's data files (TOML): one reader, one-line errors.

The check catalog (``matrix/areas/``), the version axis and the advice are data; every one is read
here, so the ``tomllib``/``tomli`` choice and the wording of a bad file's error exist once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class DataFileError(ValueError):
    """A data file that cannot be read or is not TOML; the message is one line with the path."""


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{path}: not valid TOML: {exc}") from None
    return data
