#!/usr/bin/env python3
"""Records the CWMP-over-TLS captures (`captures/tls/`) and checks them with tshark.

    sudo python3 tools/refcapture/tlsrecord.py pki                 # the test PKI, once
    sudo python3 tools/refcapture/tlsrecord.py record NAME...      # record (and check)
    python3 tools/refcapture/tlsrecord.py derive NAME...           # cut, damage, inject keys
    python3 tools/refcapture/tlsrecord.py check NAME...            # check existing files
    sudo python3 tools/refcapture/tlsrecord.py all                 # everything, in order

The configuration update of `record.py` (steps 2-22) with the ACS, and in some recordings
the file server, speaking TLS (OpenSSL through Python's ssl module), in a network namespace
of its own (`cwmpov-PID-RANDOM-tls`, removed on every exit path) so that nothing else shares
its loopback. The certificates come from a throwaway test CA made with `openssl` (`pki`);
the CPE (or, for the fleet, the ACS) writes the NSS key log. Derived captures are made from
recorded ones with editcap and `pcapedit.py`. The check decrypts with tshark, using the same
key material the tests give cwmpscope, and compares the HTTP ladder, the Digest responses,
the TCP connections and the TLS handshakes (version, cipher suite, resumption,
encrypt-then-MAC, alerts, certificate) with what each capture is meant to show. Needs root
(namespaces, tcpdump), ip, tcpdump, tshark, editcap and openssl.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import overlay  # noqa: E402 (path set up above)
import record  # noqa: E402
from common import ACS_PATH, ACS_PORT, make_config_file  # noqa: E402
from record import Addresses, HttpRow, Setup, Variant  # noqa: E402

OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "captures", "tls"))
PKI_DIR = "pki"  # under OUT_DIR

ADDRESSES = Addresses(cpe="127.0.10.5", acs="127.0.10.2", fs="127.0.10.3")
#: The fleet's CPEs: (address, serial); the first is ADDRESSES.cpe.
FLEET = [("127.0.10.5", "CP0923JT001"), ("127.0.10.6", "CP0923JT002"),
         ("127.0.10.7", "CP0923JT003")]
ACS_HOST, FS_HOST, LEGACY_HOST = "acs.cwmpscope.test", "files.cwmpscope.test", \
    "acs-legacy.cwmpscope.test"
ACS_URL = f"https://{ACS_HOST}:{ACS_PORT}{ACS_PATH}"
FS_TLS_PORT = 443
#: tshark reads port 7547 as TLS (443 it knows).
TSHARK_TLS = ["-o", "tcp.reassemble_out_of_order:TRUE", "-d", f"tcp.port=={ACS_PORT},tls"]

#: TLS 1.3 cipher suites by name, and the TLS 1.2 ones used here (IANA codes).
SUITES = {
    "TLS_AES_128_GCM_SHA256": 0x1301,
    "TLS_AES_256_GCM_SHA384": 0x1302,
    "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
    "ECDHE-RSA-AES128-GCM-SHA256": 0xC02F,
    "ECDHE-RSA-CHACHA20-POLY1305": 0xCCA8,
    "ECDHE-RSA-AES256-SHA384": 0xC028,
    "ECDHE-RSA-AES128-SHA": 0xC013,
    "AES256-GCM-SHA384": 0x009D,
    "NULL-SHA256": 0x003B,
    "AECDH-AES128-SHA": 0xC018,
}
#: TLS alert descriptions the checks name.
ALERTS = {"unknown_ca": 48, "close_notify": 0}
#: tshark's version numbers.
VERSIONS = {"1.0": 0x0301, "1.1": 0x0302, "1.2": 0x0303, "1.3": 0x0304}

# --- the test PKI ----------------------------------------------------------------------------

#: (name, subject CN = SAN DNS name, issuer, not before, not after). Dates are fixed so that
#: the captures of December 2026 see the expired one expired and the others valid.
CERTIFICATES = [
    ("ca", "cwmpscope test CA", None, "20261101000000Z", "20361101000000Z"),
    ("other-ca", "cwmpscope other CA", None, "20261101000000Z", "20361101000000Z"),
    ("acs", ACS_HOST, "ca", "20261101000000Z", "20281101000000Z"),
    ("files", FS_HOST, "ca", "20261101000000Z", "20281101000000Z"),
    ("acs-expired", ACS_HOST, "ca", "20241101000000Z", "20251101000000Z"),
    ("acs-legacy", LEGACY_HOST, "ca", "20261101000000Z", "20281101000000Z"),
    ("acs-new", ACS_HOST, "other-ca", "20261201000000Z", "20281201000000Z"),
]

CA_CONFIG = """\
[ca]
default_ca = test_ca
[test_ca]
database = {work}/index.txt
new_certs_dir = {work}
serial = {work}/serial
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[any]
commonName = supplied
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:${{ENV::SAN}}
[authority]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""


