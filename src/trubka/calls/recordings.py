"""Recordings kept at the provider: the guarded fetch.

UIS (and CoMagic, CallGear, Novofon, which share its platform) hands out recording links that
anyone holding them can fetch without authentication, and that may expire (uis-api notes
§2.5). So the links are treated as secrets: the browser never sees one. Playback goes through
``calls:recording``, which streams the provider's audio (``calls.playback``), and, with
``TRUBKA_RECORDING_ARCHIVE``, the worker copies the audio into storage soon after the link
arrives (``calls.archive``); a stored copy is always preferred. Both fetch with
``open_recording``.

Every fetch passes the same guard, so a link cannot make Trubka reach into its own network
(server-side request forgery):

- only ``http``/``https`` links, without credentials in them;
- the host must match ``TRUBKA_RECORDING_HOSTS`` (exact names, or ``*.example.ru`` for any
  subdomain of ``example.ru``);
- the host name is resolved once, here, and every address it resolves to must be public
  (not private, loopback, link-local, reserved, shared …) unless
  ``TRUBKA_RECORDING_ALLOW_PRIVATE`` is on; unspecified and multicast addresses never pass;
- the connection then goes to the address that was checked (see ``CheckedLink``), so a second DNS
  answer cannot swap in another address between the check and the connection (DNS
  rebinding);
- redirects are followed by hand, at most ``MAX_REDIRECTS``, each new location checked the
  same way;
- connect/read timeouts (``TIMEOUT``) and a size cap (``TRUBKA_RECORDING_MAX_BYTES``);
- the answer must be audio: a provider page in HTML is never passed on under Trubka's origin.

Failures are ``RecordingError`` subclasses: they carry an English reason for logs and event
errors (the host may appear, the link never does), a message for the person playing, the HTTP
status Trubka answers with (502, or 504 for a timeout), and whether trying again later may help.
"""

from __future__ import annotations

import functools
import ipaddress
import mimetypes
import re
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import TracebackType

import httpx
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from trubka.core.addresses import parse_ip

MAX_REDIRECTS = 3
#: Waiting for the provider: to connect, and between two pieces of the answer.
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
CHUNK = 64 * 1024

_REDIRECTS = {301, 302, 303, 307, 308}
_RANGE = re.compile(r"bytes=[0-9 ,\-]{1,100}")
_CONTENT_RANGE_TOTAL = re.compile(r"^bytes\s+(?:\d+-\d+|\*)/(\d+)\s*$")
# What may be passed on as the type of a recording. Anything else (an HTML page, JSON) is not
# a recording, and served under Trubka's origin it could run script.
_AUDIO_TYPES = re.compile(r"^(audio/[\w.+-]+|video/[\w.+-]+|application/(ogg|octet-stream))$")
_EXTENSIONS = {
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/vnd.wave": ".wav",
    "audio/ogg": ".ogg",
    "application/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/webm": ".webm",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/flac": ".flac",
}


# Failures.


class RecordingError(Exception):
    """The recording could not be fetched. ``str()`` is the reason, never the link."""

    http_status = 502
    temporary = True
    public_message: str | Promise = _("The telephony provider did not give the recording.")

    def __init__(self, reason: str, public_message: str | Promise | None = None) -> None:
        super().__init__(reason)
        if public_message is not None:
            self.public_message = public_message


class RecordingRefused(RecordingError):
    """Trubka will not fetch this link (not allowed, or not a recording); no retry helps."""

    temporary = False
    public_message = _(
        "Trubka refused to fetch this recording: its link points to an address that is not "
        "allowed (see TRUBKA_RECORDING_HOSTS)."
    )


class RecordingTooBig(RecordingRefused):
    public_message = _("The recording is larger than Trubka accepts (TRUBKA_RECORDING_MAX_BYTES).")


class NotAudio(RecordingRefused):
    public_message = _("The telephony provider sent something that is not a recording.")


class RecordingUnavailable(RecordingError):
    """The provider could not be reached or broke off; may work later."""

    public_message = _("The telephony provider could not be reached for the recording.")


class RecordingTimeout(RecordingUnavailable):
    http_status = 504
    public_message = _("The telephony provider took too long to send the recording.")


