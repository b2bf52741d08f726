"""``python -m matrix.launch.uwsgi ARGS``: the real uWSGI server from the ``pyuwsgi`` wheel.

``pyuwsgi`` is uWSGI built as a Python extension module; its own ``uwsgi`` console script is two
lines that call ``pyuwsgi.run()``. An extension module cannot be run with ``python -m``, so the
launcher's child execs this module instead, with uWSGI's real options (see the ``uwsgi-*`` rows of
``matrix.launch.servers``). uWSGI then loads ``matrix.launch.program_app:app`` as any deployment
loads its ``module:callable``.
"""

from __future__ import annotations

import sys

import pyuwsgi

if __name__ == "__main__":
    sys.exit(pyuwsgi.run(sys.argv[1:]))
