#!/usr/bin/env python3
"""Minimal CPE (a THOMSON TG784n as far as the ACS can tell) for the reference captures.

Opens a CWMP session with an Inform, answers Digest challenges for real, handles responses that
hold several envelopes, answers a Download with DownloadResponse Status 1, ends the session,
fetches the file with the Download's Username/Password, applies it (a configuration file sets
VendorConfigFile.1.Version; a firmware image sets SoftwareVersion and "reboots"), then reports
it in a new session: Inform 7 TRANSFER COMPLETE (+ 4 VALUE CHANGE or 1 BOOT) + M Download,
TransferComplete, empty POST. With --connection-request-server it first waits for a Connection
Request (HTTP GET on its port 7547, Digest-challenged) and opens the session with
6 CONNECTION REQUEST. https URLs (ACS and Download) go over TLS with the options of
tlsconfig.py; a session whose connection fails is retried --session-retries times.
"""

from __future__ import annotations

import argparse
import http.server
import signal
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass

import tlsconfig
from common import (
    ACS_IP,
    ACS_PATH,
    ACS_PORT,
    CPE_IP,
    CR_PORT,
    MANUFACTURER,
    OUI,
    PRODUCT_CLASS,
    SERIAL,
    SOAP_CONTENT_TYPE,
    UNKNOWN_TIME,
    DigestClient,
    DigestServer,
    HttpConnection,
    basic_authorization,
    child_text,
    cwmp_time,
    envelope,
    http_server,
    log,
    parse_firmware_image,
    raw_response,
    soap_body,
    split_envelopes,
    split_scheme,
    string_value,
    url_host,
    xml_escape,
)

USER_AGENT = f"cwmpscope-refcpe/1.0 ({MANUFACTURER} {PRODUCT_CLASS})"
IGD = "InternetGatewayDevice"


@dataclass
class PendingDownload:
    """A Download accepted with Status 1, to be fetched after the session."""

    command_key: str
    file_type: str
    url: str
    username: str
    password: str
    file_size: int


@dataclass
class Transfer:
    """Outcome of a fetched-and-applied Download, reported by TransferComplete."""

    command_key: str
    fault_code: int
    fault_string: str
    start_time: str
    complete_time: str
    reboot: bool
    value_change: bool