def make_pki(pki: str) -> None:
    """Writes the test CA, the other CA and the server certificates with their RSA keys
    (PKCS#8 PEM, unencrypted; the ACS key also as PKCS#1) into `pki`."""
    os.makedirs(pki, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="refcapture-pki-") as work:
        config = os.path.join(work, "ca.cnf")
        with open(config, "w") as handle:
            handle.write(CA_CONFIG.format(work=work))
        open(os.path.join(work, "index.txt"), "w").close()
        with open(os.path.join(work, "serial"), "w") as handle:
            handle.write("1000\n")
        for name, cn, issuer, start, end in CERTIFICATES:
            key, cert = os.path.join(pki, f"{name}.key.pem"), os.path.join(pki, f"{name}.pem")
            csr = os.path.join(work, f"{name}.csr")
            run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                 "-out", key])
            run(["openssl", "req", "-new", "-key", key, "-subj", f"/CN={cn}", "-out", csr])
            sign = ["openssl", "ca", "-config", config, "-batch", "-notext", "-in", csr,
                    "-startdate", start, "-enddate", end, "-out", cert]
            if issuer is None:
                sign += ["-selfsign", "-keyfile", key, "-extensions", "authority"]
            else:
                sign += ["-cert", os.path.join(pki, f"{issuer}.pem"),
                         "-keyfile", os.path.join(pki, f"{issuer}.key.pem"),
                         "-extensions", "server"]
            run(sign, env={"SAN": cn})
            print(f"pki: {name}: CN={cn}, {start}..{end}, issuer {issuer or 'itself'}")
        run(["openssl", "rsa", "-in", os.path.join(pki, "acs.key.pem"), "-traditional",
             "-out", os.path.join(pki, "acs.pkcs1.key.pem")])


def run(argv: list[str], env: dict[str, str] | None = None) -> str:
    """Runs a command; its failure ends the program. Returns its standard output."""
    result = subprocess.run(argv, capture_output=True, text=True,
                            env={**os.environ, **env} if env else None)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout


# --- the recordings --------------------------------------------------------------------------


@dataclass
class Recording:
    """One recorded capture: how the three programs speak TLS, and what tshark must see."""

    version: str  # "1.0" .. "1.3", pinned on both sides
    suite: str  # the suite negotiated: a TLS 1.3 suite, or the TLS 1.2/1.0 cipher list
    acs_cert: str = "acs"  # certificate of the ACS (in the PKI)
    next_cert: str = ""  # the ACS's certificate from its second connection on
    https_fetch: bool = False  # the file server speaks TLS too
    resume: bool = False  # the CPE resumes its session on the next connection to a server
    no_tickets: bool = False  # servers issue no tickets (TLS 1.2: resumption by session ID)
    no_etm: bool = False  # the CPE does not offer encrypt-then-MAC
    verify: str = "full"  # the CPE's check of the server certificate
    keys: str = "keylog"  # key material: "keylog" (the CPE's), "acs-keylog", "rsa"
    fleet: bool = False  # three CPEs
    handshake_fails: bool = False  # the TRANSFER COMPLETE session cannot connect
    seclevel0: bool = False  # OpenSSL security level 0 (old versions, weak suites)
    etm: bool | None = None  # encrypt-then-MAC expected in the ServerHello (TLS 1.2 CBC)
    resumed: int = 0  # connections expected to be resumed
    summary: str = ""

    def is_tls13(self) -> bool:
        return self.version == "1.3"


