"""Copied contexts: copy_current_request_context with bodies, files, session, g, teardown,
executors, repeated and concurrent calls, and async functions.

``late`` variants use the closed-connection protocol of ``test_copy_context_late``: the response
is read until the server closes the socket, one more round trip is served, and only then is the
parked worker released, so "after the response" is the same moment under every server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from matrix.client import FORM, Exchange, LiveClient
from matrix.plugin.verdict import Verdict

MARKER = "copied"
READS = {"args": {"value": MARKER}, "session": {"value": MARKER}}
BOUNDARY = "matrix-copied-boundary"


def late(
    live: LiveClient, path: str, params: Mapping[str, Any], body: bytes = b"", content_type: str = FORM
) -> tuple[Exchange, Any]:
    """Park a worker past the response, wait until the server is done with the request, then
    release the worker; returns the parked response and what the worker observed."""
    token = uuid.uuid4().hex
    parked = live.exchange_until_closed(
        path, {**params, "timing": "late", "token": token}, body, content_type
    )
    assert parked.body.get("parked") is True, parked.body
    assert live.json("/ready")["ok"] is True  # the server's cleanup after the close is over too
    return parked, live.json("/copied/result", {"token": token})["observed"]


def multipart(content: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload"; filename="u.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\n{content}\r\n--{BOUNDARY}--\r\n"
    ).encode()


COPIED_IDEAL = {"args": {"value": MARKER}, "form": {"value": "posted"}, "session": {"value": MARKER}}


def test_copy_context_joined(live: LiveClient, verdict: Verdict) -> None:
    """A copy_current_request_context worker joined inside the view reads args, form and session."""
    body = live.json("/copied/request-data", {"timing": "joined", "marker": MARKER}, form={"field": "posted"})
    verdict.compare(COPIED_IDEAL, body["observed"])


def test_copy_context_late(live: LiveClient, verdict: Verdict) -> None:
    """A copied-context worker that runs only after the server has finished with the request
    (response read to the closed connection, one more round trip served) reads the same."""
    _, observed = late(live, "/copied/request-data", {"marker": MARKER}, b"field=posted")
    verdict.compare(COPIED_IDEAL, observed)


def test_copy_context_form_parsed(live: LiveClient, verdict: Verdict) -> None:
    """A copied-context worker running after the response reads a form the view had parsed."""
    parked, observed = late(live, "/copied/form-parsed", {"marker": MARKER}, b"field=posted")
    verdict.compare({"form": {"value": "posted"}}, observed, view=parked.body.get("view"))


@pytest.mark.parametrize("variant", ["joined", "late"])
def test_copy_context_unparsed_body(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """A copied-context worker reads a raw body the view never read, joined or after the response."""
    params, body, kind = {"marker": MARKER}, b"raw-body", "application/octet-stream"
    if variant == "late":
        _, observed = late(live, "/copied/unparsed-body", params, body, kind)
    else:
        observed = live.exchange_until_closed(
            "/copied/unparsed-body", {**params, "timing": "joined"}, body, kind
        )
        observed = observed.body["observed"]
    verdict.compare({"body": {"value": "raw-body"}}, observed)


@pytest.mark.parametrize("variant", ["view_after_worker", "worker_late"])
def test_copy_context_files(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """An upload parsed in the view stays readable: by the view after a copied-context worker
    finished, and by a worker reading it after the response."""
    params = {"marker": MARKER, "variant": variant}
    body, kind = multipart("payload"), f"multipart/form-data; boundary={BOUNDARY}"
    if variant == "worker_late":
        _, observed = late(live, "/copied/files", params, body, kind)
        verdict.compare({"file": {"value": "payload"}}, observed)
    else:
        observed = live.exchange_until_closed(
            "/copied/files", {**params, "timing": "joined"}, body, kind
        ).body
        verdict.compare(
            {"worker": {"value": MARKER}, "view_read": {"value": "payload"}}, observed["observed"]
        )


@pytest.mark.parametrize("variant", ["joined", "late"])
def test_copy_context_session_write(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """A session write by a copied-context worker reaches the response's cookie, joined or late."""
    marker = f"w-{uuid.uuid4().hex[:8]}"
    params = {"marker": marker}
    if variant == "late":
        response, observed = late(live, "/copied/session-write", params)
    else:
        response = live.exchange_until_closed("/copied/session-write", {**params, "timing": "joined"})
        observed = response.body["observed"]
    cookie = "; ".join(response.cookies)
    status, body = live.request("/copied/session-read", headers={"Cookie": cookie} if cookie else {})
    verdict.compare(
        {"write": {"value": True}, "cookie_has_write": True},
        {**observed, "cookie_has_write": json.loads(body).get("w") == marker},
        set_cookie=bool(response.cookies),
        read_status=status,
    )


