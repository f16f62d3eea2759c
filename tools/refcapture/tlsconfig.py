"""TLS for the harness's programs: command-line options and the SSL contexts they build.

Servers (ACS, file server) take a certificate and key, optionally a second pair they switch
to after some connections (a certificate change); the CPE verifies the server against a CA
(or not), can resume sessions and can turn encrypt-then-MAC off. Both sides can pin the
protocol version and the TLS 1.2 cipher list and write an NSS key log. TLS 1.3 cipher suites
are not settable from Python: they come from OpenSSL's configuration (`OPENSSL_CONF`).
Python 3.11 standard library only (`ssl`, that is OpenSSL).
"""

from __future__ import annotations

import argparse
import itertools
import socket
import ssl
import threading
import warnings

#: `--tls-version` values.
VERSIONS = {
    "1.0": "TLSv1",
    "1.1": "TLSv1_1",
    "1.2": "TLSv1_2",
    "1.3": "TLSv1_3",
}

#: OpenSSL's SSL_OP_NO_ENCRYPT_THEN_MAC (OpenSSL 3.0 ssl.h), which Python does not name.
OP_NO_ENCRYPT_THEN_MAC = 1 << 19


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options both sides take."""
    group = parser.add_argument_group("TLS")
    group.add_argument("--tls-version", choices=sorted(VERSIONS), help="the only version allowed")
    group.add_argument(
        "--tls-ciphers", help="OpenSSL cipher list for TLS 1.2 and older (e.g. AES256-GCM-SHA384)"
    )
    group.add_argument("--tls-keylog", metavar="FILE", help="append the NSS key log to FILE")


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """Options of a TLS server (ACS, file server): without --tls-cert it speaks clear HTTP."""
    add_common_options(parser)
    group = parser.add_argument_group("TLS server")
    group.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate chain")
    group.add_argument("--tls-key", metavar="PEM", help="its private key")
    group.add_argument(
        "--tls-no-tickets", action="store_true",
        help="no session tickets (TLS 1.2 resumption by session ID)",
    )
    group.add_argument("--tls-next-cert", metavar="PEM", help="certificate after the change")
    group.add_argument("--tls-next-key", metavar="PEM", help="its private key")
    group.add_argument(
        "--tls-next-after", type=int, default=1, metavar="N",
        help="connections served with --tls-cert before --tls-next-cert takes over",
    )


def add_client_options(parser: argparse.ArgumentParser) -> None:
    """Options of the TLS client (the CPE); https URLs use them."""
    add_common_options(parser)
    group = parser.add_argument_group("TLS client")
    group.add_argument(
        "--tls-verify", choices=("none", "chain", "full"), default="full",
        help="none: accept any certificate; chain: check it against --tls-ca; "
        "full: also check the host name",
    )
    group.add_argument("--tls-ca", metavar="PEM", help="the CA the server certificates chain to")
    group.add_argument(
        "--tls-resume", action="store_true",
        help="resume the previous session with the same server on a new connection",
    )
    group.add_argument("--tls-no-etm", action="store_true", help="do not offer encrypt-then-MAC")
    group.add_argument(
        "--resolve", action="append", default=[], metavar="HOST=ADDR",
        help="connect to ADDR for HOST (no DNS is used)",
    )


def _pin(context: ssl.SSLContext, args: argparse.Namespace) -> None:
    """Applies the version pin, cipher list and key log common to both sides."""
    with warnings.catch_warnings():
        # TLS 1.0 and 1.1 are deprecated in Python; recording them is the point.
        warnings.simplefilter("ignore", DeprecationWarning)
        if args.tls_version:
            version = getattr(ssl.TLSVersion, VERSIONS[args.tls_version])
            context.minimum_version = version
            context.maximum_version = version
        if args.tls_ciphers:
            context.set_ciphers(args.tls_ciphers)
    if args.tls_keylog:
        context.keylog_filename = args.tls_keylog


def server_context(args: argparse.Namespace, cert: str, key: str) -> ssl.SSLContext:
    """A server context for one certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if args.tls_no_tickets:
        context.options |= ssl.OP_NO_TICKET
    _pin(context, args)
    return context


class ServerTls:
    """The contexts a server hands out, by connection: the first `switch_after` connections
    get the first certificate, later ones the next (when one is given)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.first = server_context(args, args.tls_cert, args.tls_key or args.tls_cert)
        self.next = (
            server_context(args, args.tls_next_cert, args.tls_next_key or args.tls_next_cert)
            if args.tls_next_cert
            else None
        )
        self.switch_after = args.tls_next_after
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def context(self) -> ssl.SSLContext:
        """The context for the next accepted connection."""
        with self._lock:
            number = next(self._count)
        return self.next if self.next and number > self.switch_after else self.first


def server_tls(args: argparse.Namespace) -> ServerTls | None:
    """The server's TLS, or None for clear HTTP."""
    return ServerTls(args) if args.tls_cert else None


class ClientTls:
    """The CPE's TLS: one context, the address map, and the sessions kept for resumption."""

    def __init__(self, args: argparse.Namespace) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if args.tls_verify == "none":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context.check_hostname = args.tls_verify == "full"
            context.verify_mode = ssl.CERT_REQUIRED
            if args.tls_ca:
                context.load_verify_locations(args.tls_ca)
        if args.tls_no_etm:
            context.options |= OP_NO_ENCRYPT_THEN_MAC
        _pin(context, args)
        self.context = context
        self.resume = args.tls_resume
        self.resolve = dict(entry.partition("=")[::2] for entry in args.resolve)
        self.sessions: dict[tuple[str, int], ssl.SSLSession] = {}

    def address(self, host: str) -> str:
        """The address to connect to for `host`."""
        return self.resolve.get(host, host)

    def wrap(self, sock: socket.socket, host: str, port: int) -> ssl.SSLSocket:
        """Runs the handshake on a connected socket (resuming when asked and possible)."""
        session = self.sessions.get((host, port)) if self.resume else None
        return self.context.wrap_socket(sock, server_hostname=host, session=session)

    def keep(self, sock: ssl.SSLSocket, host: str, port: int) -> None:
        """Remembers a connection's session for the next connection to that server."""
        session = sock.session
        if self.resume and session is not None and (session.has_ticket or session.id):
            self.sessions[(host, port)] = session


def describe(sock: ssl.SSLSocket) -> str:
    """Version, cipher suite and resumption of a connection, for the logs."""
    cipher = sock.cipher()
    resumed = " (resumed)" if sock.session_reused else ""
    return f"{sock.version()} {cipher[0] if cipher else '?'}{resumed}"


#: How long either side waits for the other's close_notify or FIN.
SHUTDOWN_TIMEOUT = 2.0


def close_notify(sock: ssl.SSLSocket) -> None:
    """The client's end of a connection: sends close_notify and waits for the server's, so
    that the caller's close then sends the first FIN."""
    sock.settimeout(SHUTDOWN_TIMEOUT)
    try:
        sock.unwrap()
    except (ssl.SSLError, OSError):
        pass  # the server closed without close_notify


def answer_close(sock: ssl.SSLSocket) -> None:
    """The server's end of a connection, once the client sent close_notify: answers with its
    own (a server that does not forgets the TLS 1.2 session, so no resumption by session ID),
    waits for the client's FIN, then sends its own."""
    sock.settimeout(SHUTDOWN_TIMEOUT)
    try:
        plain = sock.unwrap()
        plain.recv(1)
    except (ssl.SSLError, OSError):
        plain = sock  # no close_notify from the client: close as a clear server does
    try:
        plain.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    plain.close()
    sock.close()