RECORDINGS: dict[str, Recording] = {
    "tls13-aes256gcm": Recording(
        "1.3", "TLS_AES_256_GCM_SHA384",
        summary="TLS 1.3 to the ACS, the file over HTTP"),
    "tls13-chacha20": Recording(
        "1.3", "TLS_CHACHA20_POLY1305_SHA256",
        summary="TLS 1.3 with ChaCha20-Poly1305"),
    "tls13-aes128gcm-resumed-https-fetch": Recording(
        "1.3", "TLS_AES_128_GCM_SHA256", https_fetch=True, resume=True, resumed=1,
        summary="TLS 1.3, the file over HTTPS, the second ACS connection resumed (PSK)"),
    "tls13-fleet": Recording(
        "1.3", "TLS_AES_256_GCM_SHA384", fleet=True, keys="acs-keylog",
        summary="three CPEs at once, one key log written by the ACS"),
    "tls13-expired-certificate": Recording(
        "1.3", "TLS_AES_256_GCM_SHA384", acs_cert="acs-expired", verify="none",
        summary="the ACS certificate expired on 2025-11-01; the CPE does not check it"),
    "tls13-handshake-failure": Recording(
        "1.3", "TLS_AES_256_GCM_SHA384", next_cert="acs-new", handshake_fails=True,
        summary="the ACS certificate changes after the first session; the CPE rejects it"),
    "tls12-ecdhe-aes128gcm": Recording(
        "1.2", "ECDHE-RSA-AES128-GCM-SHA256",
        summary="TLS 1.2 ECDHE with AES-128-GCM"),
    "tls12-ecdhe-chacha20": Recording(
        "1.2", "ECDHE-RSA-CHACHA20-POLY1305",
        summary="TLS 1.2 ECDHE with ChaCha20-Poly1305"),
    "tls12-ecdhe-aes256cbc-sha384-etm": Recording(
        "1.2", "ECDHE-RSA-AES256-SHA384", etm=True,
        summary="TLS 1.2 ECDHE with AES-256-CBC and HMAC-SHA384, encrypt-then-MAC"),
    "tls12-ecdhe-aes128cbc-sha-mte": Recording(
        "1.2", "ECDHE-RSA-AES128-SHA", no_etm=True, etm=False,
        summary="TLS 1.2 ECDHE with AES-128-CBC and HMAC-SHA1, MAC-then-encrypt"),
    "tls12-ecdhe-ticket-resumption": Recording(
        "1.2", "ECDHE-RSA-AES128-GCM-SHA256", resume=True, resumed=1,
        summary="TLS 1.2, the second ACS connection resumed with a session ticket"),
    "tls12-rsa-aes256gcm": Recording(
        "1.2", "AES256-GCM-SHA384", keys="rsa",
        summary="TLS 1.2 with RSA key exchange; the ACS's private key decrypts it"),
    "tls12-rsa-sessionid-resumption": Recording(
        "1.2", "AES256-GCM-SHA384", keys="rsa", resume=True, no_tickets=True, resumed=1,
        summary="RSA key exchange, the second ACS connection resumed by session ID"),
    "tls12-name-mismatch": Recording(
        "1.2", "ECDHE-RSA-AES128-GCM-SHA256", acs_cert="acs-legacy", verify="chain",
        summary=f"the ACS certificate names {LEGACY_HOST}, the URL {ACS_HOST}"),
    "tls12-handshake-failure": Recording(
        "1.2", "ECDHE-RSA-AES128-GCM-SHA256", next_cert="acs-new", handshake_fails=True,
        summary="the ACS certificate changes after the first session; the CPE rejects it"),
    "tls12-null-cipher": Recording(
        "1.2", "NULL-SHA256", seclevel0=True,
        summary="TLS 1.2 with NULL-SHA256: RSA key exchange, no encryption"),
    "tls12-anonymous": Recording(
        "1.2", "AECDH-AES128-SHA", verify="none", seclevel0=True,
        summary="TLS 1.2 with anonymous ECDH: no server certificate"),
    "tls10-weak-version": Recording(
        "1.0", "ECDHE-RSA-AES128-SHA", seclevel0=True,
        summary="TLS 1.0 (OpenSSL security level 0)"),
}


def keylog_path(out_dir: str, name: str) -> str:
    """The key log stored beside capture `name`."""
    return os.path.join(out_dir, f"{name}.keys")


def key_options(out_dir: str, name: str) -> list[str]:
    """tshark options giving it the key material of capture `name`."""
    rec = RECORDINGS[name]
    if rec.keys == "rsa":
        key = os.path.join(out_dir, PKI_DIR, "acs.key.pem")
        return ["-o", f'uat:rsa_keys:"{key}",""']
    return ["-o", f"tls.keylog_file:{keylog_path(out_dir, name)}"]