def test_copy_context_g(live: LiveClient, verdict: Verdict) -> None:
    """A copied-context worker shares the view's ``g``: it reads what the view set, and the view
    reads what it set."""
    body = live.json("/copied/g", {"marker": MARKER})
    verdict.compare(
        {"worker_sees_view_g": {"value": MARKER}, "view_sees_worker_g": "from-worker"}, body["observed"]
    )


def test_copy_context_teardown_count(live: LiveClient, verdict: Verdict) -> None:
    """teardown_request runs once for a request whose copied-context worker outlives the response:
    once when the response is done, and not again when the worker finishes."""
    token = uuid.uuid4().hex
    parked = live.exchange_until_closed(
        "/copied/teardown", {"marker": MARKER, "timing": "late", "token": token}
    )
    assert parked.body.get("parked") is True, parked.body
    assert live.json("/ready")["ok"] is True
    after_response = live.json("/copied/teardown-count", {"token": token})["calls"]
    worker = live.json("/copied/result", {"token": token})["observed"]
    after_worker = live.json("/copied/teardown-count", {"token": token, "forget": 1})["calls"]
    verdict.compare(
        {"after_response": 1, "after_worker": 1, "worker": {"args": {"value": MARKER}}},
        {"after_response": after_response, "after_worker": after_worker, "worker": worker},
    )


def test_copy_context_executor(live: LiveClient, verdict: Verdict) -> None:
    """A copied-context function submitted to a ThreadPoolExecutor reads args and session."""
    body = live.json("/copied/executor", {"marker": MARKER})
    verdict.compare({"result": {"value": READS}}, {"result": body["observed"]})


def test_copy_context_called_twice(live: LiveClient, verdict: Verdict) -> None:
    """The same copied-context function, run by two workers one after the other, reads args and
    session both times."""
    body = live.json("/copied/called-twice", {"marker": MARKER})
    verdict.compare({"first": {"value": READS}, "second": {"value": READS}}, body["observed"])


def test_copy_context_concurrent(live: LiveClient, verdict: Verdict) -> None:
    """The same copied-context function in two workers at once (the first returns while the
    second is still inside) reads args in both, and both return cleanly."""
    body = live.json("/copied/concurrent", {"marker": MARKER})
    verdict.compare(
        {"first": {"value": MARKER}, "second": {"value": MARKER}},
        body["observed"],
        in_order=body["in_order"],
    )


ASYNC_COPY = "copy_current_request_context runs async functions since Flask 2.1"


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param("worker", marks=pytest.mark.applies(flask=">=2.1", reason=ASYNC_COPY)),
        pytest.param("awaited", marks=pytest.mark.applies(flask=">=2.1", reason=ASYNC_COPY)),
        pytest.param("run_in_executor", marks=pytest.mark.applies(flask=">=2.1", reason=ASYNC_COPY)),
    ],
)
def test_copy_context_async(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """An ``async def`` copied-context function reads args and session, called from a worker,
    awaited inside an async view, or handed by one to ``loop.run_in_executor``."""
    body = live.json(f"/copied/async-{variant}", {"marker": MARKER})
    verdict.compare({"result": {"value": READS}}, {"result": body["observed"]})
