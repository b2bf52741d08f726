"""flask-context-matrix: how Flask's context machinery behaves under each concurrency model.

This package must stay import-light: ``python -m matrix.launch.child`` imports it before the runtime is
monkey-patched, so nothing here may import Flask, Werkzeug, threading helpers or a model library.
"""

from __future__ import annotations

__version__ = "0.1.0"