def make_variant(name: str, out_dir: str, work: str) -> Callable[[str, Addresses], Variant]:
    """record.py's Variant for recording `name` (the key log goes to `work`)."""
    rec = RECORDINGS[name]
    pki = os.path.join(out_dir, PKI_DIR)

    def pem(cert: str) -> list[str]:
        return [os.path.join(pki, f"{cert}.pem"), os.path.join(pki, f"{cert}.key.pem")]

    def build(files: str, addresses: Addresses) -> Variant:
        pinned = ["--tls-version", rec.version]
        env = {}
        if rec.is_tls13():
            conf = os.path.join(work, "openssl.cnf")
            with open(conf, "w") as handle:
                handle.write(
                    "openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\n"
                    "system_default = system_default\n[system_default]\n"
                    f"Ciphersuites = {rec.suite}\n"
                )
            env["OPENSSL_CONF"] = conf
        else:
            ciphers = rec.suite + (":@SECLEVEL=0" if rec.seclevel0 else "")
            pinned += ["--tls-ciphers", ciphers]
        server = [*pinned] + (["--tls-no-tickets"] if rec.no_tickets else [])
        acs_cert, acs_key = pem(rec.acs_cert)
        acs = [*server, "--tls-cert", acs_cert, "--tls-key", acs_key]
        if rec.next_cert:
            next_cert, next_key = pem(rec.next_cert)
            acs += ["--tls-next-cert", next_cert, "--tls-next-key", next_key,
                    "--tls-next-after", "1"]
        if rec.keys == "acs-keylog":
            acs += ["--tls-keylog", os.path.join(work, "acs.keys")]
        if rec.https_fetch:
            fs_cert, fs_key = pem("files")
            fs_args = [*server, "--tls-cert", fs_cert, "--tls-key", fs_key,
                       "--port", str(FS_TLS_PORT)]
            url = f"https://{FS_HOST}{record.CONFIG_PATH}"
        else:
            fs_args, url = [], f"http://{addresses.fs}{record.CONFIG_PATH}"
        path = record.CONFIG_PATH
        if rec.fleet:  # a file for each CPE, named after its serial
            path = path.replace(record.SERIAL, "{serial}")
            url = url.replace(record.SERIAL, "{serial}")
            for _, serial in FLEET:
                local = os.path.join(files, path.lstrip("/").format(serial=serial))
                with open(local, "wb") as handle:
                    handle.write(make_config_file(record.CONFIG_VERSION))
            acs += [f"--user=00147F-{serial}:cpe-secret" for _, serial in FLEET]
        acs += [
            "--download-url", url,
            "--download-file", os.path.join(files, path.lstrip("/")),
            "--file-type", "3 Vendor Configuration File",
            "--command-key", f"cfg-{record.CONFIG_VERSION}",
            "--target-file-name", "user.ini",
        ]
        cpe = [*pinned, "--max-envelopes", "2", "--wait-signal", "--inform-management-url",
               "--tls-verify", rec.verify, "--tls-ca", os.path.join(pki, "ca.pem"),
               "--resolve", f"{ACS_HOST}={addresses.acs}",
               "--resolve", f"{FS_HOST}={addresses.fs}"]
        if rec.resume:
            cpe.append("--tls-resume")
        if rec.no_etm:
            cpe.append("--tls-no-etm")
        if rec.handshake_fails:
            cpe += ["--session-retries", "1", "--session-retry-delay", "2"]
        if rec.keys == "keylog":
            cpe += ["--tls-keylog", os.path.join(work, "cpe.keys")]

        def identity(serial: str) -> list[str]:
            return ["--serial", serial, "--username", f"00147F-{serial}",
                    "--cr-path", f"/cr/{serial}"]

        more = []
        if rec.fleet:
            more = [(address, [*cpe, *identity(serial)]) for address, serial in FLEET[1:]]
            cpe += identity(FLEET[0][1])
        return Variant(acs, cpe, expected_ladder(rec), fs_args=fs_args, acs_url=ACS_URL,
                       more_cpes=more, env=env, cpe_status=1 if rec.handshake_fails else 0)

    return build


def expected_ladder(rec: Recording) -> list[tuple[str, str, str]]:
    """The HTTP messages tshark must decode (per CPE for the fleet)."""
    ladder = record.download_ladder(2, False, "2 PERIODIC", record.CONFIG_TC)
    if rec.handshake_fails:
        return [entry for entry in ladder if int(entry[0]) <= 12]
    return ladder