class ProviderStatusError(RecordingError):
    """The provider answered with an HTTP error."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        # 4xx: the link is wrong, gone or expired, except for «slow down» kinds of answer.
        self.temporary = status_code >= 500 or status_code in (408, 425, 429)
        if status_code in (403, 404, 410):
            message = _(
                "The telephony provider no longer has this recording (the link may have expired)."
            )
        else:
            message = _("The telephony provider failed to give the recording.")
        super().__init__(f"the provider answered HTTP {status_code}", message)


# The guard.


def allowed_host_patterns() -> list[str]:
    """``TRUBKA_RECORDING_HOSTS`` as lower-case patterns (a list or a comma-separated text)."""
    configured = settings.TRUBKA_RECORDING_HOSTS
    items: Iterable[str] = configured.split(",") if isinstance(configured, str) else configured
    return [item.strip().lower().rstrip(".") for item in items if item.strip()]


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``patterns``: exact names, or ``*.domain`` for subdomains.

    ``*.uiscom.ru`` matches ``app.uiscom.ru`` and ``a.b.uiscom.ru``, not ``uiscom.ru`` itself
    (list it too if needed) and not ``eviluiscom.ru``. A lone ``*`` is ignored: allowing every
    host would make Trubka an open proxy into the internet.
    """
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            suffix = pattern[1:]
            if len(suffix) > 1 and host.endswith(suffix) and len(host) > len(suffix):
                return True
        elif pattern and pattern != "*" and host == pattern:
            return True
    return False


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether Trubka may connect to ``address`` for a recording."""
    ip = parse_ip(address)  # ``::ffff:10.0.0.1`` is the IPv4 address it stands for
    if ip is None:
        return False
    if ip.is_unspecified or ip.is_multicast:
        return False
    if allow_private:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        # 6to4 and Teredo addresses carry an IPv4 address, judged too.
        for embedded in (ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if embedded is not None and not address_allowed(str(embedded), allow_private=False):
                return False
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection (the system resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise RecordingUnavailable(f"the host {host} does not resolve") from None
    # A link-local IPv6 answer may carry a zone (``fe80::1%eth0``); the address is what counts.
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


@dataclass(frozen=True)
class CheckedLink:
    """A checked link and the address to reach it at.

    How the address is pinned: the request goes to a URL whose host is the checked IP
    address, so httpx/httpcore open the socket to exactly that address and never resolve the
    name again. Everything else still speaks for the real host name: the ``Host`` header is
    the link's host (and port), and for https the ``sni_hostname`` request extension makes
    httpcore send that name in the TLS handshake (SNI) *and* verify the server certificate
    against it (httpcore passes it as ``server_hostname``; ``check_hostname`` is on). This
    relies only on public httpx/httpcore interfaces, works the same for IPv4 and IPv6, and
    ``trust_env=False`` on the client keeps environment proxies (which would resolve the name
    themselves) out of the way.
    """

    url: httpx.URL
    host: str
    address: str

    @property
    def pinned_url(self) -> httpx.URL:
        return self.url.copy_with(host=self.address)

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")


def check_link(link: str | httpx.URL) -> CheckedLink:
    """Check a link against the guard and resolve it; raises ``RecordingRefused``."""
    try:
        url = httpx.URL(link)
    except (httpx.InvalidURL, TypeError):
        raise RecordingRefused("the link is not a valid URL") from None
    if url.scheme not in ("http", "https"):
        raise RecordingRefused(f"the link's scheme {url.scheme!r} is not http or https")
    if url.userinfo:
        raise RecordingRefused("the link carries credentials")
    host = url.raw_host.decode("ascii").lower().rstrip(".")
    if not host:
        raise RecordingRefused("the link has no host")
    if not host_allowed(host, allowed_host_patterns()):
        raise RecordingRefused(f"the host {host} is not in TRUBKA_RECORDING_HOSTS")
    allow_private = bool(settings.TRUBKA_RECORDING_ALLOW_PRIVATE)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = resolve(host, port)
    if not addresses:
        raise RecordingUnavailable(f"the host {host} has no address")
    refused = [a for a in addresses if not address_allowed(a, allow_private=allow_private)]
    if refused:
        # One bad answer is enough to refuse: it is how rebinding tricks look.
        raise RecordingRefused(
            f"the host {host} is not a public address"
            if refused[0] == host
            else f"the host {host} resolves to a non-public address ({refused[0]})",
            _(
                "Trubka refused to fetch this recording: its link leads to a private "
                "network address."
            ),
        )
    return CheckedLink(url=url, host=host, address=addresses[0])


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def ssl_context() -> ssl.SSLContext:
    """The TLS settings for provider connections (certificate checks on; tests swap this)."""
    return _default_ssl_context()


def max_bytes() -> int:
    return int(settings.TRUBKA_RECORDING_MAX_BYTES)


# The fetch.


class Upstream:
    """An open answer from the provider, streamed. Close it (or use ``with``)."""

    def __init__(self, client: httpx.Client, response: httpx.Response, target: CheckedLink) -> None:
        self.client, self.response, self.target = client, response, target
        self._closed = False

    def __enter__(self) -> Upstream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def full_size(self) -> int | None:
        """The size of the whole recording, when the answer says it."""
        if self.status_code == 206:
            match = _CONTENT_RANGE_TOTAL.match(self.headers.get("content-range", ""))
            return int(match.group(1)) if match else None
        length = self.headers.get("content-length", "")
        return int(length) if length.isdigit() else None

    def check_size(self) -> None:
        size = self.full_size
        if size is not None and size > max_bytes():
            raise RecordingTooBig(f"the recording is {size} bytes, over the cap of {max_bytes()}")

    def audio_type(self, fallback: str = "") -> str:
        """The answer's content type if it is audio; ``NotAudio`` if it is something else.

        ``fallback`` (the type Trubka already knew) is used when the provider names none or
        only says ``application/octet-stream``, provided it is an audio type itself.
        """
        fallback = safe_audio_type(fallback)
        declared = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if not declared or declared == "application/octet-stream":
            return (
                fallback
                or guess_type(str(self.target.url.path))
                or declared
                or "application/octet-stream"
            )
        if not _AUDIO_TYPES.match(declared):
            raise NotAudio(f"the provider sent {declared!r}, not audio")
        return declared

    def iter_bytes(self, *, deadline: float | None = None) -> Iterator[bytes]:
        """The body as it arrives (raw: no decoding), within the size cap and the deadline."""
        cap = max_bytes()
        received = 0
        try:
            for chunk in self.response.iter_raw(CHUNK):
                received += len(chunk)
                if received > cap:
                    raise RecordingTooBig(f"the recording goes past the cap of {cap} bytes")
                if deadline is not None and time.monotonic() > deadline:
                    raise RecordingTimeout("the download took longer than allowed")
                yield chunk
        except httpx.TimeoutException:
            raise RecordingTimeout("the provider stopped sending the recording") from None
        except httpx.HTTPError as exc:
            raise RecordingUnavailable(
                f"the provider broke off the recording ({type(exc).__name__})"
            ) from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.response.close()
        finally:
            self.client.close()


def open_recording(link: str, *, byte_range: str | None = None) -> Upstream:
    """GET a recording link through the guard; returns the first non-redirect answer.

    ``byte_range`` is a ``Range`` header value to pass on (ignored unless it looks like one).
    The answer may have any status; callers decide what they accept.
    """
    headers = {"Accept-Encoding": "identity", "User-Agent": "Trubka (call recordings)"}
    if byte_range and _RANGE.fullmatch(byte_range.strip()):
        headers["Range"] = byte_range.strip()
    location: str | httpx.URL = link
    for _hop in range(MAX_REDIRECTS + 1):
        target = check_link(location)
        client = httpx.Client(
            verify=ssl_context(), timeout=TIMEOUT, follow_redirects=False, trust_env=False
        )
        try:
            request = client.build_request(
                "GET",
                target.pinned_url,
                headers={**headers, "Host": target.host_header},
                extensions={"sni_hostname": target.host} if target.url.scheme == "https" else {},
            )
            response = client.send(request, stream=True)
        except httpx.TimeoutException:
            client.close()
            raise RecordingTimeout(f"{target.host} did not answer in time") from None
        except httpx.HTTPError as exc:
            client.close()
            raise RecordingUnavailable(
                f"{target.host} could not be reached ({type(exc).__name__})"
            ) from None
        except BaseException:
            client.close()
            raise
        if response.status_code not in _REDIRECTS:
            upstream = Upstream(client, response, target)
            try:
                upstream.check_size()
            except BaseException:
                upstream.close()
                raise
            return upstream
        redirect_to = response.headers.get("location", "")
        response.close()
        client.close()
        if not redirect_to:
            raise RecordingUnavailable(f"{target.host} redirected without a location")
        try:
            location = target.url.join(redirect_to)
        except httpx.InvalidURL:
            raise RecordingRefused(f"{target.host} redirected to an invalid URL") from None
    raise RecordingRefused(f"more than {MAX_REDIRECTS} redirects")


def safe_audio_type(content_type: str) -> str:
    """``content_type`` if it is a type a recording may be served as, else empty."""
    value = content_type.split(";")[0].strip().lower()
    return value if _AUDIO_TYPES.match(value) else ""


def guess_type(name: str) -> str:
    """The audio type a file name suggests, or empty (never a type a browser would run)."""
    return safe_audio_type(mimetypes.guess_type(name)[0] or "")


def extension_for(content_type: str, link: str) -> str:
    """A file extension for stored audio: from the type, else the link's path, else none."""
    known = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type or "") or ""
    if known:
        return known
    suffix = PurePosixPath(httpx.URL(link).path).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ""
