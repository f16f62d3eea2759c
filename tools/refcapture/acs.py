#!/usr/bin/env python3
"""Minimal ACS for the reference captures.

HTTP/1.1 keep-alive server that authenticates the CPE with Digest (MD5, qop="auth", verified
with hashlib), keeps per-session state (by connection, or by cookie when --cookie is given),
answers Inform and TransferComplete, and sends one Download to the first session: together with
the InformResponse when the CPE announced MaxEnvelopes >= 2 and NoMoreRequests, otherwise in the
answer to the CPE's empty POST. It ends a session with an empty 200 (or 204 with
--empty-status 204). With --connection-request URL it also sends a Connection Request (HTTP GET,
answering the CPE's Digest challenge) when it receives SIGUSR1, or after --cr-delay seconds.
With --tls-cert it speaks HTTPS (see tlsconfig.py); with --user it serves a fleet, each CPE
getting its own Download (`{serial}` in --download-url and --download-file is its serial).
"""

from __future__ import annotations

import argparse
import http.server
import os
import signal
import socket
import threading
import time
import urllib.parse

import tlsconfig
from common import (
    ACS_IP,
    ACS_PATH,
    ACS_PORT,
    SOAP_CONTENT_TYPE,
    DigestClient,
    DigestServer,
    HttpConnection,
    child_text,
    envelope,
    http_server,
    log,
    raw_response,
    soap_body,
    split_envelopes,
    url_host,
    xml_escape,
)

SERVER_NAME = "cwmpscope-refacs/1.0"
COOKIE_NAME = "cwmpsession"


class Session:
    """State of one CWMP session on the ACS side."""

    counter = 0

    def __init__(self) -> None:
        Session.counter += 1
        self.number = Session.counter
        self.cookie = os.urandom(8).hex()
        self.authenticated = False
        self.inform_seen = False
        self.max_envelopes = 1
        self.cpe_no_more_requests = False
        self.pending: list[tuple[str, str, str]] = []  # (id, rpc name, envelope xml)
        self.outstanding: dict[str, str] = {}  # id -> rpc name
        self.serial = ""
        self.ended = False


