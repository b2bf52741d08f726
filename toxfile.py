"""tox plugin: each environment's Flask comes from matrix/axis.toml, never from tox.ini.

``flask31-gevent`` installs the axis's 3.1 release plus the pins its version needs;
``custom-gevent`` installs ``$FLASK_SPEC`` (a version, a wheel, a source folder or a VCS
requirement) the same way. The model factor (threads, gevent, ...) stays in tox.ini.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from tox.config.loader.memory import MemoryLoader
from tox.plugin import impl
from tox.report import HandledError

sys.path.insert(0, str(Path(__file__).parent))
from matrix.axis import FlaskSpecError, load_axis, parse_flask_spec

FLASK_FACTOR = re.compile(r"^flask(?P<major>\d)(?P<minor>\d+)$")


def flask_spec_for(env_name: str) -> str | None:
    """The Flask spec an environment name asks for, or None if it names no Flask."""
    for factor in env_name.split("-"):
        found = FLASK_FACTOR.match(factor)
        if found:
            minor = f"{found['major']}.{found['minor']}."
            matches = [v for v in load_axis().default if v.startswith(minor)]
            if not matches:
                raise HandledError(f"{env_name}: no Flask {minor}x in matrix/axis.toml's default axis")
            return matches[0]
        if factor == "custom":
            # tox loads every environment's configuration, selected or not: an unset FLASK_SPEC
            # is reported when a custom environment runs (its commands_pre), not here.
            return os.environ.get("FLASK_SPEC", "").strip() or None
    return None


@impl
def tox_add_env_config(env_conf: Any, state: Any) -> None:
    spec = flask_spec_for(env_conf.name)
    if spec is None:
        return
    try:
        requirements = parse_flask_spec(spec).requirements(load_axis())
    except FlaskSpecError as exc:
        raise HandledError(f"{env_conf.name}: {exc}") from None
    env_conf.loaders.insert(0, MemoryLoader(deps="\n".join(requirements)))
