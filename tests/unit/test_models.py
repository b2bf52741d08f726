"""The model registry is closed and names its choices."""

from __future__ import annotations

import pytest

from matrix.models import MODELS, UnknownModel, check_model_name, load_model


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
    assert (model.name, model.server) == ("threads", MODELS["threads"].server)
