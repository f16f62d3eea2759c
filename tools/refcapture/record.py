#!/usr/bin/env python3
"""Records one reference capture: real ACS, file server and CPE talking over loopback.

    sudo python3 tools/refcapture/record.py VARIANT OUT.pcap
    python3 tools/refcapture/record.py --check VARIANT OUT.pcap    # verify an existing file

Starts the file server, the ACS and the CPE (each a separate process, addresses on
127.0.0.0/8 only), then tcpdump on `lo`, triggers the scenario, waits for the CPE to finish,
stops everything, and checks the capture with tshark: it prints the HTTP ladder with the step
numbers of the reference flow and fails when the ladder differs from the expected one.
Needs root (tcpdump), tcpdump and tshark. `overlay.py` reuses this recorder with the
components in network namespaces and tcpdump on an underlay, `tlsrecord.py` with them
speaking TLS in a namespace of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import (  # noqa: E402 (path set up above)
    ACS_IP,
    ACS_PATH,
    ACS_PORT,
    CPE_IP,
    CR_PORT,
    FS_IP,
    SERIAL,
    digest_response,
    make_config_file,
    make_firmware_image,
    parse_auth_params,
    url_host,
)


@dataclass(frozen=True)
class Addresses:
    """The addresses of the three components (by default on loopback)."""

    cpe: str = CPE_IP
    acs: str = ACS_IP
    fs: str = FS_IP

    def roles(self) -> dict[str, str]:
        """Role name by address, as the ladder names the ends of a message."""
        return {self.cpe: "CPE", self.acs: "ACS", self.fs: "FS"}


LOOPBACK = Addresses()
CAPTURE_FILTER = f"tcp and (host {CPE_IP} or host {ACS_IP} or host {FS_IP})"


@dataclass
class Setup:
    """Where the components run and where tcpdump listens (by default: all on lo)."""

    addresses: Addresses = LOOPBACK
    namespaces: dict[str, str] = field(default_factory=dict)  # component -> network namespace
    capture_namespace: str | None = None
    capture_interface: str = "lo"
    capture_filter: str | None = CAPTURE_FILTER

CONFIG_VERSION = "1.1.1"
CONFIG_PATH = f"/configs/{SERIAL}-{CONFIG_VERSION}.ini"
FIRMWARE_VERSION = "8.4.4.J"
FIRMWARE_PATH = f"/firmware/TG784n-{FIRMWARE_VERSION}.rbi"
FIRMWARE_SIZE = 256 * 1024
CR_PATH = f"/cr/{SERIAL}"


@dataclass
class Variant:
    """How to run one variant and what its HTTP ladder must look like."""

    acs_args: list[str]
    cpe_args: list[str]
    expected: list[tuple[str, str, str]]  # (step label, connection letter, message)
    trigger: str = "cpe"  # which process gets SIGUSR1 to start
    fs_args: list[str] = field(default_factory=list)
    acs_url: str = ""  # the CPE's ACS URL when not http://ACS:7547/cwmp
    more_cpes: list[tuple[str, list[str]]] = field(default_factory=list)  # (address, args)
    env: dict[str, str] = field(default_factory=dict)  # added to every program's environment
    cpe_status: int = 0  # the CPEs' expected exit status


def download_ladder(
    max_envelopes: int, cookie: bool, first_event: str, tc_events: str
) -> list[tuple[str, str, str]]:
    """The expected messages of a variant (see flow.md for the step numbers)."""
    nmr = " nmr=1"
    ladder = [
        ("2", "A", f"CPE>ACS POST Inform({first_event}){nmr}"),
        ("3", "A", "ACS>CPE 401 (empty) chal=Digest"),
        ("4", "A", f"CPE>ACS POST Inform({first_event}){nmr} auth=Digest"),
    ]
    set_cookie = " set-cookie" if cookie else ""
    with_cookie = " cookie" if cookie else ""
    if max_envelopes >= 2:
        ladder.append(("5", "A", f"ACS>CPE 200 InformResponse+Download{set_cookie}"))
        session_conn = "A"
    else:
        ladder.append(("5", "A", f"ACS>CPE 200 InformResponse{set_cookie}"))
        session_conn = "B" if cookie else "A"
        ladder += [
            ("-", session_conn, f"CPE>ACS POST (empty) auth=Digest{with_cookie}"),
            ("5", session_conn, "ACS>CPE 200 Download"),
        ]
    ladder += [
        ("6", session_conn, f"CPE>ACS POST DownloadResponse auth=Digest{with_cookie}"),
        ("7", session_conn, "ACS>CPE 200 (empty)"),
        ("9", "F", "CPE>FS GET (empty)"),
        ("10", "F", "FS>CPE 401 (empty) chal=Digest"),
        ("11", "F", "CPE>FS GET (empty) auth=Digest"),
        ("12", "F", "FS>CPE 200 (file)"),
        ("14", "T", f"CPE>ACS POST Inform({tc_events})"),
        ("15", "T", "ACS>CPE 401 (empty) chal=Digest"),
        ("16", "T", f"CPE>ACS POST Inform({tc_events}) auth=Digest"),
        ("17", "T", f"ACS>CPE 200 InformResponse{set_cookie}"),
        ("18", "T", f"CPE>ACS POST TransferComplete{nmr} auth=Digest{with_cookie}"),
        ("19", "T", "ACS>CPE 200 TransferCompleteResponse"),
        ("20", "T", f"CPE>ACS POST (empty) auth=Digest{with_cookie}"),
        ("21", "T", "ACS>CPE 200 (empty)"),
    ]
    return ladder


CONFIG_TC = "7 TRANSFER COMPLETE,4 VALUE CHANGE,M Download"
FIRMWARE_TC = "1 BOOT,7 TRANSFER COMPLETE,M Download"


def config_acs_args(files: str, fs_ip: str) -> list[str]:
    """ACS arguments for a configuration-file Download."""
    return [
        "--download-url", f"http://{url_host(fs_ip)}{CONFIG_PATH}",
        "--download-file", os.path.join(files, CONFIG_PATH.lstrip("/")),
        "--file-type", "3 Vendor Configuration File",
        "--command-key", f"cfg-{CONFIG_VERSION}",
        "--target-file-name", "user.ini",
    ]


def variants(files: str, addresses: Addresses = LOOPBACK) -> dict[str, Variant]:
    """All recordable variants; `files` is the file server's root directory."""
    fs_ip = addresses.fs
    cr_url = f"http://{url_host(addresses.cpe)}:{CR_PORT}{CR_PATH}"
    return {
        "config-update": Variant(
            config_acs_args(files, fs_ip),
            ["--max-envelopes", "2", "--wait-signal"],
            download_ladder(2, False, "2 PERIODIC", CONFIG_TC),
        ),
        "maxenvelopes1": Variant(
            config_acs_args(files, fs_ip),
            ["--max-envelopes", "1", "--wait-signal"],
            download_ladder(1, False, "2 PERIODIC", CONFIG_TC),
        ),
        "cookie": Variant(
            config_acs_args(files, fs_ip) + ["--cookie"],
            ["--max-envelopes", "1", "--reconnect-after-inform-response", "--wait-signal"],
            download_ladder(1, True, "2 PERIODIC", CONFIG_TC),
        ),
        "firmware": Variant(
            [
                "--download-url", f"http://{url_host(fs_ip)}{FIRMWARE_PATH}",
                "--download-file", os.path.join(files, FIRMWARE_PATH.lstrip("/")),
                "--file-type", "1 Firmware Upgrade Image",
                "--command-key", f"fw-{FIRMWARE_VERSION}",
            ],
            ["--max-envelopes", "2", "--wait-signal"],
            download_ladder(2, False, "2 PERIODIC", FIRMWARE_TC),
        ),
        "connection-request": Variant(
            config_acs_args(files, fs_ip) + ["--connection-request", cr_url],
            ["--max-envelopes", "2", "--connection-request-server", "--cr-path", CR_PATH],
            [
                ("CR", "R", "ACS>CPE GET (empty)"),
                ("CR", "R", "CPE>ACS 401 (empty) chal=Digest"),
                ("CR", "R", "ACS>CPE GET (empty) auth=Digest"),
                ("CR", "R", "CPE>ACS 204 (empty)"),
            ]
            + download_ladder(2, False, "6 CONNECTION REQUEST", CONFIG_TC),
            trigger="acs",
        ),
    }