class Cpe:
    """The device: its parameters and the CWMP client behaviour."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cr_url = f"http://{url_host(args.source_ip)}:{args.cr_port}{args.cr_path}"
        self.tls = tlsconfig.ClientTls(args)
        management = (
            {f"{IGD}.ManagementServer.URL": args.acs_url} if args.inform_management_url else {}
        )
        self.params = {
            f"{IGD}.DeviceSummary": "InternetGatewayDevice:1.1[](Baseline:1, EthernetLAN:1, "
            "WiFiLAN:1, ADSLWAN:1, Time:1, IPPing:1)",
            f"{IGD}.DeviceInfo.SpecVersion": "1.0",
            f"{IGD}.DeviceInfo.HardwareVersion": "VANT-6",
            f"{IGD}.DeviceInfo.SoftwareVersion": args.software_version,
            f"{IGD}.DeviceInfo.ProvisioningCode": "",
            f"{IGD}.DeviceInfo.VendorConfigFile.1.Version": args.config_version,
            **management,
            f"{IGD}.ManagementServer.ConnectionRequestURL": self.cr_url,
            f"{IGD}.ManagementServer.ParameterKey": "",
            f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress":
                args.source_ip,
        }
        self.id_counter = 1000
        self.retry_count = 0
        self.pending_download: PendingDownload | None = None
        self.transfer: Transfer | None = None
        self.reconnected = False

    def next_id(self) -> str:
        """A fresh cwmp:ID for a CPE request."""
        self.id_counter += 1
        return str(self.id_counter)

    # --- messages -----------------------------------------------------------------------------

    def inform(self, events: list[tuple[str, str]], no_more_requests: bool | None) -> bytes:
        """The Inform body for the given (EventCode, CommandKey) pairs."""
        event_xml = "".join(
            f"<EventStruct><EventCode>{xml_escape(code)}</EventCode>"
            f"<CommandKey>{xml_escape(key)}</CommandKey></EventStruct>"
            for code, key in events
        )
        params_xml = "".join(string_value(name, value) for name, value in self.params.items())
        rpc = (
            "<cwmp:Inform>"
            f"<DeviceId><Manufacturer>{MANUFACTURER}</Manufacturer><OUI>{OUI}</OUI>"
            f"<ProductClass>{PRODUCT_CLASS}</ProductClass>"
            f"<SerialNumber>{self.args.serial}</SerialNumber></DeviceId>"
            f'<Event soap-enc:arrayType="cwmp:EventStruct[{len(events)}]">{event_xml}</Event>'
            f"<MaxEnvelopes>{self.args.max_envelopes}</MaxEnvelopes>"
            f"<CurrentTime>{cwmp_time()}</CurrentTime>"
            f"<RetryCount>{self.retry_count}</RetryCount>"
            f'<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[{len(self.params)}]">'
            f"{params_xml}</ParameterList>"
            "</cwmp:Inform>"
        )
        return soap_body(envelope(rpc, self.next_id(), no_more_requests))

    def transfer_complete(self, transfer: Transfer) -> bytes:
        """The TransferComplete body (NoMoreRequests = 1: it is the CPE's last request)."""
        rpc = (
            "<cwmp:TransferComplete>"
            f"<CommandKey>{xml_escape(transfer.command_key)}</CommandKey>"
            f"<FaultStruct><FaultCode>{transfer.fault_code}</FaultCode>"
            f"<FaultString>{xml_escape(transfer.fault_string)}</FaultString></FaultStruct>"
            f"<StartTime>{transfer.start_time}</StartTime>"
            f"<CompleteTime>{transfer.complete_time}</CompleteTime>"
            "</cwmp:TransferComplete>"
        )
        return soap_body(envelope(rpc, self.next_id(), True))

    def answer_acs_request(self, env) -> str:
        """The response envelope to one ACS request."""
        if env.rpc == "Download":
            el = env.element
            try:
                size = int(child_text(el, "FileSize", "0"))
            except ValueError:
                size = 0
            self.pending_download = PendingDownload(
                command_key=child_text(el, "CommandKey"),
                file_type=child_text(el, "FileType"),
                url=child_text(el, "URL"),
                username=child_text(el, "Username"),
                password=child_text(el, "Password"),
                file_size=size,
            )
            log("cpe", f"Download accepted: {self.pending_download}")
            return envelope(
                "<cwmp:DownloadResponse><Status>1</Status>"
                f"<StartTime>{UNKNOWN_TIME}</StartTime>"
                f"<CompleteTime>{UNKNOWN_TIME}</CompleteTime></cwmp:DownloadResponse>",
                env.cwmp_id,
            )
        log("cpe", f"unsupported ACS request {env.rpc}: answering 9000")
        return envelope(
            "<soap-env:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring>"
            "<detail><cwmp:Fault><FaultCode>9000</FaultCode>"
            "<FaultString>Method not supported</FaultString></cwmp:Fault></detail>"
            "</soap-env:Fault>",
            env.cwmp_id,
        )

    # --- one CWMP session ---------------------------------------------------------------------

    def connect(self, url: urllib.parse.SplitResult) -> HttpConnection:
        """A connection to the server of an http or https URL."""
        tls = self.tls if url.scheme == "https" else None
        port = url.port or (443 if tls else 80)
        conn = HttpConnection(url.hostname or "", port, self.args.source_ip, tls=tls)
        if tls is not None:
            log("cpe", f"TLS to {url.hostname}:{port}: {tlsconfig.describe(conn.sock)}")
        return conn

    def run_session_with_retries(self, events: list[tuple[str, str]]) -> None:
        """A session, tried again after --session-retry-delay when the ACS cannot be reached
        (a refused connection or a failed TLS handshake)."""
        for attempt in range(self.args.session_retries + 1):
            self.retry_count = attempt
            try:
                self.run_session(events)
                self.retry_count = 0
                return
            except (ssl.SSLError, ConnectionError) as err:
                log("cpe", f"session attempt {attempt + 1} failed: {err}")
                if attempt == self.args.session_retries:
                    raise RuntimeError("the ACS could not be reached; giving up") from err
                time.sleep(self.args.session_retry_delay)

    def run_session(self, events: list[tuple[str, str]]) -> None:
        """One CWMP session, from the Inform to the ACS's empty response and the close."""
        args = self.args
        acs = urllib.parse.urlsplit(args.acs_url)
        path = acs.path or "/"
        digest = DigestClient(args.username, args.password)
        cookies: dict[str, str] = {}
        transfer = self.transfer
        conn = self.connect(acs)
        log("cpe", f"session: events {[code for code, _ in events]}")

        def post(body: bytes) -> tuple[object, list]:
            nonlocal conn
            for attempt in range(2):
                headers = [("User-Agent", USER_AGENT)]
                if body:
                    headers += [("Content-Type", SOAP_CONTENT_TYPE), ("SOAPAction", "")]
                if cookies:
                    headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
                if digest.has_challenge():
                    headers.append(("Authorization", digest.authorization("POST", path)))
                response = conn.request("POST", path, headers, body)
                log("cpe", f"POST ({len(body)} B) <- {response.status} ({len(response.body)} B)")
                for name, value in response.headers:
                    if name.lower() == "set-cookie":
                        cookie_name, _, rest = value.partition("=")
                        cookies[cookie_name.strip()] = rest.split(";", 1)[0].strip()
                if response.status == 401 and attempt == 0:
                    if not digest.accept_challenge(response.header("WWW-Authenticate") or ""):
                        raise RuntimeError("ACS challenge is not Digest MD5 qop=auth")
                    if (response.header("Connection") or "").lower() == "close":
                        conn.close()
                        conn = self.connect(acs)
                    continue
                if response.status not in (200, 204):
                    raise RuntimeError(f"ACS answered {response.status} {response.reason}")
                return response, split_envelopes(response.body)
            raise RuntimeError("ACS refused the credentials")

        try:
            # A session whose Inform is followed by a TransferComplete does not say
            # NoMoreRequests on the Inform; otherwise the Inform is the CPE's only request.
            _, replies = post(self.inform(events, None if transfer else True))
            inform_answered = False
            queue: list[str] = []  # responses to ACS requests, one envelope per POST
            for _ in range(64):  # bound on the exchanges of one session
                for env in replies:
                    if env.rpc == "InformResponse":
                        inform_answered = True
                        log("cpe", "InformResponse received")
                        if (
                            args.reconnect_after_inform_response
                            and cookies
                            and not self.reconnected
                        ):
                            self.reconnected = True
                            log("cpe", "closing the connection; the session continues by cookie")
                            conn.close()
                            time.sleep(args.reconnect_delay)
                            conn = self.connect(acs)
                    elif env.rpc == "TransferCompleteResponse":
                        log("cpe", "TransferCompleteResponse received")
                        transfer = None
                        self.transfer = None
                    elif env.rpc == "Fault":
                        raise RuntimeError("the ACS answered with a SOAP Fault")
                    else:
                        queue.append(self.answer_acs_request(env))
                if not inform_answered:
                    raise RuntimeError("no InformResponse in the ACS's first response")
                if queue:
                    body = soap_body(queue.pop(0))
                elif transfer is not None:
                    body = self.transfer_complete(transfer)
                elif not replies:
                    break  # the ACS's empty response: the session is over
                else:
                    body = b""  # empty POST: the CPE has nothing more
                replies = post(body)[1]
            else:
                raise RuntimeError("session did not end")
        finally:
            conn.close()
            log("cpe", "session over, connection closed")

    # --- the file transfer --------------------------------------------------------------------

    def fetch_and_apply(self, download: PendingDownload) -> Transfer:
        """GETs the Download's URL (answering a 401 with its credentials) and applies the file."""
        start = cwmp_time()
        url = urllib.parse.urlsplit(download.url)
        target = url.path + (f"?{url.query}" if url.query else "")
        fault = (0, "")
        reboot = value_change = False
        try:
            if url.scheme not in ("http", "https"):
                raise TransferFault(9013, "Unsupported protocol for file transfer")
            conn = self.connect(url)
            try:
                headers = [("User-Agent", USER_AGENT)]
                response = conn.request("GET", target, headers, send_length=False)
                log("cpe", f"GET {download.url} <- {response.status}")
                if response.status == 401:
                    challenge = response.header("WWW-Authenticate") or ""
                    scheme, _ = split_scheme(challenge)
                    digest = DigestClient(download.username, download.password)
                    if scheme == "digest" and digest.accept_challenge(challenge):
                        auth = digest.authorization("GET", target)
                    elif scheme == "basic":
                        auth = basic_authorization(download.username, download.password)
                    else:
                        raise TransferFault(9012, "File transfer server authentication failure")
                    response = conn.request(
                        "GET", target, headers + [("Authorization", auth)], send_length=False
                    )
                    log("cpe", f"GET {download.url} with credentials <- {response.status}")
                    if response.status == 401:
                        raise TransferFault(9012, "File transfer server authentication failure")
                if response.status != 200:
                    raise TransferFault(9016, f"Unable to access file (HTTP {response.status})")
            finally:
                conn.close()
            data = response.body
            if download.file_size and len(data) != download.file_size:
                raise TransferFault(9018, "File corrupted (size differs from FileSize)")
            if download.file_type.startswith("1 "):
                fields = parse_firmware_image_or_fault(data)
                if fields.get("product") != PRODUCT_CLASS:
                    raise TransferFault(9018, "File corrupted (image for another product)")
                self.params[f"{IGD}.DeviceInfo.SoftwareVersion"] = fields["version"]
                reboot = True
                log("cpe", f"firmware {fields['version']} installed; rebooting")
            elif download.file_type.startswith("3 "):
                version = apply_config(data)
                key = f"{IGD}.DeviceInfo.VendorConfigFile.1.Version"
                value_change = self.params.get(key) != version
                self.params[key] = version
                log("cpe", f"configuration applied: CONF_VERSION={version}")
            else:
                raise TransferFault(9010, "Download failure (unsupported FileType)")
        except TransferFault as err:
            fault = (err.code, err.text)
        except (OSError, ValueError, ConnectionError) as err:  # ssl.SSLError is an OSError
            log("cpe", f"transfer failed: {err}")
            fault = (9010, "Download failure")
        if fault[0]:
            log("cpe", f"transfer fault {fault[0]} {fault[1]}")
        return Transfer(
            download.command_key, fault[0], fault[1], start, cwmp_time(), reboot, value_change
        )


class TransferFault(Exception):
    """A transfer failure with its TR-069 fault code."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code, self.text = code, text


def parse_firmware_image_or_fault(data: bytes) -> dict[str, str]:
    """Validates a firmware image; a bad one is fault 9018."""
    try:
        fields = parse_firmware_image(data)
    except ValueError as err:
        raise TransferFault(9018, f"File corrupted ({err})") from err
    if not fields.get("version"):
        raise TransferFault(9018, "File corrupted (no version)")
    return fields


def apply_config(data: bytes) -> str:
    """Runs the CLI lines of a configuration file; returns the CONF_VERSION it sets."""
    version = None
    for line in data.decode("utf-8", "replace").splitlines():
        words = line.split()
        if words[:2] == [":env", "set"]:
            args = dict(w.partition("=")[::2] for w in words[2:])
            if args.get("var") == "CONF_VERSION" and args.get("value"):
                version = args["value"]
    if version is None:
        raise TransferFault(9018, "File corrupted (no CONF_VERSION)")
    return version


class ConnectionRequestHandler(http.server.BaseHTTPRequestHandler):
    """The CPE's Connection Request server: GET on its path, Digest-challenged."""

    protocol_version = "HTTP/1.1"
    server_version = USER_AGENT
    digest: DigestServer
    path_expected: str
    requested: threading.Event

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
        pass

    def send_raw(self, status: int, reason: str, headers: list) -> None:
        self.wfile.write(raw_response(status, reason, headers, b""))
        log("cpe", f"Connection Request -> {status} {reason}")

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        log("cpe", f"Connection Request <- GET {self.path}")
        if urllib.parse.urlsplit(self.path).path != self.path_expected:
            self.send_raw(404, "Not Found", [])
            return
        verdict, detail = self.digest.verify(self.headers.get("Authorization"), "GET", self.path)
        if verdict != "ok":
            log("cpe", f"Connection Request authentication {verdict}: {detail}")
            challenge = self.digest.challenge(stale=verdict == "stale")
            self.send_raw(401, "Unauthorized", [("WWW-Authenticate", challenge)])
            return
        self.send_raw(204, "No Content", [])
        self.requested.set()


def start_connection_request_server(args: argparse.Namespace) -> threading.Event:
    """Starts the CR server in a thread; the returned event is set on an accepted request."""
    ConnectionRequestHandler.digest = DigestServer(
        args.cr_realm, {args.cr_username: args.cr_password}
    )
    ConnectionRequestHandler.path_expected = args.cr_path
    ConnectionRequestHandler.requested = threading.Event()
    server = http_server(args.source_ip, args.cr_port, ConnectionRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return ConnectionRequestHandler.requested


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--acs-url", default=f"http://{ACS_IP}:{ACS_PORT}{ACS_PATH}")
    parser.add_argument("--source-ip", default=CPE_IP)
    parser.add_argument("--serial", default=SERIAL)
    parser.add_argument("--username", default="00147F-CP0923JT0XX")
    parser.add_argument("--password", default="cpe-secret")
    parser.add_argument("--max-envelopes", type=int, default=2)
    parser.add_argument("--event", default="2 PERIODIC", help="event of the first session")
    parser.add_argument("--software-version", default="8.2.6.5")
    parser.add_argument("--config-version", default="1.0.0")
    parser.add_argument(
        "--reconnect-after-inform-response", action="store_true",
        help="close the connection after the InformResponse and go on over a new one, "
        "sending the ACS's cookie",
    )
    parser.add_argument("--reconnect-delay", type=float, default=0.1)
    parser.add_argument("--get-delay", type=float, default=0.2, help="seconds before the GET")
    parser.add_argument(
        "--report-delay", type=float, default=1.0,
        help="seconds between the applied file and the TRANSFER COMPLETE session",
    )
    parser.add_argument("--reboot-delay", type=float, default=1.5)
    parser.add_argument("--connection-request-server", action="store_true")
    parser.add_argument("--cr-port", type=int, default=CR_PORT)
    parser.add_argument("--cr-path", default=f"/cr/{SERIAL}")
    parser.add_argument("--cr-realm", default=f"{PRODUCT_CLASS} Connection Request")
    parser.add_argument("--cr-username", default="acs")
    parser.add_argument("--cr-password", default="cr-secret")
    parser.add_argument(
        "--wait-signal", action="store_true",
        help="start the first session on SIGUSR1 rather than at once",
    )
    parser.add_argument(
        "--inform-management-url", action="store_true",
        help="report ManagementServer.URL (the --acs-url) in the Inform",
    )
    parser.add_argument("--session-retries", type=int, default=0)
    parser.add_argument("--session-retry-delay", type=float, default=2.0)
    tlsconfig.add_client_options(parser)
    args = parser.parse_args()

    cpe = Cpe(args)
    go = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: go.set())
    if args.connection_request_server:
        requested = start_connection_request_server(args)
        log("cpe", f"ready; Connection Request server on {cpe.cr_url}")
        requested.wait()
        time.sleep(0.05)
        first_events = [("6 CONNECTION REQUEST", "")]
    else:
        log("cpe", "ready")
        if args.wait_signal:
            go.wait()
        first_events = [(args.event, "")]

    cpe.run_session_with_retries(first_events)
    download = cpe.pending_download
    if download is None:
        log("cpe", "no Download: done")
        return
    cpe.pending_download = None
    time.sleep(args.get_delay)
    transfer = cpe.fetch_and_apply(download)
    cpe.transfer = transfer
    events: list[tuple[str, str]] = []
    if transfer.reboot:
        time.sleep(args.reboot_delay)
        events.append(("1 BOOT", ""))
    else:
        time.sleep(args.report_delay)
    events.append(("7 TRANSFER COMPLETE", ""))
    if transfer.value_change:
        events.append(("4 VALUE CHANGE", ""))
    events.append(("M Download", transfer.command_key))
    cpe.run_session_with_retries(events)
    if cpe.transfer is not None:
        raise SystemExit("TransferComplete was not acknowledged")
    log("cpe", "done")


if __name__ == "__main__":
    try:
        main()
    except (OSError, RuntimeError, ValueError) as err:
        log("cpe", f"failed: {err}")
        raise SystemExit(1) from err
