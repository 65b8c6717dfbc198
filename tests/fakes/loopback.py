"""A real HTTP(S) server on 127.0.0.1 for the live-pricing fakes.

Each fake provider registers one `handle(request) -> Reply` function; the server adds what every
test needs around it: an injected latency per request, scripted faults (throttle, 5xx, a hang past
the client's timeout, a malformed body) consumed in order before normal service resumes, and a log
of every request so tests can assert what the real SDK sent.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        """An AWS query-protocol body (EC2): Action=...&Param=..."""
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass(slots=True)
class Reply:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass(slots=True)
class Fault:
    """One scripted misbehaviour, used once, in order."""

    status: int = 500
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0  # sleep before answering (longer than the client's read timeout)


Handler = Callable[[Request], Reply]
HOLD_LIMIT = 30.0  # a held answer goes out after this anyway, so a broken test fails instead of hanging


class LoopbackServer:
    def __init__(self, handle: Handler, tls: bool = False, latency: float = 0.0) -> None:
        self.handle = handle
        self.latency = latency
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.gate: threading.Event | None = None  # set by hold(): answers wait until it is set
        self._lock = threading.Lock()
        self.cert_file: str | None = None
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.requests.append(request)
                    fault = server.faults.pop(0) if server.faults else None
                gate = server.gate
                if gate is not None:
                    gate.wait(HOLD_LIMIT)
                if server.latency:
                    time.sleep(server.latency)
                if fault is not None:
                    if fault.hang_seconds:
                        time.sleep(fault.hang_seconds)
                    reply = Reply(fault.status, fault.body, fault.headers)
                else:
                    try:
                        reply = server.handle(request)
                    except Exception as error:  # a broken fake must fail loudly in the test
                        reply = Reply(599, f"fake handler crashed: {error!r}")
                payload = reply.encoded()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = do_PUT = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        if tls:
            self.cert_file, key_file = _self_signed_cert()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert_file, key_file)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def hold(self) -> threading.Event:
        """Keep every answer waiting until the returned event is set, so a test can line callers up
        behind an in-flight request without guessing how long they take to arrive."""
        self.gate = threading.Event()
        return self.gate

    def wait_for_requests(self, count: int, path: str | None = None, limit: float = HOLD_LIMIT) -> None:
        """Block until `count` requests (to `path`, if given) have arrived; AssertionError after `limit`."""
        give_up = time.monotonic() + limit
        while sum(1 for request in self.requests if path is None or request.path == path) < count:
            assert time.monotonic() < give_up, f"fewer than {count} requests arrived within {limit:g}s"
            time.sleep(0.005)


_CERT_CACHE: dict[str, tuple[str, str]] = {}


def _self_signed_cert() -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 (made once per test session)."""
    if "pair" in _CERT_CACHE:
        return _CERT_CACHE["pair"]
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = Path(tempfile.mkdtemp(prefix="tollgate-fake-tls-"))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    _CERT_CACHE["pair"] = (str(cert_file), str(key_file))
    return _CERT_CACHE["pair"]