def record_capture(name: str, out_dir: str, keep_logs: str | None) -> int:
    """Records capture `name` in a namespace of its own, stores its key log, checks it."""
    if os.geteuid() != 0:
        print("error: namespaces and tcpdump need root", file=sys.stderr)
        return 2
    for tool in ("ip", "tcpdump", "tshark", "openssl"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found", file=sys.stderr)
            return 2
    if not os.path.exists(os.path.join(out_dir, PKI_DIR, "ca.pem")):
        print("error: no PKI; run `tlsrecord.py pki` first", file=sys.stderr)
        return 2
    rec = RECORDINGS[name]
    out = os.path.join(out_dir, f"{name}.pcap")
    work = tempfile.mkdtemp(prefix="refcapture-tls-")
    lab = overlay.Lab(work)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, overlay.on_signal)
    try:
        namespace = lab.ns("tls")
        setup = Setup(
            addresses=ADDRESSES,
            namespaces={"fileserver": namespace, "acs": namespace, "cpe": namespace},
            capture_namespace=namespace,
            capture_interface="lo",
            capture_filter="tcp",
        )
        status = record.capture(name, out, keep_logs, setup, make_variant(name, out_dir, work))
        if status == 0 and rec.keys != "rsa":
            source = "acs.keys" if rec.keys == "acs-keylog" else "cpe.keys"
            shutil.copy(os.path.join(work, source), keylog_path(out_dir, name))
    except (RuntimeError, overlay.Terminated, KeyboardInterrupt) as err:
        print(f"error: {err}", file=sys.stderr)
        status = 1
    finally:
        lab.close()
        if keep_logs:
            os.makedirs(keep_logs, exist_ok=True)
            for log_name in os.listdir(work):
                if log_name.endswith(".log"):
                    shutil.copy(os.path.join(work, log_name), keep_logs)
        shutil.rmtree(work, ignore_errors=True)
    return status if status else check(name, out_dir)


# --- checking --------------------------------------------------------------------------------


def tshark_fields(
    path: str, options: list[str], display: str, fields: list[str]
) -> list[list[str]]:
    """Rows of `-T fields` output (one list of values a frame; several values of a field
    joined by commas)."""
    argv = ["tshark", *TSHARK_TLS, *options, "-r", path, "-Y", display, "-T", "fields",
            "-E", "separator=/t"]
    for name in fields:
        argv += ["-e", name]
    return [line.split("\t") for line in run(argv).splitlines()]


@dataclass
class Handshake:
    """What tshark shows of one TCP connection's TLS."""

    stream: int
    version: int | None = None
    suite: int | None = None
    server_extensions: set[int] = field(default_factory=set)
    messages: set[int] = field(default_factory=set)  # handshake message types
    alerts: list[int] = field(default_factory=list)
    certificate_names: list[str] = field(default_factory=list)
    not_after: list[str] = field(default_factory=list)

    def resumed(self) -> bool:
        """Resumed: a PSK accepted (TLS 1.3), or finished without a ClientKeyExchange
        (TLS 1.2 and older)."""
        if self.version == VERSIONS["1.3"]:
            return 41 in self.server_extensions
        return 2 in self.messages and 16 not in self.messages and 20 in self.messages


def handshakes(path: str, options: list[str]) -> dict[int, Handshake]:
    """The TLS of every TCP connection of a capture, by tcp.stream."""
    found: dict[int, Handshake] = {}
    rows = tshark_fields(
        path, options, "tls",
        ["tcp.stream", "tls.handshake.type", "tls.handshake.version",
         "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite",
         "tls.handshake.extension.type", "tls.alert_message.desc", "x509ce.dNSName",
         "x509af.utcTime"],
    )
    for stream, types, version, supported, suite, extensions, alert, names, times in rows:
        shake = found.setdefault(int(stream), Handshake(int(stream)))
        kinds = [int(t) for t in types.split(",") if t]
        shake.messages.update(kinds)
        if 2 in kinds:  # a ServerHello (first in its record)
            shake.version = int((supported or version).split(",")[-1], 0)
            shake.suite = int(suite.split(",")[0], 0) if suite else None
            shake.server_extensions.update(int(e) for e in extensions.split(",") if e)
        shake.alerts += [int(a) for a in alert.split(",") if a]
        shake.certificate_names += [n for n in names.split(",") if n]
        shake.not_after += [t for t in times.split(",") if t][1::2]  # (notBefore, notAfter)
    return found


