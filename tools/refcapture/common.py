"""Shared pieces of the reference-capture harness.

SOAP envelopes in the cwmp-1-0 namespace, splitting a body that holds several envelopes,
HTTP Digest authentication (RFC 7616, MD5, qop="auth") for both sides, a minimal HTTP/1.1
client over a socket bound to a chosen source address (over TLS when asked), and the
generators of the files the file server hands out. Python 3.11 standard library only.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import http.server
import os
import re
import socket
import ssl
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from tlsconfig import ClientTls, ServerTls, answer_close, close_notify, describe

# --- addresses and identities used by every variant -------------------------------------------

#: Loopback address of the CPE (source of every CPE connection, home of its CR server).
CPE_IP = "127.0.0.5"
#: Loopback address and port of the ACS.
ACS_IP, ACS_PORT = "127.0.0.2", 7547
#: Loopback address and port of the file server.
FS_IP, FS_PORT = "127.0.0.3", 80
#: Port of the CPE's Connection Request server.
CR_PORT = 7547
#: Path of the ACS URL.
ACS_PATH = "/cwmp"

MANUFACTURER, OUI, PRODUCT_CLASS, SERIAL = "THOMSON", "00147F", "TG784n", "CP0923JT0XX"


def url_host(ip: str) -> str:
    """An address as it stands in a URL or a Host header (IPv6 in brackets)."""
    return f"[{ip}]" if ":" in ip else ip


def http_server(
    ip: str,
    port: int,
    handler: type[http.server.BaseHTTPRequestHandler],
    tls: ServerTls | None = None,
) -> http.server.ThreadingHTTPServer:
    """A threading HTTP server bound to an IPv4 or an IPv6 address; with `tls`, each accepted
    connection runs its TLS handshake in its own thread before the handler sees it."""

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        daemon_threads = True

        def finish_request(self, request, client_address) -> None:
            if tls is None:
                super().finish_request(request, client_address)
                return
            peer = f"{client_address[0]}:{client_address[1]}"
            try:
                request = tls.context().wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as err:
                log("tls", f"handshake with {peer} failed: {err}")
                return  # socketserver closes the socket
            log("tls", f"{peer}: {describe(request)}")
            try:
                super().finish_request(request, client_address)
            finally:
                answer_close(request)

    return Server((ip, port), handler)

# --- SOAP -------------------------------------------------------------------------------------

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC_NS = "http://schemas.xmlsoap.org/soap/encoding/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CWMP_NS = "urn:dslforum-org:cwmp-1-0"

#: The dateTime TR-069 uses for "unknown".
UNKNOWN_TIME = "0001-01-01T00:00:00Z"

#: Content-Type of every HTTP message that carries SOAP.
SOAP_CONTENT_TYPE = 'text/xml; charset="utf-8"'

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024


def log(component: str, message: str) -> None:
    """One timestamped log line on stdout (flushed: the recorder reads it from a file)."""
    stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
    print(f"{stamp} {component}: {message}", flush=True)


def xml_escape(text: str) -> str:
    """Escapes text for use as XML character data."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def cwmp_time(epoch: float | None = None) -> str:
    """An xsd:dateTime in UTC with milliseconds, e.g. `2026-11-27T10:13:13.520Z`."""
    when = datetime.datetime.fromtimestamp(
        time.time() if epoch is None else epoch, tz=datetime.timezone.utc
    )
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def envelope(
    body_xml: str, cwmp_id: str | None, no_more_requests: bool | None = None
) -> str:
    """One SOAP envelope: the cwmp header (ID, optional NoMoreRequests) and `body_xml`."""
    header = []
    if cwmp_id is not None:
        header.append(
            f'<cwmp:ID soap-env:mustUnderstand="1">{xml_escape(cwmp_id)}</cwmp:ID>'
        )
    if no_more_requests is not None:
        header.append(
            f"<cwmp:NoMoreRequests>{1 if no_more_requests else 0}</cwmp:NoMoreRequests>"
        )
    header_xml = f"<soap-env:Header>{''.join(header)}</soap-env:Header>" if header else ""
    return (
        f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV_NS}" xmlns:soap-enc="{SOAP_ENC_NS}"'
        f' xmlns:xsd="{XSD_NS}" xmlns:xsi="{XSI_NS}" xmlns:cwmp="{CWMP_NS}">'
        f"{header_xml}<soap-env:Body>{body_xml}</soap-env:Body></soap-env:Envelope>"
    )


