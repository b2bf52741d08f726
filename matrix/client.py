"""The checks' HTTP client: every call bounded by the check's deadline, fan-out in threads.

Runs in the unpatched driver process. A call that would pass the deadline raises
``CheckTimeout``, which the plugin records as a ``timeout`` cell (and restarts the server).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


FORM = "application/x-www-form-urlencoded"


class CheckTimeout(Exception):
    """The check did not finish within its bound."""


@dataclass
class Exchange:
    """One request answered to the closed connection: status, Set-Cookie values, JSON body."""

    status: int
    cookies: list[str]
    body: Any


class LiveClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    def _remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CheckTimeout(f"check exceeded its {self.timeout:g} s bound")
        return remaining

    @contextmanager
    def bounded(self, path: str) -> Iterator[None]:
        """Turn a socket timeout inside the block into ``CheckTimeout`` naming ``path``."""
        try:
            yield
        except TimeoutError as exc:
            raise CheckTimeout(f"{path}: no answer within the check's {self.timeout:g} s bound") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise CheckTimeout(f"{path}: no answer within {self.timeout:g} s") from exc
            raise

    def open(
        self, path: str, params: Mapping[str, Any] | None = None, form: Mapping[str, str] | None = None
    ) -> Any:
        """GET (or POST ``form``) and return the unread response, an HTTP error response too.
        Call inside ``bounded(path)``, which also covers reading it."""
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            return urllib.request.urlopen(url, data=data, timeout=self._remaining())
        except urllib.error.HTTPError as exc:
            return exc

    def request(
        self, path: str, params: Mapping[str, Any] | None = None, form: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        """GET (or POST ``form``) and return status and body; HTTP errors are returned too."""
        with self.bounded(path), self.open(path, params, form) as response:
            return int(response.getcode()), response.read()

    def exchange_until_closed(
        self, path: str, params: Mapping[str, Any], body: bytes = b"", content_type: str = FORM
    ) -> Exchange:
        """POST ``body`` with ``Connection: close`` and read until the server closes the socket.

        Servers close the connection only after their per-request cleanup (draining or discarding
        an unread body, closing the input), so returning from here means that cleanup is over:
        the moment "after the response" is then the same under every server, not a race.
        """
        host, port = self.base_url.removeprefix("http://").split(":")
        head = (
            f"POST {path}?{urllib.parse.urlencode(params)} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        chunks = []
        try:
            with socket.create_connection((host, int(port)), timeout=self._remaining()) as sock:
                sock.sendall(head.encode() + body)
                while data := sock.recv(65536):
                    chunks.append(data)
                    sock.settimeout(self._remaining())
        except TimeoutError as exc:
            raise CheckTimeout(f"{path}: connection not closed within {self.timeout:g} s") from exc
        raw_head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        cookies = [
            value.split(";", 1)[0].strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
            if name.strip().lower() == "set-cookie"
        ]
        try:
            parsed = json.loads(payload)
        except json.JSONDecodeError:
            raise AssertionError(f"{path} answered non-JSON {payload[:200]!r}") from None
        return Exchange(int(lines[0].split()[1]), cookies, parsed)

    def json_until_closed(self, path: str, params: Mapping[str, Any], form: Mapping[str, str]) -> Any:
        """``exchange_until_closed`` with a form, returning the JSON body."""
        return self.exchange_until_closed(path, params, urllib.parse.urlencode(form).encode()).body

    def json(
        self, path: str, params: Mapping[str, Any] | None = None, form: Mapping[str, str] | None = None
    ) -> Any:
        status, body = self.request(path, params, form)
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            raise AssertionError(f"{path} answered {status} with non-JSON {body[:200]!r}") from None

    def json_lines(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        _, body = self.request(path, params)
        return [json.loads(line) for line in body.decode().splitlines() if line.strip()]

    def concurrently(self, call: Callable[[T], R], inputs: Iterable[T]) -> list[R]:
        """Run ``call`` on every input at once (one client thread each), results in input order."""
        items = list(inputs)
        pool = ThreadPoolExecutor(max_workers=max(1, len(items)))
        try:
            futures = [pool.submit(call, item) for item in items]
            done, pending = wait(futures, timeout=self._remaining(), return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    raise error
            if pending:
                raise CheckTimeout(f"{len(pending)} of {len(items)} requests still pending")
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def calibrate(base_url: str, ready_answer: bytes, timeout: float) -> dict[str, Any] | None:
    """Run the calibration the app announced in its ``/ready`` answer, once per server process.

    The matrix's app set answers ``{"calibrate": {"path": ..., "requests": N}}``: N concurrent
    requests to that path measure how many requests the server runs inside the app at once,
    which the app's gates then use (see ``apps.gate.ServerCapacity``). Every answer reports the
    one figure the wave measured; returns it, or None for an app that announces nothing (a
    project's own app).
    """
    try:
        ready = json.loads(ready_answer) if ready_answer else None
    except json.JSONDecodeError:
        return None
    plan = ready.get("calibrate") if isinstance(ready, dict) else None
    if not isinstance(plan, dict):
        return None
    client = LiveClient(base_url, timeout)
    path, count = str(plan["path"]), int(plan["requests"])
    wave = f"calibrate-{time.monotonic_ns()}"
    answers = client.concurrently(lambda _: client.json(path, {"wave": wave, "size": count}), range(count))
    measured: dict[str, Any] = answers[0]
    if not (isinstance(measured, dict) and measured.get("measured")) or any(a != measured for a in answers):
        raise AssertionError(f"calibration at {path} failed: {measured!r}")
    return measured
