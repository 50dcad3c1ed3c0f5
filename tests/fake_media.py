"""A fake provider media host (UIS ``app.uiscom.ru/system/media/…``) on a real local server.

``FakeMedia`` listens on ``127.0.0.1`` on a free port, in a thread, and serves recordings the
test gave it, honouring ``Range`` (one range: 206 with ``Content-Range``; past the end: 416).
Paths can also redirect, fail with a status, answer late, stall in the middle of the body, or
send the body without a length. Every request is recorded (method, path, headers), so a
test can prove the provider was asked, or never asked. With ``tls=True`` it speaks HTTPS
with a self-signed certificate for ``localhost`` and ``127.0.0.1`` (``ca_file`` trusts it);
``sni_names`` then lists the names clients sent in their TLS handshake.

Use it as a context manager; ``url(path)`` is the address of a path on it.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from trubka.calls.audio import make_tone_wav

WAV = make_tone_wav(1.0)  # 8 kHz mono 16-bit: 16,044 bytes
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Served:
    data: bytes
    content_type: str = "audio/wav"
    status: int | None = None  # answer this status instead of the data
    delay: float = 0.0  # wait this long before answering
    stall_after: int | None = None  # send this many body bytes, then stop sending
    hide_length: bool = False  # no Content-Length: the body ends when the connection closes


@dataclass
class _Redirect:
    location: str
    status: int = 302


@dataclass
class FakeMedia:
    tls: bool = False
    files: dict[str, Served] = field(default_factory=dict)
    redirects: dict[str, _Redirect] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    sni_names: list[str | None] = field(default_factory=list)
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # --- what it serves ---------------------------------------------------------------------

    def add(
        self,
        path: str,
        data: bytes = WAV,
        content_type: str = "audio/wav",
        **behaviour: object,
    ) -> str:
        self.files[path] = Served(data, content_type, **behaviour)  # type: ignore[arg-type]
        return self.url(path)

    def fail(self, path: str, status: int) -> str:
        self.files[path] = Served(b"<html><body>error</body></html>", "text/html", status=status)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.redirects[path] = _Redirect(location, status)
        return self.url(path)

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first (use it in a with block)"
        return self._server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def paths_requested(self) -> list[str]:
        with self._lock:
            return [seen.path for seen in self.requests]

    # --- the server ---------------------------------------------------------------------------

    def __enter__(self) -> FakeMedia:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        if self.tls:
            self._server.socket = self._tls_context().wrap_socket(
                self._server.socket, server_side=True
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _tls_context(self) -> ssl.SSLContext:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self._tmp = tempfile.TemporaryDirectory()
        cert_file = Path(self._tmp.name) / "cert.pem"
        key_file = Path(self._tmp.name) / "key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.ca_file = cert_file
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)

        def remember_sni(_sock: object, server_name: str | None, _ctx: object) -> None:
            with self._lock:
                self.sni_names.append(server_name)

        context.sni_callback = remember_sni  # type: ignore[assignment]
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this server's certificate (and nothing else)."""
        assert self.ca_file is not None, "only for tls=True, once started"
        return ssl.create_default_context(cafile=str(self.ca_file))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with fake._lock:
                    fake.requests.append(Seen("GET", self.path, dict(self.headers.items())))
                if path in fake.redirects:
                    redirect = fake.redirects[path]
                    self.send_response(redirect.status)
                    self.send_header("Location", redirect.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                served = fake.files.get(path)
                if served is None:
                    self._plain(404, b"not found")
                    return
                if served.delay and fake._stop.wait(served.delay):
                    return
                if served.status is not None:
                    self._plain(served.status, served.data, served.content_type)
                    return
                self._serve(served)

            def _plain(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _serve(self, served: Served) -> None:
                data, size = served.data, len(served.data)
                status, start, end = 200, 0, size - 1
                match = _RANGE.match(self.headers.get("Range", "").strip())
                if match and (match.group(1) or match.group(2)):
                    first, last = match.groups()
                    if first:
                        start = int(first)
                        end = min(int(last), size - 1) if last else size - 1
                    else:
                        start, end = max(size - int(last), 0), size - 1
                    if start >= size or start > end:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                body = data[start : end + 1]
                self.send_response(status)
                self.send_header("Content-Type", served.content_type)
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                if served.hide_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if served.stall_after is not None:
                    self.wfile.write(body[: served.stall_after])
                    self.wfile.flush()
                    fake._stop.wait(60)
                    return
                self.wfile.write(body)

        return Handler
