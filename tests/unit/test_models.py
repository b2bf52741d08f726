"""The model registry is closed and names its choices."""

from __future__ import annotations

import pytest

from matrix.launch.servers import SERVERS, UnknownServer, check_installed, check_server_names, servers_of
from matrix.models import MODELS, UnknownModel, check_model_name, load_model
from matrix.versions import DISTRIBUTIONS


def test_unknown_model_lists_valid_names() -> None:
    """An unknown name is one line that lists every valid model."""
    with pytest.raises(UnknownModel) as info:
        check_model_name("trio")
    assert str(info.value) == "unknown model 'trio': choose one of threads, gevent, eventlet, asgi"


def test_registry_order_is_table_order() -> None:
    """Columns follow the registry: threads, gevent, eventlet, asgi."""
    assert list(MODELS) == ["threads", "gevent", "eventlet", "asgi"]


def test_threads_model_loads_without_patching() -> None:
    """Loading the threads model imports nothing that patches the runtime."""
    model = load_model("threads")
    assert model.name == "threads"


def test_every_model_has_servers_and_the_first_is_its_default() -> None:
    """Servers group under their model; unknown or foreign server names are one clear line."""
    assert servers_of("gevent") == ["pywsgi", "gunicorn-gevent", "uwsgi-gevent"]
    assert check_server_names("threads", "all") == [
        "werkzeug",
        "waitress",
        "gunicorn-gthread",
        "gunicorn-sync",
        "uwsgi-threads",
        "granian-wsgi",
    ]
    with pytest.raises(UnknownServer, match="unknown server 'pywsgi' for model 'threads'"):
        check_server_names("threads", "pywsgi")


def test_every_distribution_a_column_names_is_recorded() -> None:
    """The distributions a model or server names with its columns are among those every record
    holds the versions of, so no column names a version it did not record."""
    named = {d for info in MODELS.values() for d in info.distributions}
    named |= {d for info in SERVERS.values() for d in info.distributions}
    assert named <= set(DISTRIBUTIONS)


def test_a_server_whose_distribution_is_missing_is_one_line_naming_the_extra() -> None:
    """Before any server starts, a chosen server that is not installed is refused with the extra
    that installs it; installed servers pass."""
    installed = {"flask": "3.1.3", "werkzeug": "3.1.3", "waitress": "3.0.2", "gunicorn": None}
    check_installed("threads", ["werkzeug", "waitress"], installed)
    with pytest.raises(UnknownServer) as refused:
        check_installed("threads", ["werkzeug", "gunicorn-gthread"], installed)
    assert str(refused.value).startswith(
        "threads: gunicorn-gthread needs gunicorn, not installed here: "
        "pip install 'flask-context-matrix[threads]'"
    )
    with pytest.raises(UnknownServer, match=r"pywsgi needs gevent, greenlet, not installed"):
        check_installed("gevent", ["pywsgi"], {"gevent": None, "greenlet": None})