def soap_body(*envelopes: str) -> bytes:
    """An HTTP body holding the given envelopes, after one XML declaration."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + "\n".join(envelopes) + "\n").encode()


def string_value(name: str, value: str, xsd_type: str = "xsd:string") -> str:
    """One ParameterValueStruct."""
    return (
        f"<ParameterValueStruct><Name>{xml_escape(name)}</Name>"
        f'<Value xsi:type="{xsd_type}">{xml_escape(value)}</Value></ParameterValueStruct>'
    )


_ENVELOPE_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?Envelope\s*>")
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")


@dataclass
class Envelope:
    """A decoded envelope: header ID, NoMoreRequests, RPC name and RPC element."""

    cwmp_id: str | None
    no_more_requests: bool | None
    rpc: str
    element: ET.Element | None


def split_envelopes(body: bytes, limit: int = 16) -> list[Envelope]:
    """Decodes every envelope of an HTTP body (one or several, concatenated)."""
    rest = _XML_DECL.sub(b"", body, count=1)
    found: list[Envelope] = []
    while rest.strip():
        match = _ENVELOPE_END.search(rest)
        if match is None:
            raise ValueError("body holds text after its last envelope")
        piece, rest = rest[: match.end()], rest[match.end() :]
        root = ET.fromstring(piece)
        if len(found) >= limit:
            raise ValueError("too many envelopes")
        found.append(_decode_envelope(root))
    return found


def _decode_envelope(root: ET.Element) -> Envelope:
    if root.tag != f"{{{SOAP_ENV_NS}}}Envelope":
        raise ValueError(f"not a SOAP envelope: {root.tag}")
    cwmp_id = None
    no_more = None
    header = root.find(f"{{{SOAP_ENV_NS}}}Header")
    if header is not None:
        id_el = header.find(f"{{{CWMP_NS}}}ID")
        if id_el is not None:
            cwmp_id = (id_el.text or "").strip()
        nmr = header.find(f"{{{CWMP_NS}}}NoMoreRequests")
        if nmr is not None:
            no_more = (nmr.text or "").strip() in ("1", "true")
    body = root.find(f"{{{SOAP_ENV_NS}}}Body")
    if body is None or len(body) == 0:
        raise ValueError("envelope without a Body element")
    rpc_el = body[0]
    name = rpc_el.tag.split("}", 1)[-1]
    return Envelope(cwmp_id, no_more, name, rpc_el)


def child_text(element: ET.Element | None, path: str, default: str = "") -> str:
    """Text of an unqualified child element (CWMP argument), `default` when absent."""
    if element is None:
        return default
    found = element.find(path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


# --- Digest authentication --------------------------------------------------------------------

_AUTH_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def parse_auth_params(text: str) -> dict[str, str]:
    """Parses `a="x", b=y, ...` (the part after the scheme) into a lower-cased-key dict."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _AUTH_PARAM.match(text, pos)
        if match is None or match.end() == pos:
            break
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[match.group(1).lower()] = value
        pos = match.end()
    return params


def split_scheme(header_value: str) -> tuple[str, str]:
    """Splits `Digest realm=...` into (`digest`, `realm=...`)."""
    scheme, _, rest = header_value.strip().partition(" ")
    return scheme.lower(), rest


def md5_hex(text: str) -> str:
    """MD5 of a UTF-8 string, as lower-case hex."""
    return hashlib.md5(text.encode()).hexdigest()