# --- recording --------------------------------------------------------------------------------


def write_files(root: str) -> None:
    """Writes the configuration file and the firmware image the file server serves."""
    for path, data in (
        (CONFIG_PATH, make_config_file(CONFIG_VERSION)),
        (FIRMWARE_PATH, make_firmware_image(FIRMWARE_VERSION, FIRMWARE_SIZE)),
    ):
        local = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(local), exist_ok=True)
        with open(local, "wb") as handle:
            handle.write(data)


def in_namespace(namespace: str | None, argv: list[str]) -> list[str]:
    """`argv` run in a network namespace (`ip netns exec` replaces itself with the command)."""
    return ["ip", "netns", "exec", namespace, *argv] if namespace else argv


def start(
    name: str,
    args: list[str],
    logdir: str,
    namespace: str | None = None,
    program: str = "",
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen, str]:
    """Starts one component (`program`.py, by default `name`.py) with its output in
    `logdir/name.log`, in a network namespace when one is given, with `env` added to its
    environment."""
    log_path = os.path.join(logdir, f"{name}.log")
    log_file = open(log_path, "w")  # noqa: SIM115 (kept open for the child's lifetime)
    script = os.path.join(HERE, f"{program or name}.py")
    proc = subprocess.Popen(
        in_namespace(namespace, [sys.executable, "-u", script, *args]),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env} if env else None,
    )
    return proc, log_path


