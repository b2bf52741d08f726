"""The checks' HTTP client: every call bounded by the check's deadline, in the modes checks need.

Runs in the unpatched driver process. A call that would pass the deadline raises ``CheckTimeout``,
which the plugin records as a ``timeout`` cell (and restarts the server). Modes beyond a plain
request: many requests at once (``concurrently``), several requests on one HTTP/1.1 keep-alive
connection (``keep_alive``), one request on a connection of its own (``get_once``), a request sent
and read until the server closes the connection (``exchange_until_closed``), a response read to the end
of its announced length or cut short (``to_the_end``), and a streamed response left after its
first chunk (``first_chunk_then_leave``).
"""

from __future__ import annotations

import email.message
import http.client
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
READ_SIZE = 65536


class CheckTimeout(Exception):
    """The check did not finish within its bound."""


@dataclass
class Exchange:
    """One request answered to the closed connection: status, Set-Cookie values, JSON body."""

    status: int
    cookies: list[str]
    body: Any


@dataclass
class Answer:
    """One response on a connection the client chose: the JSON body, the headers (case-insensitive:
    ASGI servers lower-case them) and the client's local port, which names the connection."""

    body: Any
    headers: email.message.Message
    local_port: int


def quick_ack(sock: socket.socket) -> None:
    """Acknowledge the response's segments at once (Linux). A server that writes a streamed
    response's head and chunks separately, with Nagle on, holds each small write until the
    previous one is acknowledged, which the client's delayed ACK defers by up to 40 ms: 33
    keep-alive requests then take 1.4 s of waiting for nothing the check observes. The setting
    lapses as the kernel sees fit, so it is renewed before every response."""
    option = getattr(socket, "TCP_QUICKACK", None)
    if option is not None:
        sock.setsockopt(socket.IPPROTO_TCP, option, 1)


class LiveClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        host, port = base_url.removeprefix("http://").split(":")
        self._address = (host, int(port))

    def _remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CheckTimeout(f"check exceeded its {self.timeout:g} s bound")
        return remaining

    def _url(self, path: str, params: Mapping[str, Any] | None) -> str:
        return f"{path}?{urllib.parse.urlencode(params)}" if params else path

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
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET (or POST ``form``) and return the unread response, an HTTP error response too.
        Call inside ``bounded(path)``, which also covers reading it."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base_url + self._url(path, params), data, dict(headers or {}))
        try:
            return urllib.request.urlopen(request, timeout=self._remaining())
        except urllib.error.HTTPError as exc:
            return exc

    def request(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """GET (or POST ``form``) and return status and body; HTTP errors are returned too."""
        with self.bounded(path), self.open(path, params, form, headers) as response:
            return int(response.getcode()), response.read()

    def to_the_end(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[int, str]:
        """GET ``path``: the status, and whether the body arrived whole (``complete``) or the server
        closed the connection short of the Content-Length it had announced (``incomplete``)."""
        with self.bounded(path), self.open(path, params) as response:
            try:
                response.read()
            except http.client.IncompleteRead:
                return int(response.getcode()), "incomplete"
            return int(response.getcode()), "complete"

    def json(
        self, path: str, params: Mapping[str, Any] | None = None, form: Mapping[str, str] | None = None
    ) -> Any:
        status, body = self.request(path, params, form)
        return _json(path, status, body)

    def json_lines(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        _, body = self.request(path, params)
        return [json.loads(line) for line in body.decode().splitlines() if line.strip()]

    def send(self, path: str, params: Mapping[str, Any]) -> Callable[[], int]:
        """GET ``path`` on a connection of its own and return as soon as the request is on the
        wire: the connection is established, so the server's accept queue holds it ahead of any
        connection opened after this returns, and a server that serves its queue in order starts
        this request first. Calling the result waits for the answer (bounded), reads it, closes
        the connection and returns the status."""
        conn = http.client.HTTPConnection(*self._address, timeout=self._remaining())
        try:
            conn.request("GET", self._url(path, params), headers={"Connection": "close"})
        except BaseException:
            conn.close()
            raise

        def answer() -> int:
            try:
                assert conn.sock is not None
                conn.sock.settimeout(self._remaining())
                quick_ack(conn.sock)
                response = conn.getresponse()
                response.read()
                return int(response.status)
            except TimeoutError as exc:
                raise CheckTimeout(f"{path}: no answer within the check's {self.timeout:g} s bound") from exc
            finally:
                conn.close()

        return answer

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

    @contextmanager
    def keep_alive(self) -> Iterator[Callable[[str, Mapping[str, Any]], Answer]]:
        """One HTTP/1.1 connection for several requests: yields ``get(path, params)``, each GET on
        that same connection, acknowledged at once (see ``quick_ack``)."""
        conn = http.client.HTTPConnection(*self._address, timeout=self._remaining())
        try:
            yield lambda path, params: self._get(conn, path, params, close=False)
        finally:
            conn.close()

    def get_once(self, path: str, params: Mapping[str, Any]) -> Answer:
        """GET on a connection of its own, which the client closes after the response."""
        conn = http.client.HTTPConnection(*self._address, timeout=self._remaining())
        try:
            return self._get(conn, path, params, close=True)
        finally:
            conn.close()

    def _get(
        self, conn: http.client.HTTPConnection, path: str, params: Mapping[str, Any], close: bool
    ) -> Answer:
        conn.timeout = self._remaining()
        if conn.sock is not None:
            conn.sock.settimeout(conn.timeout)
        headers = {"Connection": "close"} if close else {}
        try:
            conn.request("GET", self._url(path, params), headers=headers)
            assert conn.sock is not None
            local_port = conn.sock.getsockname()[1]
            quick_ack(conn.sock)
            response = conn.getresponse()
            raw = response.read()
        except TimeoutError as exc:
            raise CheckTimeout(f"{path}: no answer within the check's {self.timeout:g} s bound") from exc
        return Answer(_json(path, response.status, raw), response.headers, local_port)

    def exchange_until_closed(
        self, path: str, params: Mapping[str, Any], body: bytes = b"", content_type: str = FORM
    ) -> Exchange:
        """POST ``body`` with ``Connection: close`` and read until the server closes the socket.

        Servers close the connection only after their per-request cleanup (draining or discarding
        an unread body, closing the input), so returning from here means that cleanup is over:
        the moment "after the response" is then the same under every server, not a race.
        """
        host, port = self._address
        head = (
            f"POST {self._url(path, params)} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        chunks = []
        try:
            with socket.create_connection(self._address, timeout=self._remaining()) as sock:
                sock.sendall(head.encode() + body)
                while data := sock.recv(READ_SIZE):
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

    def first_chunk_then_leave(self, path: str, params: Mapping[str, Any], first: bytes) -> bytes:
        """GET ``path``, read until ``first`` and the end of its line have arrived (or the server
        closed), then close the socket: a client that leaves mid-stream. Returns what it read."""
        host, port = self._address
        head = f"GET {self._url(path, params)} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        received = b""
        try:
            with socket.create_connection(self._address, timeout=self._remaining()) as sock:
                sock.sendall(head.encode())
                while first not in received or not received.rstrip(b" ").endswith(b"\n"):
                    data = sock.recv(READ_SIZE)
                    if not data:
                        break
                    received += data
                    sock.settimeout(self._remaining())
        except TimeoutError as exc:
            raise CheckTimeout(f"{path}: first chunk not received within {self.timeout:g} s") from exc
        return received


def _json(path: str, status: int, body: bytes) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise AssertionError(f"{path} answered {status} with non-JSON {body[:200]!r}") from None