def ladder_problems(rows: list[HttpRow], expected: list[tuple[str, str, str]],
                    roles: dict[str, str]) -> list[str]:
    """Prints the ladder and compares it with the expected one (messages and connections)."""
    problems = []
    letters: dict[str, int] = {}
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
    return problems


def fleet_users() -> dict[str, str]:
    return {f"00147F-{serial}": "cpe-secret" for _, serial in FLEET}


def check_http(path: str, rec: Recording, options: list[str]) -> list[str]:
    """The HTTP ladder (per CPE for the fleet), contents and Digest responses."""
    problems = []
    cpes = [address for address, _ in FLEET] if rec.fleet else [ADDRESSES.cpe]
    all_rows = record.tshark_rows(path, None, [*TSHARK_TLS, *options])
    print(f"{os.path.basename(path)}: {len(all_rows)} HTTP messages")
    for cpe in cpes:
        roles = Addresses(cpe=cpe, acs=ADDRESSES.acs, fs=ADDRESSES.fs).roles()
        rows = [r for r in all_rows if cpe in (r.src, r.dst)]
        if rec.fleet:
            print(f"CPE {cpe}:")
        problems += ladder_problems(rows, expected_ladder(rec), roles)
        if not rec.handshake_fails:
            problems += record.check_contents(rows, roles)
        problems += record.check_digest(rows, fleet_users() if rec.fleet else None)
    if sum(1 for r in all_rows if not any(c in (r.src, r.dst) for c in cpes)):
        problems.append("HTTP messages of no CPE")
    return problems


def check_tls(path: str, rec: Recording, options: list[str],
              shakes: dict[int, Handshake]) -> list[str]:
    """Version, suite, resumption, encrypt-then-MAC, alerts and certificates of every
    connection."""
    problems = []
    acs_streams = set(tshark_column(path, options, f"tcp.port == {ACS_PORT}"))
    want_suite = SUITES[rec.suite]
    resumed = 0
    for stream, shake in sorted(shakes.items()):
        server = "ACS" if stream in acs_streams else "FS"
        names = sorted(set(shake.certificate_names))
        print(f"tls: stream {stream} ({server}): version {shake.version and hex(shake.version)}, "
              f"suite {shake.suite and hex(shake.suite)}, resumed {shake.resumed()}, "
              f"ServerHello extensions {sorted(shake.server_extensions)}, "
              f"alerts {shake.alerts}, certificate {names} until {shake.not_after}")
        if shake.version != VERSIONS[rec.version]:
            problems.append(f"stream {stream}: version {shake.version}")
        if shake.suite != want_suite:
            problems.append(f"stream {stream}: suite {shake.suite} instead of {want_suite:#06x}")
        resumed += shake.resumed()
        if rec.etm is not None and (22 in shake.server_extensions) != rec.etm:
            problems.append(f"stream {stream}: encrypt_then_mac is not {rec.etm}")
        if rec.version in ("1.2", "1.0") and 23 not in shake.server_extensions:
            problems.append(f"stream {stream}: no extended master secret")
        bad_alerts = [a for a in shake.alerts if a != ALERTS["close_notify"]]
        if bad_alerts and not rec.handshake_fails:
            problems.append(f"stream {stream}: alerts {bad_alerts}")
        if server == "ACS" and not shake.resumed() and rec.suite != "AECDH-AES128-SHA":
            expected_name = LEGACY_HOST if rec.acs_cert == "acs-legacy" else ACS_HOST
            if expected_name not in names:
                problems.append(f"stream {stream}: certificate names {names}")
    if resumed != rec.resumed:
        problems.append(f"{resumed} resumed connections, expected {rec.resumed}")
    if rec.handshake_fails:
        failed = [s for s in shakes.values() if ALERTS["unknown_ca"] in s.alerts]
        if len(failed) != 2:
            problems.append(f"{len(failed)} connections ended by unknown_ca, expected 2")
    if rec.acs_cert == "acs-expired":
        ends = {d for s in shakes.values() for d in s.not_after}
        if not ends or any("2025" not in d for d in ends):
            problems.append(f"certificate validity {ends}, expected the expired one")
    return problems


def tshark_column(
    path: str, options: list[str], display: str, name: str = "tcp.stream"
) -> list[int]:
    """One numeric field of the frames matching `display`."""
    return [int(row[0]) for row in tshark_fields(path, options, display, [name]) if row[0]]