def digest_response(
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str,
    cnonce: str,
    qop: str,
) -> str:
    """The `response` value of RFC 7616 with MD5 and qop=auth."""
    ha1 = md5_hex(f"{username}:{realm}:{password}")
    ha2 = md5_hex(f"{method}:{uri}")
    return md5_hex(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


@dataclass
class DigestClient:
    """Client side of Digest: remembers the challenge, counts nc, builds Authorization."""

    username: str
    password: str
    challenge: dict[str, str] = field(default_factory=dict)
    nonce_count: int = 0

    def accept_challenge(self, www_authenticate: str) -> bool:
        """Takes a `WWW-Authenticate: Digest ...` challenge; False if it is not Digest/MD5/auth."""
        scheme, rest = split_scheme(www_authenticate)
        if scheme != "digest":
            return False
        params = parse_auth_params(rest)
        if params.get("algorithm", "MD5").upper() != "MD5":
            return False
        if "auth" not in [q.strip() for q in params.get("qop", "").split(",")]:
            return False
        if "nonce" not in params or "realm" not in params:
            return False
        self.challenge = params
        self.nonce_count = 0
        return True

    def has_challenge(self) -> bool:
        """Whether a challenge was accepted (so requests can carry credentials)."""
        return bool(self.challenge)

    def authorization(self, method: str, uri: str) -> str:
        """The Authorization header value for the next request (nc incremented)."""
        self.nonce_count += 1
        nc = f"{self.nonce_count:08x}"
        cnonce = os.urandom(8).hex()
        realm, nonce = self.challenge["realm"], self.challenge["nonce"]
        response = digest_response(
            self.username, realm, self.password, method, uri, nonce, nc, cnonce, "auth"
        )
        parts = [
            f'username="{self.username}"',
            f'realm="{realm}"',
            f'nonce="{nonce}"',
            f'uri="{uri}"',
            "algorithm=MD5",
            f'response="{response}"',
            "qop=auth",
            f"nc={nc}",
            f'cnonce="{cnonce}"',
        ]
        if "opaque" in self.challenge:
            parts.append(f'opaque="{self.challenge["opaque"]}"')
        return "Digest " + ", ".join(parts)


def basic_authorization(username: str, password: str) -> str:
    """The Authorization header value for Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class DigestServer:
    """Server side of Digest: issues nonces and verifies responses for real."""

    def __init__(self, realm: str, users: dict[str, str], nonce_lifetime: float = 300.0):
        self.realm = realm
        self.users = users
        self.nonce_lifetime = nonce_lifetime
        # nonce -> [opaque, issued_at, highest nc seen]
        self._nonces: dict[str, list] = {}

    def challenge(self, stale: bool = False) -> str:
        """A fresh `WWW-Authenticate` value (new nonce and opaque)."""
        nonce = os.urandom(16).hex()
        opaque = os.urandom(8).hex()
        self._nonces[nonce] = [opaque, time.monotonic(), 0]
        value = (
            f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", '
            f'opaque="{opaque}", algorithm=MD5'
        )
        return value + (", stale=TRUE" if stale else "")

    def verify(self, authorization: str | None, method: str, uri: str) -> tuple[str, str]:
        """Checks an Authorization header.

        Returns (`ok`, username), (`stale`, username) when the digest is right but its nonce
        expired, or (`missing` / `bad`, reason).
        """
        if not authorization:
            return "missing", "no Authorization header"
        scheme, rest = split_scheme(authorization)
        if scheme != "digest":
            return "bad", f"scheme {scheme!r} instead of Digest"
        p = parse_auth_params(rest)
        user = p.get("username", "")
        password = self.users.get(user)
        if password is None:
            return "bad", f"unknown user {user!r}"
        if p.get("realm") != self.realm:
            return "bad", f"realm {p.get('realm')!r}"
        if p.get("uri") != uri:
            return "bad", f"uri {p.get('uri')!r} differs from request target {uri!r}"
        if p.get("qop") != "auth" or not p.get("cnonce") or not p.get("nc"):
            return "bad", "qop=auth with nc and cnonce required"
        if p.get("algorithm", "MD5").upper() != "MD5":
            return "bad", f"algorithm {p.get('algorithm')!r}"
        nonce = p.get("nonce", "")
        expected = digest_response(
            user, self.realm, password, method, uri, nonce, p["nc"], p["cnonce"], "auth"
        )
        if p.get("response", "").lower() != expected:
            return "bad", "wrong response (password or hash)"
        state = self._nonces.get(nonce)
        if state is None or time.monotonic() - state[1] > self.nonce_lifetime:
            return "stale", user
        if p.get("opaque") != state[0]:
            return "bad", "opaque does not match the challenge"
        try:
            nc = int(p["nc"], 16)
        except ValueError:
            return "bad", f"nc {p['nc']!r} is not hex"
        if nc <= state[2]:
            return "bad", f"nc {nc} replayed (last {state[2]})"
        state[2] = nc
        return "ok", user

    def forget(self, nonce_owner_header: str | None) -> None:
        """Invalidates the nonce named in an Authorization header (end of a session)."""
        if nonce_owner_header:
            nonce = parse_auth_params(split_scheme(nonce_owner_header)[1]).get("nonce")
            self._nonces.pop(nonce or "", None)


# --- a minimal HTTP/1.1 client ---------------------------------------------------------------


@dataclass
class HttpResponse:
    """A received HTTP response."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """First value of a header (case-insensitive), None when absent."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


class HttpConnection:
    """One keep-alive HTTP/1.1 client connection from a fixed source address, over TLS when
    `tls` is given (the host is then also the server name sent and verified)."""

    def __init__(
        self,
        host: str,
        port: int,
        source_ip: str,
        timeout: float = 10.0,
        tls: ClientTls | None = None,
    ):
        self.host, self.port, self.tls = host, port, tls
        address = tls.address(host) if tls else host
        sock = socket.create_connection(
            (address, port), timeout=timeout, source_address=(source_ip, 0)
        )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            try:
                sock = tls.wrap(sock, host, port)
            except (ssl.SSLError, OSError):
                sock.close()
                raise
        self.sock = sock
        self.reader = self.sock.makefile("rb")

    def host_header(self) -> str:
        """The Host header value for this connection."""
        host = url_host(self.host)
        return host if self.port == (443 if self.tls else 80) else f"{host}:{self.port}"

    def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes = b"",
        send_length: bool = True,
    ) -> HttpResponse:
        """Sends one request (head and body in a single write) and reads its response."""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header()}"]
        lines += [f"{k}: {v}" if v else f"{k}:" for k, v in headers]
        if send_length:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.sock.sendall(head + body)
        return read_response(self.reader, method)

    def close(self) -> None:
        """Closes the connection (the client sends the first FIN; over TLS, close_notify
        before it)."""
        try:
            self.reader.close()
        finally:
            if isinstance(self.sock, ssl.SSLSocket):
                if self.tls is not None:
                    self.tls.keep(self.sock, self.host, self.port)
                close_notify(self.sock)
            self.sock.close()