class Acs:
    """The ACS behaviour shared by all connections."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        users = {args.username: args.password}
        users.update(entry.partition(":")[::2] for entry in args.user)
        self.digest = DigestServer(args.realm, users)
        self.lock = threading.Lock()
        self.sessions_by_cookie: dict[str, Session] = {}
        self.downloads_sent: set[str] = set()  # serials that got their Download
        self.request_counter = 5000

    def next_id(self) -> str:
        """A fresh cwmp:ID for an ACS request."""
        self.request_counter += 1
        return str(self.request_counter)

    def download_envelope(self, serial: str) -> tuple[str, str, str]:
        """The Download request this ACS was started to send, for the CPE `serial`."""
        a = self.args
        url = a.download_url.replace("{serial}", serial)
        local = a.download_file.replace("{serial}", serial)
        file_size = os.path.getsize(local) if local else 0
        rpc = (
            "<cwmp:Download>"
            f"<CommandKey>{xml_escape(a.command_key)}</CommandKey>"
            f"<FileType>{xml_escape(a.file_type)}</FileType>"
            f"<URL>{xml_escape(url)}</URL>"
            f"<Username>{xml_escape(a.file_username)}</Username>"
            f"<Password>{xml_escape(a.file_password)}</Password>"
            f"<FileSize>{file_size}</FileSize>"
            f"<TargetFileName>{xml_escape(a.target_file_name)}</TargetFileName>"
            "<DelaySeconds>0</DelaySeconds>"
            "<SuccessURL></SuccessURL>"
            "<FailureURL></FailureURL>"
            "</cwmp:Download>"
        )
        cwmp_id = self.next_id()
        return cwmp_id, "Download", envelope(rpc, cwmp_id)


class Handler(http.server.BaseHTTPRequestHandler):
    """One TCP connection from the CPE."""

    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    acs: Acs  # set on the class by main()

    def setup(self) -> None:
        super().setup()
        self.session: Session | None = None
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        log("acs", f"connection from {self.client_address[0]}:{self.client_address[1]}")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
        pass

    def send_raw(self, status: int, reason: str, headers: list, body: bytes = b"") -> None:
        self.wfile.write(raw_response(status, reason, headers, body, SERVER_NAME))
        log("acs", f"-> {status} {reason} ({len(body)} B)")

    def read_body(self) -> bytes | None:
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.send_raw(411, "Length Required", [("Connection", "close")])
            self.close_connection = True
            return None
        try:
            length = int(length_text or "0")
        except ValueError:
            length = -1
        if length < 0 or length > 1 << 20:
            self.send_raw(413, "Payload Too Large", [("Connection", "close")])
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def cookie_session(self) -> Session | None:
        header = self.headers.get("Cookie") or ""
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME:
                with self.acs.lock:
                    session = self.acs.sessions_by_cookie.get(value)
                if session and not session.ended:
                    return session
        return None

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_raw(405, "Method Not Allowed", [("Allow", "POST")])

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.read_body()
        if body is None:
            return
        path = urllib.parse.urlsplit(self.path).path
        log("acs", f"<- POST {self.path} ({len(body)} B)")
        if path != ACS_PATH:
            self.send_raw(404, "Not Found", [])
            return
        session = self.session if self.session and not self.session.ended else None
        by_cookie = self.cookie_session()
        if by_cookie is not None:
            if session is not by_cookie:
                log("acs", f"session {by_cookie.number} continues on a new connection (cookie)")
            session = by_cookie
        self.session = session

        # Authentication: every request that carries credentials is verified; a request
        # without them is accepted only inside an authenticated session.
        authorization = self.headers.get("Authorization")
        if authorization or session is None or not session.authenticated:
            verdict, detail = self.acs.digest.verify(authorization, "POST", self.path)
            if verdict != "ok":
                log("acs", f"authentication {verdict}: {detail}")
                challenge = self.acs.digest.challenge(stale=verdict == "stale")
                self.send_raw(401, "Unauthorized", [("WWW-Authenticate", challenge)])
                return
            if session is None:
                session = Session()
                self.session = session
            session.authenticated = True

        try:
            envelopes = split_envelopes(body)
        except Exception as err:  # malformed XML from the peer
            log("acs", f"malformed body: {err}")
            self.send_raw(400, "Bad Request", [("Connection", "close")])
            self.close_connection = True
            return
        self.handle_cwmp(session, envelopes)

    def handle_cwmp(self, session: Session, envelopes: list) -> None:
        acs = self.acs
        replies: list[str] = []
        cpe_sent_requests = False
        extra_headers: list[tuple[str, str]] = []
        for env in envelopes:
            if env.rpc == "Inform":
                cpe_sent_requests = True
                if session.inform_seen:
                    log("acs", "second Inform in one session: answering it anyway")
                session.inform_seen = True
                session.max_envelopes = max(1, int(child_text(env.element, "MaxEnvelopes", "1")))
                session.cpe_no_more_requests = bool(env.no_more_requests)
                session.serial = child_text(env.element, "DeviceId/SerialNumber")
                events = [
                    child_text(ev, "EventCode")
                    for ev in env.element.iterfind("Event/EventStruct")
                ]
                params = {
                    child_text(p, "Name"): child_text(p, "Value")
                    for p in env.element.iterfind("ParameterList/ParameterValueStruct")
                }
                log(
                    "acs",
                    f"session {session.number}: Inform from {session.serial} events={events} "
                    f"MaxEnvelopes={session.max_envelopes} "
                    f"NoMoreRequests={int(session.cpe_no_more_requests)}",
                )
                for name in (
                    "InternetGatewayDevice.DeviceInfo.SoftwareVersion",
                    "InternetGatewayDevice.DeviceInfo.VendorConfigFile.1.Version",
                ):
                    log("acs", f"  {name} = {params.get(name)}")
                replies.append(
                    envelope(
                        "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes>"
                        "</cwmp:InformResponse>",
                        env.cwmp_id,
                    )
                )
                if acs.args.cookie:
                    with acs.lock:
                        acs.sessions_by_cookie[session.cookie] = session
                    extra_headers.append(
                        ("Set-Cookie", f"{COOKIE_NAME}={session.cookie}; Path={ACS_PATH}; HttpOnly")
                    )
                with acs.lock:
                    if acs.args.download_url and session.serial not in acs.downloads_sent:
                        acs.downloads_sent.add(session.serial)
                        session.pending.append(acs.download_envelope(session.serial))
            elif env.rpc == "TransferComplete":
                cpe_sent_requests = True
                if env.no_more_requests:
                    session.cpe_no_more_requests = True
                key = child_text(env.element, "CommandKey")
                code = child_text(env.element, "FaultStruct/FaultCode")
                log(
                    "acs",
                    f"session {session.number}: TransferComplete CommandKey={key} "
                    f"FaultCode={code} StartTime={child_text(env.element, 'StartTime')} "
                    f"CompleteTime={child_text(env.element, 'CompleteTime')}",
                )
                replies.append(
                    envelope("<cwmp:TransferCompleteResponse/>", env.cwmp_id)
                )
            elif env.rpc.endswith("Response") or env.rpc == "Fault":
                name = session.outstanding.pop(env.cwmp_id or "", None)
                status = child_text(env.element, "Status")
                log(
                    "acs",
                    f"session {session.number}: {env.rpc} to {name or 'unknown request'} "
                    f"(ID {env.cwmp_id}) Status={status}",
                )
            else:
                cpe_sent_requests = True
                log("acs", f"session {session.number}: unsupported request {env.rpc}")
                replies.append(
                    envelope(
                        "<soap-env:Fault><faultcode>Client</faultcode>"
                        "<faultstring>CWMP fault</faultstring><detail><cwmp:Fault>"
                        "<FaultCode>8000</FaultCode><FaultString>Method not supported"
                        "</FaultString></cwmp:Fault></detail></soap-env:Fault>",
                        env.cwmp_id,
                    )
                )

        # ACS requests go out when the CPE has none left (empty POST, only responses, or
        # NoMoreRequests), within the CPE's MaxEnvelopes.
        may_send_requests = not cpe_sent_requests or session.cpe_no_more_requests
        while may_send_requests and session.pending and len(replies) < session.max_envelopes:
            cwmp_id, name, xml = session.pending.pop(0)
            session.outstanding[cwmp_id] = name
            replies.append(xml)
            log("acs", f"session {session.number}: sending {name} (ID {cwmp_id})")

        if replies:
            self.send_raw(
                200,
                "OK",
                [("Content-Type", SOAP_CONTENT_TYPE)] + extra_headers,
                soap_body(*replies),
            )
            return
        # Nothing to say: the ACS ends the session.
        session.ended = True
        with acs.lock:
            acs.sessions_by_cookie.pop(session.cookie, None)
        log("acs", f"session {session.number}: ended by the ACS")
        if acs.args.empty_status == 204:
            self.send_raw(204, "No Content", extra_headers)
        else:
            self.send_raw(200, "OK", extra_headers)

    def finish(self) -> None:
        super().finish()
        log("acs", f"connection from {self.client_address[0]}:{self.client_address[1]} closed")


def send_connection_request(args: argparse.Namespace) -> None:
    """HTTP GET to the CPE's ConnectionRequestURL, answering its Digest challenge."""
    url = urllib.parse.urlsplit(args.connection_request)
    target = url.path or "/"
    conn = HttpConnection(url.hostname or "", url.port or 80, args.listen_ip)
    try:
        log("acs", f"Connection Request: GET {args.connection_request}")
        headers = [("User-Agent", SERVER_NAME)]
        response = conn.request("GET", target, headers, send_length=False)
        log("acs", f"Connection Request: <- {response.status} {response.reason}")
        if response.status == 401:
            digest = DigestClient(args.cr_username, args.cr_password)
            if not digest.accept_challenge(response.header("WWW-Authenticate") or ""):
                log("acs", "Connection Request: unsupported challenge")
                return
            headers.append(("Authorization", digest.authorization("GET", target)))
            response = conn.request("GET", target, headers, send_length=False)
            log("acs", f"Connection Request: <- {response.status} {response.reason}")
        if response.status not in (200, 204):
            log("acs", "Connection Request: refused")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen-ip", default=ACS_IP)
    parser.add_argument("--port", type=int, default=ACS_PORT)
    parser.add_argument("--realm", default="cwmpscope reference ACS")
    parser.add_argument("--username", default="00147F-CP0923JT0XX")
    parser.add_argument("--password", default="cpe-secret")
    parser.add_argument(
        "--user", action="append", default=[], metavar="NAME:PASSWORD",
        help="another CPE's credentials (a fleet)",
    )
    parser.add_argument("--cookie", action="store_true", help="set a session cookie on InformResponse")
    parser.add_argument("--empty-status", type=int, choices=(200, 204), default=200)
    parser.add_argument("--download-url", default="", help="URL of the Download (none: no Download)")
    parser.add_argument("--download-file", default="", help="local copy of the file, for FileSize")
    parser.add_argument("--file-type", default="3 Vendor Configuration File")
    parser.add_argument("--command-key", default="cfg-1.1.1")
    parser.add_argument("--file-username", default="fileuser")
    parser.add_argument("--file-password", default="file-secret")
    parser.add_argument("--target-file-name", default="")
    parser.add_argument("--connection-request", default="", help="ConnectionRequestURL of the CPE")
    parser.add_argument("--cr-username", default="acs")
    parser.add_argument("--cr-password", default="cr-secret")
    parser.add_argument(
        "--cr-delay", type=float, default=-1.0,
        help="send the Connection Request after this many seconds (default: on SIGUSR1)",
    )
    tlsconfig.add_server_options(parser)
    args = parser.parse_args()

    Handler.acs = Acs(args)
    tls = tlsconfig.server_tls(args)
    server = http_server(args.listen_ip, args.port, Handler, tls)

    if args.connection_request:
        go = threading.Event()
        signal.signal(signal.SIGUSR1, lambda *_: go.set())

        def trigger() -> None:
            if args.cr_delay >= 0:
                time.sleep(args.cr_delay)
            else:
                go.wait()
            send_connection_request(args)

        threading.Thread(target=trigger, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    scheme = "https" if tls else "http"
    log("acs", f"ready on {scheme}://{url_host(args.listen_ip)}:{args.port}{ACS_PATH}")
    server.serve_forever()
    log("acs", "stopped")


if __name__ == "__main__":
    main()
