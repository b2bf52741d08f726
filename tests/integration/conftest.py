"""Integration tests start real servers: every model, its own process, 127.0.0.1 only."""

from __future__ import annotations

pytest_plugins = ["pytester"]