def read_response(reader, method: str) -> HttpResponse:
    """Reads one HTTP/1.1 response with Content-Length or chunked framing, within limits."""
    status_line = reader.readline(MAX_HEADER_BYTES)
    if not status_line:
        raise ConnectionError("connection closed before the response")
    parts = status_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError(f"bad status line {status_line!r}")
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers: list[tuple[str, str]] = []
    total = len(status_line)
    while True:
        line = reader.readline(MAX_HEADER_BYTES)
        total += len(line)
        if total > MAX_HEADER_BYTES:
            raise ValueError("response head too long")
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    response = HttpResponse(status, reason, headers, b"")
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return response
    if (response.header("Transfer-Encoding") or "").lower() == "chunked":
        chunks = []
        size_total = 0
        while True:
            size = int(reader.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline(MAX_HEADER_BYTES) not in (b"\r\n", b"\n", b""):
                    pass
                break
            size_total += size
            if size_total > MAX_BODY_BYTES:
                raise ValueError("chunked body too long")
            chunks.append(reader.read(size))
            reader.readline(1024)
        response.body = b"".join(chunks)
        return response
    length = int(response.header("Content-Length") or "0")
    if length < 0 or length > MAX_BODY_BYTES:
        raise ValueError(f"Content-Length {length} out of range")
    response.body = reader.read(length) if length else b""
    if len(response.body) != length:
        raise ConnectionError(f"body cut short: {len(response.body)} of {length} bytes")
    return response


def http_date() -> str:
    """The current time as an HTTP Date header value."""
    return email.utils.formatdate(usegmt=True)


def raw_response(
    status: int,
    reason: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    server: str | None = None,
) -> bytes:
    """An HTTP/1.1 response (head and body) as bytes, with Date and Content-Length."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    if server:
        lines.append(f"Server: {server}")
    lines.append(f"Date: {http_date()}")
    lines += [f"{k}: {v}" for k, v in headers]
    if status != 204:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --- the files the file server hands out ------------------------------------------------------

FIRMWARE_MAGIC = b"CWMPSCOPE-REFFW1\n"


def make_config_file(version: str) -> bytes:
    """A Thomson-style CLI configuration file that sets CONF_VERSION to `version`."""
    lines = [
        f"; configuration file for {MANUFACTURER} {PRODUCT_CLASS}",
        f"; configuration version {version}; loaded without a reboot",
        f":env set var=CONF_VERSION value={version}",
        ":cwmp config periodicInform=enabled periodicInfInt=86400",
        ":service system modify name=TELNET state=disabled",
        ":service system modify name=SSH state=enabled",
        ":dns server config domain=lan",
        ":system settime timezone=+01:00 daylightsaving=enabled",
        ":system ntp config state=enabled",
        ":system ntp add name=ntp1.example.net",
        ":firewall level set name=Standard",
        ":wireless ifconfig state=enabled channel=auto",
        ":wireless ifconfig interop=802.11b/g/n",
    ]
    return ("\n".join(lines) + "\n").encode()


def make_firmware_image(version: str, total_size: int) -> bytes:
    """A firmware image of exactly `total_size` bytes: a text header naming the product and
    version and the SHA-256 of the payload, then a deterministic payload."""
    header_template = (
        FIRMWARE_MAGIC.decode()
        + f"product={PRODUCT_CLASS}\nversion={version}\npayload-sha256={{digest}}\n\n"
    )
    header_len = len(header_template.format(digest="0" * 64).encode())
    payload_len = total_size - header_len
    if payload_len <= 0:
        raise ValueError("image size too small for its header")
    chunks = []
    counter = 0
    produced = 0
    while produced < payload_len:
        block = hashlib.sha256(f"{version}:{counter}".encode()).digest()
        chunks.append(block)
        produced += len(block)
        counter += 1
    payload = b"".join(chunks)[:payload_len]
    digest = hashlib.sha256(payload).hexdigest()
    return header_template.format(digest=digest).encode() + payload


def parse_firmware_image(image: bytes) -> dict[str, str]:
    """Validates an image made by `make_firmware_image`; returns its header fields."""
    if not image.startswith(FIRMWARE_MAGIC):
        raise ValueError("not a firmware image (magic)")
    end = image.find(b"\n\n", 0, 4096)
    if end < 0:
        raise ValueError("firmware header not terminated")
    fields = {}
    for line in image[len(FIRMWARE_MAGIC) : end].decode("ascii", "replace").splitlines():
        key, _, value = line.partition("=")
        fields[key] = value
    payload = image[end + 2 :]
    if hashlib.sha256(payload).hexdigest() != fields.get("payload-sha256"):
        raise ValueError("firmware payload checksum mismatch")
    return fields


def die(message: str) -> None:
    """Prints an error and exits with status 1."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)
