"""A total deadline per HTTP request to an OPA server.

requests' timeout bounds each socket operation, not the request: a server that drips one byte
every few seconds would hold a run forever. Here every request gets a watchdog that shuts the
request's sockets down when its deadline passes; the blocked read then fails, and the request
raises requests' ReadTimeout, which the callers already report as "did not answer within Ns".
Sockets are tracked by the connection classes below, per thread (each worker thread has its own
client), so the watchdog reaches exactly the connections of the request it guards, retries and
reconnects included.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import requests
import urllib3
from opa_client import OpaClient
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection


class _Watch:
    """The sockets of one request, shut down once its deadline has passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[Any] = []
        self._lock = threading.Lock()

    def add(self, sock: Any) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)  # a retry or reconnect after the deadline must not wait either

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: Any) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_local = threading.local()


def _track(sock: Any) -> None:
    watch: _Watch | None = getattr(_local, "watch", None)
    if watch is not None and sock is not None:
        watch.add(sock)


class _TrackedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _track(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self.sock)  # a kept-alive connection: connect() is not called again
        super().request(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _track(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self.sock)
        super().request(*args, **kwargs)


class _Pool(urllib3.HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TLSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections the watchdog can reach (proxied ones too)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(*args, **kwargs)
        manager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
        return manager


class DeadlineSession(requests.Session):
    """A requests Session whose every request, body included, ends within `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.mount("http://", DeadlineAdapter())
        self.mount("https://", DeadlineAdapter())

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if getattr(_local, "watch", None) is not None:  # a redirect: the first request's deadline holds
            return super().send(request, **kwargs)
        watch = _Watch(self.seconds)
        _local.watch = watch
        timer = threading.Timer(self.seconds, watch.expire)
        timer.daemon = True
        started = time.monotonic()
        timer.start()
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException:
            if watch.expired:
                raise _timeout(self.seconds, started) from None
            raise
        finally:
            timer.cancel()
            _local.watch = None
        if watch.expired:  # a body cut short by the watchdog can look complete: never trust it
            raise _timeout(self.seconds, started)
        return response


def _timeout(seconds: float, started: float) -> requests.exceptions.ReadTimeout:
    return requests.exceptions.ReadTimeout(f"no complete answer within {seconds:g}s "
                                           f"(gave up after {time.monotonic() - started:.1f}s)")


class DeadlineOpaClient(OpaClient):  # type: ignore[misc]  # opa_client ships no type information
    """opa-python-client's OpaClient on a DeadlineSession (its retries, headers and TLS settings kept)."""

    def __init__(self, *, deadline: float, **kwargs: Any) -> None:
        self._deadline = deadline
        super().__init__(**kwargs)

    def _init_session(self) -> requests.Session:
        plain: requests.Session = super()._init_session()
        session = DeadlineSession(self._deadline)
        session.headers = plain.headers
        session.verify = plain.verify
        session.cert = plain.cert
        for prefix, adapter in plain.adapters.items():
            session.mount(prefix, DeadlineAdapter(max_retries=getattr(adapter, "max_retries", 0)))
        plain.close()
        return session