def wait_for(path: str, text: str, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Waits until `text` appears in the file at `path`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, errors="replace") as handle:
            if text in handle.read():
                return
        if proc.poll() is not None:
            raise RuntimeError(f"{path}: process exited early")
        time.sleep(0.05)
    raise RuntimeError(f"{path}: no {text!r} within {timeout} s")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stops a child this script started."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def record(name: str, out: str, keep_logs: str | None, setup: Setup | None = None) -> int:
    """Records variant `name` into `out` and checks it; returns the process exit status."""
    setup = setup or Setup()
    status = capture(name, out, keep_logs, setup)
    return status if status else check(name, out, setup.addresses)


def capture(
    name: str,
    out: str,
    keep_logs: str | None,
    setup: Setup,
    make_variant: Callable[[str, Addresses], Variant] | None = None,
) -> int:
    """Runs variant `name` (or the one `make_variant(files, addresses)` returns) with tcpdump
    writing `out`; returns the process exit status."""
    if os.geteuid() != 0:
        print("error: tcpdump needs root", file=sys.stderr)
        return 2
    for tool in ("tcpdump", "tshark"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found", file=sys.stderr)
            return 2
    out = os.path.abspath(out)
    work = tempfile.mkdtemp(prefix="refcapture-")
    files = os.path.join(work, "files")
    write_files(files)
    addresses = setup.addresses
    variant = (make_variant or (lambda f, a: variants(f, a)[name]))(files, addresses)
    acs_url = variant.acs_url or f"http://{url_host(addresses.acs)}:{ACS_PORT}{ACS_PATH}"
    env = variant.env
    procs: list[subprocess.Popen] = []
    tcpdump = None
    try:
        fs, fs_log = start(
            "fileserver", ["--root", files, "--listen-ip", addresses.fs, *variant.fs_args], work,
            setup.namespaces.get("fileserver"), env=env,
        )
        procs.append(fs)
        acs, acs_log = start(
            "acs", [*variant.acs_args, "--listen-ip", addresses.acs], work,
            setup.namespaces.get("acs"), env=env,
        )
        procs.append(acs)
        wait_for(fs_log, "ready", fs)
        wait_for(acs_log, "ready", acs)
        cpes = []
        cpe_runs = [("cpe", addresses.cpe, variant.cpe_args)]
        cpe_runs += [(f"cpe-{n}", a, c) for n, (a, c) in enumerate(variant.more_cpes, 2)]
        for log_name, source, cpe_args in cpe_runs:
            cpe, cpe_log = start(
                log_name, [*cpe_args, "--source-ip", source, "--acs-url", acs_url], work,
                setup.namespaces.get("cpe"), program="cpe", env=env,
            )
            procs.append(cpe)
            cpes.append(cpe)
            wait_for(cpe_log, "ready", cpe)

        if os.path.exists(out):
            os.unlink(out)
        tcpdump_argv = ["tcpdump", "-i", setup.capture_interface, "-U", "--immediate-mode",
                        "-s", "0", "-Z", "root", "-w", out]
        if setup.capture_filter:
            tcpdump_argv.append(setup.capture_filter)
        tcpdump = subprocess.Popen(
            in_namespace(setup.capture_namespace, tcpdump_argv),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = tcpdump.stderr.readline() if tcpdump.stderr else ""
        if "listening on" not in line:
            raise RuntimeError(f"tcpdump did not start: {line.strip()}")
        time.sleep(0.3)

        for proc in [acs] if variant.trigger == "acs" else cpes:
            proc.send_signal(signal.SIGUSR1)
        for cpe in cpes:
            cpe.wait(timeout=60)
        time.sleep(1.0)  # the last FIN/ACKs
        stop(tcpdump, signal.SIGINT)
        summary = tcpdump.stderr.read().strip() if tcpdump.stderr else ""
        print(f"tcpdump: {' / '.join(summary.splitlines())}")
        tcpdump = None
        for proc in procs:
            stop(proc)
        statuses = [cpe.returncode for cpe in cpes]
        if any(status != variant.cpe_status for status in statuses):
            print(f"error: CPE exit status {statuses}, expected {variant.cpe_status}; "
                  f"logs in {work}")
            keep_logs = keep_logs or work
            return 1
    finally:
        if tcpdump is not None:
            stop(tcpdump, signal.SIGINT)
        for proc in procs:
            stop(proc)
        if keep_logs:
            os.makedirs(keep_logs, exist_ok=True)
            for log_name in os.listdir(work):
                if log_name.endswith(".log"):
                    shutil.copy(os.path.join(work, log_name), keep_logs)
        if keep_logs != work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


# --- checking with tshark ---------------------------------------------------------------------

TSHARK_FIELDS = [
    "frame.number", "frame.time_relative", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport",
    "ip.dst", "ipv6.dst", "tcp.dstport", "http.request.method", "http.request.uri",
    "http.response.code", "http.authorization", "http.www_authenticate", "http.set_cookie", "http.cookie",
    "http.content_length_header", "http.file_data",
]


@dataclass
class HttpRow:
    """One HTTP message as tshark reports it."""

    frame: int
    time: float
    stream: int
    src: str
    dst: str
    method: str
    uri: str
    status: str
    authorization: str
    challenge: str
    set_cookie: str
    cookie: str
    content_length: str
    body: str

    def rpcs(self) -> list[str]:
        """RPC names of the body's envelopes."""
        return re.findall(r"Body>\s*<(?:[\w.-]+:)?(\w+)", self.body)

    def summary(self, roles: dict[str, str] | None = None) -> str:
        """The canonical one-line form compared with the expected ladder."""
        roles = roles or LOOPBACK.roles()
        src, dst = roles.get(self.src, self.src), roles.get(self.dst, self.dst)
        head = self.method or self.status
        rpcs = self.rpcs()
        if rpcs:
            what = "+".join(rpcs)
            if rpcs == ["Inform"]:
                events = re.findall(r"<EventCode>([^<]*)</EventCode>", self.body)
                what += f"({','.join(events)})"
        elif self.body:
            what = "(file)"
        else:
            what = "(empty)"
        flags = []
        if re.search(r"NoMoreRequests>1<", self.body):
            flags.append("nmr=1")
        if self.authorization:
            flags.append(f"auth={self.authorization.split()[0]}")
        if self.challenge:
            flags.append(f"chal={self.challenge.split()[0]}")
        if self.set_cookie:
            flags.append("set-cookie")
        if self.cookie:
            flags.append("cookie")
        return " ".join([f"{src}>{dst}", head, what, *flags])


def tshark_rows(
    path: str, roles: dict[str, str] | None = None, options: list[str] | None = None
) -> list[HttpRow]:
    """The HTTP messages of a capture, in frame order (JSON output keeps binary bodies apart).
    A message's ends are the addresses of `roles` among all its IP headers (a tunnelled frame
    has an outer and an inner one), else its first IPv4 or IPv6 addresses. `options` go to
    tshark (keys to decrypt TLS)."""
    roles = roles or LOOPBACK.roles()
    cmd = ["tshark", *(options or []), "-r", path, "-Y", "http", "-T", "json"]
    for name in TSHARK_FIELDS:
        cmd += ["-e", name]
    result = subprocess.run(cmd, capture_output=True, check=True)
    rows = []
    for packet in json.loads(result.stdout.decode("utf-8", "replace")):
        layers = packet["_source"]["layers"]

        def first(name: str) -> str:
            return (layers.get(name) or [""])[0]

        def end(suffix: str) -> str:
            found = (layers.get(f"ip.{suffix}") or []) + (layers.get(f"ipv6.{suffix}") or [])
            return next((a for a in found if a in roles), found[0] if found else "")

        rows.append(
            HttpRow(
                int(first("frame.number")), float(first("frame.time_relative")),
                int(first("tcp.stream")), end("src"), end("dst"),
                first("http.request.method"), first("http.request.uri"),
                first("http.response.code"), first("http.authorization"),
                first("http.www_authenticate"), first("http.set_cookie"), first("http.cookie"),
                first("http.content_length_header"), first("http.file_data"),
            )
        )
    return rows


def check(
    name: str,
    path: str,
    addresses: Addresses = LOOPBACK,
    expected: list[tuple[str, str, str]] | None = None,
    options: list[str] | None = None,
) -> int:
    """Prints the ladder of `path` and compares it with variant `name` (or with `expected`,
    tshark run with `options`); 0 when it matches."""
    expected = expected or variants("files", addresses)[name].expected
    roles = addresses.roles()
    rows = tshark_rows(path, roles, options)
    problems = []
    letters: dict[str, int] = {}
    print(f"{os.path.basename(path)} ({name}): {len(rows)} HTTP messages")
    print(f"{'step':>4} {'frame':>5} {'time':>7} {'conn':>4}  message")
    for index, row in enumerate(rows):
        step, letter, want = expected[index] if index < len(expected) else ("?", "?", "")
        got = row.summary(roles)
        print(f"{step:>4} {row.frame:>5} {row.time:7.3f} {row.stream:>4}  {got}")
        if got != want:
            problems.append(f"frame {row.frame}: got {got!r}, expected {want!r}")
        if letters.setdefault(letter, row.stream) != row.stream:
            problems.append(f"frame {row.frame}: expected on the connection of {letter}")
    if len(set(letters.values())) != len(letters):
        problems.append("connections that should differ are the same")
    if len(rows) != len(expected):
        problems.append(f"{len(rows)} HTTP messages, expected {len(expected)}")
    problems += check_contents(rows, roles)
    problems += check_digest(rows)
    problems += check_tcp(path, options)
    for problem in problems:
        print(f"MISMATCH: {problem}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def check_contents(rows: list[HttpRow], roles: dict[str, str]) -> list[str]:
    """Cross-checks values: FileSize vs. the file, CommandKeys, FaultCode, versions."""
    problems = []
    download = next((r.body for r in rows if "Download" in r.rpcs()), "")
    file_row = next((r for r in rows if r.summary(roles).startswith("FS>CPE 200")), None)
    tc = next((r.body for r in rows if "TransferComplete" in r.rpcs()), "")
    size = re.search(r"<FileSize>(\d+)</FileSize>", download)
    if not size or file_row is None or size.group(1) != file_row.content_length:
        problems.append("Download FileSize differs from the file's Content-Length")
    key = re.search(r"<CommandKey>([^<]*)</CommandKey>", download)
    tc_key = re.search(r"<CommandKey>([^<]*)</CommandKey>", tc)
    if not key or not tc_key or key.group(1) != tc_key.group(1) or not key.group(1):
        problems.append("TransferComplete CommandKey differs from the Download's")
    if "<FaultCode>0</FaultCode>" not in tc:
        problems.append("TransferComplete FaultCode is not 0")
    informs = [r.body for r in rows if r.rpcs() == ["Inform"]]
    if informs:
        first, last = informs[0], informs[-1]
        if f"<CommandKey>{key.group(1) if key else ''}</CommandKey>" not in last:
            problems.append("the TRANSFER COMPLETE Inform lacks the Download's CommandKey")
        if param(first, "SoftwareVersion") == param(last, "SoftwareVersion") and (
            param(first, "VendorConfigFile.1.Version") == param(last, "VendorConfigFile.1.Version")
        ):
            problems.append("no version changed between the first and the last Inform")
    return problems


#: The default credentials of the three components, by Digest realm.
CREDENTIALS = {
    "cwmpscope reference ACS": ("00147F-CP0923JT0XX", "cpe-secret"),
    "cwmpscope reference files": ("fileuser", "file-secret"),
    "TG784n Connection Request": ("acs", "cr-secret"),
}


def check_digest(rows: list[HttpRow], more_users: dict[str, str] | None = None) -> list[str]:
    """Recomputes every Digest response of the capture from the known passwords (and those
    of `more_users`, by user name), and checks that its nonce is the one the last challenge
    on that connection issued."""
    problems = []
    nonce_by_stream: dict[int, str] = {}
    for row in rows:
        if row.challenge.lower().startswith("digest"):
            nonce_by_stream[row.stream] = parse_auth_params(row.challenge[6:]).get("nonce", "")
        if not row.authorization.lower().startswith("digest"):
            continue
        p = parse_auth_params(row.authorization[6:])
        user, password = CREDENTIALS.get(p.get("realm", ""), ("", ""))
        if more_users and p.get("username") in more_users:
            user = p["username"]
            password = more_users[user]
        expected = digest_response(
            user, p.get("realm", ""), password, row.method, p.get("uri", ""),
            p.get("nonce", ""), p.get("nc", ""), p.get("cnonce", ""), p.get("qop", ""),
        )
        if p.get("username") != user or p.get("response") != expected:
            problems.append(f"frame {row.frame}: Digest response does not verify")
        if p.get("uri") != row.uri:
            problems.append(f"frame {row.frame}: Digest uri differs from the request target")
        if row.stream in nonce_by_stream and p.get("nonce") != nonce_by_stream[row.stream]:
            problems.append(f"frame {row.frame}: nonce is not the connection's last challenge")
    return problems


def check_tcp(path: str, options: list[str] | None = None) -> list[str]:
    """Every connection opens with a handshake and closes with a FIN from each side; no RST,
    retransmission or lost segment anywhere."""
    problems = []
    anomalies = subprocess.run(
        ["tshark", *(options or []), "-r", path,
         "-Y", "tcp.flags.reset == 1 or tcp.analysis.retransmission"
         " or tcp.analysis.lost_segment or tcp.analysis.out_of_order", "-T", "fields",
         "-e", "frame.number"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    if anomalies:
        problems.append(f"TCP anomalies (RST, retransmission, loss) in frames {anomalies}")
    # The two ends of a connection differ by their port (the server's is 7547 or 80), which
    # holds whatever IP headers (tunnels) the frame has.
    flags = subprocess.run(
        ["tshark", "-r", path, "-T", "fields", "-E", "separator=,", "-e", "tcp.stream",
         "-e", "tcp.srcport", "-e", "tcp.flags.syn", "-e", "tcp.flags.fin"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    streams: dict[str, dict[str, set]] = {}
    for line in flags:
        stream, src, syn, fin = line.split(",")
        entry = streams.setdefault(stream, {"syn": set(), "fin": set()})
        if syn in ("1", "True"):
            entry["syn"].add(src)
        if fin in ("1", "True"):
            entry["fin"].add(src)
    for stream, entry in sorted(streams.items()):
        if len(entry["syn"]) != 2 or len(entry["fin"]) != 2:
            problems.append(f"TCP stream {stream} lacks its handshake or its two FINs")
    return problems


def param(body: str, suffix: str) -> str:
    """Value of the Inform parameter whose name ends with `suffix`."""
    match = re.search(
        rf"<Name>[^<]*\.{re.escape(suffix)}</Name><Value[^>]*>([^<]*)</Value>", body
    )
    return match.group(1) if match else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant", choices=sorted(variants("files")))
    parser.add_argument("out", help="pcap file to write (or, with --check, to read)")
    parser.add_argument("--check", action="store_true", help="only check an existing capture")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the components' logs to DIR")
    args = parser.parse_args()
    if args.check:
        return check(args.variant, args.out)
    return record(args.variant, args.out, args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