def check(name: str, out_dir: str) -> int:
    """Checks recorded capture `name` with tshark and its key material; 0 when all holds."""
    if name in DERIVED:
        return check_derived(name, out_dir)
    rec = RECORDINGS[name]
    path = os.path.join(out_dir, f"{name}.pcap")
    options = key_options(out_dir, name)
    problems = check_http(path, rec, options)
    shakes = handshakes(path, options)
    problems += check_tls(path, rec, options, shakes)
    if rec.handshake_fails:
        problems += check_failed_tcp(path, shakes)
    else:
        problems += record.check_tcp(path, [*TSHARK_TLS, *options])
    print(f"{os.path.basename(path)}: {count_frames(path)} frames, "
          f"{len(set(tshark_column(path, [], 'tcp')))} TCP connections")
    for problem in problems:
        print(f"MISMATCH: {problem}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def check_failed_tcp(path: str, shakes: dict[int, Handshake]) -> list[str]:
    """The TCP check of a capture with failed handshakes: the CPE, closing with the server's
    last handshake records unread, resets those connections (after the server's FIN); every
    other connection is clean."""
    failed = {s.stream for s in shakes.values() if ALERTS["unknown_ca"] in s.alerts}
    problems = []
    resets = set(tshark_column(path, [], "tcp.flags.reset == 1"))
    if resets != failed:
        problems.append(f"RSTs in streams {sorted(resets)}, expected in {sorted(failed)}")
    if tshark_column(path, [], "tcp.analysis.retransmission or tcp.analysis.lost_segment"
                     " or tcp.analysis.out_of_order"):
        problems.append("retransmissions or lost segments")
    fins: dict[int, set[int]] = {}
    for stream, port in tshark_fields(path, [], "tcp.flags.fin == 1",
                                      ["tcp.stream", "tcp.srcport"]):
        fins.setdefault(int(stream), set()).add(int(port))
    for stream in set(tshark_column(path, [], "tcp")) - failed:
        if len(fins.get(stream, ())) != 2:
            problems.append(f"TCP stream {stream} lacks one of its FINs")
    return problems


def count_frames(path: str) -> int:
    return len(run(["tshark", "-r", path, "-T", "fields", "-e", "frame.number"]).split())


# --- derived captures ------------------------------------------------------------------------


@dataclass
class Derived:
    """A capture made from a recorded one: `how` is inject, handshake-missing, gap or
    corrupt."""

    base: str
    how: str
    summary: str


DERIVED: dict[str, Derived] = {
    "tls13-aes256gcm-keys.pcapng": Derived(
        "tls13-aes256gcm", "inject",
        "the key log inside the file (pcapng Decryption Secrets Block)"),
    "tls13-handshake-missing.pcap": Derived(
        "tls13-aes256gcm", "handshake-missing",
        "the capture starts after the first connection's handshake"),
    "tls13-capture-gap.pcap": Derived(
        "tls13-aes256gcm", "gap",
        "the frame of the DownloadResponse (step 6) lost"),
    "tls13-corrupted-record.pcap": Derived(
        "tls13-aes256gcm", "corrupt",
        "one ciphertext byte of the InformResponse + Download record (step 5) flipped"),
}

#: Where the corrupted capture's byte is flipped: past the 5-byte record header.
CORRUPT_OFFSET = 100


def base_rows(out_dir: str, base: str) -> list[HttpRow]:
    path = os.path.join(out_dir, f"{base}.pcap")
    return record.tshark_rows(path, ADDRESSES.roles(), [*TSHARK_TLS, *key_options(out_dir, base)])


def cut_points(out_dir: str, derived: Derived) -> dict[str, int]:
    """The frames the derivation works on, read from the base capture's ladder: the first
    request (first frame kept by handshake-missing), the DownloadResponse (dropped by gap) and
    the InformResponse + Download (damaged by corrupt)."""
    rows = base_rows(out_dir, derived.base)
    first = rows[0]
    download_response = next(r for r in rows if r.rpcs() == ["DownloadResponse"])
    download = next(r for r in rows if r.rpcs() == ["InformResponse", "Download"])
    return {"first_request": first.frame, "download_response": download_response.frame,
            "download": download.frame, "stream": first.stream}


def derive(name: str, out_dir: str) -> int:
    """Makes derived capture `name` from its base, printing the exact command."""
    derived = DERIVED[name]
    base = os.path.join(out_dir, f"{derived.base}.pcap")
    out = os.path.join(out_dir, name)
    points = cut_points(out_dir, derived)
    if derived.how == "inject":
        argv = ["editcap", "--inject-secrets", f"tls,{keylog_path(out_dir, derived.base)}",
                base, out]
    elif derived.how == "handshake-missing":
        last = count_frames(base)
        argv = ["editcap", "-r", base, out, f"{points['first_request']}-{last}"]
    elif derived.how == "gap":
        argv = ["editcap", base, out, str(points["download_response"])]
    else:
        argv = [sys.executable, os.path.join(HERE, "pcapedit.py"), base, out,
                "--frame", str(points["download"]), "--offset", str(CORRUPT_OFFSET)]
    shown = " ".join(argv).replace(sys.executable, "python3")
    print("derive: " + shown.replace(os.path.dirname(os.path.dirname(HERE)) + os.sep, ""))
    print(run(argv), end="")
    return check_derived(name, out_dir)


def check_derived(name: str, out_dir: str) -> int:
    """Checks a derived capture against its base: the messages tshark still decodes are the
    base's, shifted by the frames removed; exactly the ones the damage takes away are gone
    (after a corrupted record, tshark decrypts nothing more in that direction)."""
    derived = DERIVED[name]
    path = os.path.join(out_dir, name)
    points = cut_points(out_dir, derived)
    base = base_rows(out_dir, derived.base)
    options = [] if derived.how == "inject" else key_options(out_dir, derived.base)
    rows = record.tshark_rows(path, ADDRESSES.roles(), [*TSHARK_TLS, *options])
    roles = ADDRESSES.roles()
    if derived.how == "inject":
        expected = [(r.frame, r.summary(roles)) for r in base]
    elif derived.how == "handshake-missing":
        shift = points["first_request"] - 1
        expected = [(r.frame - shift, r.summary(roles)) for r in base
                    if r.stream != points["stream"]]
    elif derived.how == "gap":
        gone = points["download_response"]
        expected = [(r.frame - (r.frame > gone), r.summary(roles)) for r in base
                    if r.frame != gone]
    else:  # tshark decrypts nothing more in that direction after a record that fails
        hit = next(r for r in base if r.frame == points["download"])
        expected = [(r.frame, r.summary(roles)) for r in base
                    if (r.stream, r.src) != (hit.stream, hit.src) or r.frame < hit.frame]
    got = [(r.frame, r.summary(roles)) for r in rows]
    problems = []
    print(f"{name} (from {derived.base}): {count_frames(path)} frames, "
          f"{len(rows)} HTTP messages decoded by tshark")
    for frame, summary in got:
        print(f"{frame:>5}  {summary}")
    if got != expected:
        problems.append(f"tshark decodes {got}, expected {expected}")
    if derived.how == "inject":
        blocks = run(["tshark", "-r", path, "-T", "fields", "-e", "frame.number"]).split()
        if len(blocks) != count_frames(os.path.join(out_dir, f"{derived.base}.pcap")):
            problems.append("frame count differs from the base")
    for problem in problems:
        print(f"MISMATCH: {problem}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("pki", "record", "derive", "check", "all"))
    parser.add_argument("names", nargs="*", help="captures (default: all of them)")
    parser.add_argument("--out-dir", default=OUT_DIR, help="where the captures are")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the programs' logs to DIR")
    args = parser.parse_args()
    known = {**RECORDINGS, **DERIVED}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown capture(s) {unknown}; known: {sorted(known)}")
    if args.command == "pki":
        make_pki(os.path.join(args.out_dir, PKI_DIR))
        return 0
    recorded = [n for n in args.names or RECORDINGS if n in RECORDINGS]
    derived = [n for n in args.names or DERIVED if n in DERIVED]
    status = 0
    if args.command in ("record", "all"):
        for name in recorded:
            print(f"=== record {name}: {RECORDINGS[name].summary}")
            status |= record_capture(name, args.out_dir, args.keep_logs)
    if args.command in ("derive", "all"):
        for name in derived:
            print(f"=== derive {name}: {DERIVED[name].summary}")
            status |= derive(name, args.out_dir)
    if args.command == "check":
        for name in args.names or list(known):
            print(f"=== check {name}")
            status |= check(name, args.out_dir)
    return status


if __name__ == "__main__":
    sys.exit(main())
