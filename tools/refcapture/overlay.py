#!/usr/bin/env python3
"""Records the configuration-update flow across an overlay, as a span port delivers it.

    sudo python3 tools/refcapture/overlay.py ENCAP OUT.pcap
    python3 tools/refcapture/overlay.py --check ENCAP OUT.pcap    # verify an existing file

Builds network namespaces of its own (names `cwmpov-PID-RANDOM-ROLE`, removed on every exit
path): the CPE in one, the ACS and the file server in another, joined through a bridge in a
third, the "switch", by veth links with MTU 9000. The encapsulation is made by the kernel
(VXLAN, tc mirred copies) or by `tunnel.py` (802.1Q, QinQ, GRE, IP-in-IP, 6in4, 4in6, ERSPAN),
then `record.py` runs the flow with tcpdump on the underlay and checks the HTTP ladder with
tshark. This program also checks that every frame has the encapsulation's layers and that
nothing is fragmented; for `mirror`, that every frame arrives twice within a millisecond
(the ladder is then checked on the first copies). Needs root, ip, tc, tcpdump and tshark.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import record  # noqa: E402 (path set up above)
from record import Addresses, Setup  # noqa: E402

VARIANT = "config-update"
INNER_V4 = Addresses(cpe="10.0.0.5", acs="10.0.0.2", fs="10.0.0.3")
INNER_V6 = Addresses(cpe="fd00::5", acs="fd00::2", fs="fd00::3")
UNDERLAY_V4 = ("192.0.2.5", "192.0.2.2")  # (CPE side, server side)
UNDERLAY_V6 = ("2001:db8::5", "2001:db8::2")
SPAN_V4 = ("198.51.100.1", "198.51.100.2")  # (switch, collector)
UNDERLAY_MTU, OVERLAY_MTU = 9000, 8000
MAC = {  # fixed addresses, so that re-recording gives the same frames
    "cpe-eth0": "02:00:00:00:00:05", "srv-eth0": "02:00:00:00:00:02",
    "cpe-overlay": "02:00:00:00:01:05", "srv-overlay": "02:00:00:00:01:02",
    "sw-pcol": "02:00:00:00:02:01", "col-eth0": "02:00:00:00:02:02",
}
SETTLE_SECONDS = 3.0  # lets IPv6 multicast listener reports of new addresses pass


@dataclass
class Overlay:
    """One recordable encapsulation: its inner addresses, the layers tshark must show on every
    frame (`frame.protocols` up to and including `tcp`), and how to build it."""

    addresses: Addresses
    layers: str
    build: Callable[[Lab], None]


class Lab:
    """The namespaces, links and helper processes of one recording; `close` removes them."""

    def __init__(self, work: str) -> None:
        self.prefix = f"cwmpov-{os.getpid()}-{secrets.token_hex(3)}"
        self.work = work
        self.namespaces: list[str] = []
        self.helpers: list[subprocess.Popen] = []
        self.capture_namespace = ""
        self.capture_interface = ""

    def ns(self, role: str) -> str:
        """The namespace of `role`, created on first use with IPv6 off and quiet."""
        name = f"{self.prefix}-{role}"
        if name not in self.namespaces:
            run(["ip", "netns", "add", name])
            self.namespaces.append(name)
            for key in ("all", "default"):
                for setting, value in (("disable_ipv6", 1), ("accept_dad", 0),
                                       ("accept_ra", 0), ("router_solicitations", 0)):
                    self.sysctl(name, f"net.ipv6.conf.{key}.{setting}", value)
            self.ip(name, "link", "set", "lo", "up")
        return name

    def ip(self, namespace: str, *args: str) -> None:
        run(["ip", "-n", namespace, *args])

    def sysctl(self, namespace: str, key: str, value: object) -> None:
        run(["ip", "netns", "exec", namespace, "sysctl", "-q", "-w", f"{key}={value}"])

    def enable_ipv6(self, namespace: str, device: str) -> None:
        self.sysctl(namespace, f"net.ipv6.conf.{device}.disable_ipv6", 0)

    def veth(self, a: tuple[str, str], b: tuple[str, str], mtu: int = UNDERLAY_MTU) -> None:
        """A veth pair between (namespace, name) `a` and `b`, both up."""
        self.ip(a[0], "link", "add", a[1], "mtu", str(mtu), "type", "veth",
                "peer", "name", b[1], "netns", b[0], "mtu", str(mtu))
        for namespace, device in (a, b):
            mac = MAC.get(f"{namespace.rsplit('-', 1)[1]}-{device}")
            if mac:
                self.ip(namespace, "link", "set", device, "address", mac)
            self.ip(namespace, "link", "set", device, "up")

    def neighbour(self, namespace: str, device: str, address: str, mac: str) -> None:
        self.ip(namespace, "neigh", "replace", address, "lladdr", mac, "dev", device,
                "nud", "permanent")

    def helper(self, name: str, namespace: str, args: list[str]) -> None:
        """Starts tunnel.py in `namespace` and waits for it to be ready."""
        proc, log_path = record.start(name, args, self.work, namespace, program="tunnel")
        self.helpers.append(proc)
        record.wait_for(log_path, "ready", proc)

    def close(self) -> None:
        """Stops the helpers, then anything left in the namespaces, and removes them."""
        for proc in self.helpers:
            record.stop(proc)
        for name in reversed(self.namespaces):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.namespaces.clear()


def run(argv: list[str]) -> None:
    """Runs a setup command; its failure ends the recording."""
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip()}")


# --- topologies ------------------------------------------------------------------------------


def switched(lab: Lab) -> tuple[str, str, str]:
    """CPE and server namespaces, each with eth0 on a port of the switch's bridge (`pc` faces
    the CPE, `ps` the servers); tcpdump listens on `pc` unless told otherwise."""
    cpe, srv, sw = lab.ns("cpe"), lab.ns("srv"), lab.ns("sw")
    lab.veth((cpe, "eth0"), (sw, "pc"))
    lab.veth((srv, "eth0"), (sw, "ps"))
    lab.ip(sw, "link", "add", "br0", "type", "bridge", "stp_state", "0",
                "mcast_snooping", "0")
    for port in ("pc", "ps"):
        lab.ip(sw, "link", "set", port, "master", "br0")
    lab.ip(sw, "link", "set", "br0", "up")
    lab.capture_namespace, lab.capture_interface = sw, "pc"
    return cpe, srv, sw


def address_hosts(lab: Lab, cpe: str, srv: str, device: str, inner: Addresses,
                  macs: tuple[str, str] | None) -> None:
    """Puts the inner addresses on `device` on both sides; with `macs` (CPE side, server side)
    the neighbours are static, so that no ARP or neighbour discovery crosses the link."""
    prefix = 64 if ":" in inner.cpe else 24
    if prefix == 64:
        lab.enable_ipv6(cpe, device)
        lab.enable_ipv6(srv, device)
    lab.ip(cpe, "addr", "add", f"{inner.cpe}/{prefix}", "dev", device, "nodad")
    for address in (inner.acs, inner.fs):
        lab.ip(srv, "addr", "add", f"{address}/{prefix}", "dev", device, "nodad")
    if macs:
        for address in (inner.acs, inner.fs):
            lab.neighbour(cpe, device, address, macs[1])
        lab.neighbour(srv, device, inner.cpe, macs[0])


def address_underlay(lab: Lab, cpe: str, srv: str, ends: tuple[str, str]) -> None:
    """The underlay addresses on both eth0, with static neighbours."""
    prefix = 64 if ":" in ends[0] else 24
    if prefix == 64:
        lab.enable_ipv6(cpe, "eth0")
        lab.enable_ipv6(srv, "eth0")
    lab.ip(cpe, "addr", "add", f"{ends[0]}/{prefix}", "dev", "eth0", "nodad")
    lab.ip(srv, "addr", "add", f"{ends[1]}/{prefix}", "dev", "eth0", "nodad")
    lab.neighbour(cpe, "eth0", ends[1], MAC["srv-eth0"])
    lab.neighbour(srv, "eth0", ends[0], MAC["cpe-eth0"])


def build_plain(lab: Lab) -> None:
    cpe, srv, _ = switched(lab)
    address_hosts(lab, cpe, srv, "eth0", INNER_V4, (MAC["cpe-eth0"], MAC["srv-eth0"]))


def build_mirror(lab: Lab) -> None:
    """The plain network; tc copies every frame entering or leaving either switch port to
    `mon`, whose peer `span` is where tcpdump listens: each frame is seen at two ports."""
    cpe, srv, sw = switched(lab)
    address_hosts(lab, cpe, srv, "eth0", INNER_V4, (MAC["cpe-eth0"], MAC["srv-eth0"]))
    lab.veth((sw, "mon"), (sw, "span"))
    for port in ("pc", "ps"):
        run(["ip", "netns", "exec", sw, "tc", "qdisc", "add", "dev", port, "clsact"])
        for direction in ("ingress", "egress"):
            run(["ip", "netns", "exec", sw, "tc", "filter", "add", "dev", port, direction,
                 "protocol", "all", "u32", "match", "u32", "0", "0",
                 "action", "mirred", "egress", "mirror", "dev", "mon"])
    lab.capture_interface = "span"


def tap_overlay(lab: Lab, cpe: str, srv: str, device: str, inner: Addresses) -> None:
    """Configures the TAP devices tunnel.py made: fixed MACs, MTU, inner addresses."""
    for namespace, side in ((cpe, "cpe"), (srv, "srv")):
        lab.ip(namespace, "link", "set", device, "address", MAC[f"{side}-overlay"],
               "mtu", str(OVERLAY_MTU), "up")
    address_hosts(lab, cpe, srv, device, inner, (MAC["cpe-overlay"], MAC["srv-overlay"]))


def build_vlan(encap: str) -> Callable[[Lab], None]:
    """802.1Q (VLAN 100) or QinQ (802.1ad VLAN 10 outside 802.1Q VLAN 20) on the CPE's and
    the servers' eth0, made by tunnel.py between a TAP device and eth0."""

    def build(lab: Lab) -> None:
        cpe, srv, _ = switched(lab)
        vid = ["--vid", "20", "--outer-vid", "10"] if encap == "qinq" else ["--vid", "100"]
        for namespace, side in ((cpe, "cpe"), (srv, "srv")):
            lab.helper(f"tunnel-{side}", namespace,
                       ["--encap", encap, "--dev", "tap0", "--underlay", "eth0", *vid])
        tap_overlay(lab, cpe, srv, "tap0", INNER_V4)

    return build


def build_vxlan(underlay: tuple[str, str]) -> Callable[[Lab], None]:
    """Kernel VXLAN (VNI 42, UDP port 4789) between the two eth0 addresses."""

    def build(lab: Lab) -> None:
        cpe, srv, _ = switched(lab)
        address_underlay(lab, cpe, srv, underlay)
        for namespace, side, local, remote in ((cpe, "cpe", *underlay),
                                               (srv, "srv", *reversed(underlay))):
            lab.ip(namespace, "link", "add", "vx0", "address", MAC[f"{side}-overlay"],
                   "mtu", str(OVERLAY_MTU), "type", "vxlan", "id", "42", "local", local,
                   "remote", remote, "dstport", "4789", "dev", "eth0", "nolearning")
            lab.ip(namespace, "link", "set", "vx0", "up")
        address_hosts(lab, cpe, srv, "vx0", INNER_V4, (MAC["cpe-overlay"], MAC["srv-overlay"]))

    return build


def build_ip_tunnel(encap: str, underlay: tuple[str, str], inner: Addresses,
                    options: list[str]) -> Callable[[Lab], None]:
    """A tunnel.py endpoint on each side (TUN device tun0, or TAP tap0 for GRE carrying
    Ethernet) sending to the other's eth0 address."""

    def build(lab: Lab) -> None:
        cpe, srv, _ = switched(lab)
        address_underlay(lab, cpe, srv, underlay)
        device = "tap0" if encap == "gre-ethernet" else "tun0"
        for namespace, side, local, remote in ((cpe, "cpe", *underlay),
                                               (srv, "srv", *reversed(underlay))):
            lab.helper(f"tunnel-{side}", namespace,
                       ["--encap", encap, "--dev", device, "--local", local, "--remote", remote,
                        *options])
        if device == "tap0":
            tap_overlay(lab, cpe, srv, device, inner)
            return
        for namespace in (cpe, srv):
            lab.ip(namespace, "link", "set", device, "addrgenmode", "none")
            lab.ip(namespace, "link", "set", device, "mtu", str(OVERLAY_MTU), "up")
        address_hosts(lab, cpe, srv, device, inner, None)

    return build


def build_erspan(encap: str) -> Callable[[Lab], None]:
    """The plain network; tunnel.py in the switch copies every frame of port `pc` to a
    collector namespace as GRE + ERSPAN, and tcpdump listens on the collector's eth0 (where
    tunnel.py takes the copies in)."""

    def build(lab: Lab) -> None:
        cpe, srv, sw = switched(lab)
        address_hosts(lab, cpe, srv, "eth0", INNER_V4, (MAC["cpe-eth0"], MAC["srv-eth0"]))
        col = lab.ns("col")
        lab.veth((sw, "pcol"), (col, "eth0"))
        lab.ip(sw, "addr", "add", f"{SPAN_V4[0]}/24", "dev", "pcol")
        lab.ip(col, "addr", "add", f"{SPAN_V4[1]}/24", "dev", "eth0")
        lab.neighbour(sw, "pcol", SPAN_V4[1], MAC["col-eth0"])
        lab.neighbour(col, "eth0", SPAN_V4[0], MAC["sw-pcol"])
        lab.helper("tunnel-collector", col, ["--encap", "collector", "--local", SPAN_V4[1]])
        lab.helper("tunnel-span", sw,
                   ["--encap", encap, "--source", "pc", "--local", SPAN_V4[0],
                    "--remote", SPAN_V4[1], "--session", "7"])
        lab.capture_namespace, lab.capture_interface = col, "eth0"

    return build


ETH_V4 = "eth:ethertype:ip:tcp"
OVERLAYS = {
    "plain": Overlay(INNER_V4, ETH_V4, build_plain),
    "mirror": Overlay(INNER_V4, ETH_V4, build_mirror),
    "vlan": Overlay(INNER_V4, "eth:ethertype:vlan:ethertype:ip:tcp", build_vlan("vlan")),
    "qinq": Overlay(INNER_V4, "eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip:tcp",
                    build_vlan("qinq")),
    "vxlan": Overlay(INNER_V4, "eth:ethertype:ip:udp:vxlan:" + ETH_V4,
                     build_vxlan(UNDERLAY_V4)),
    "vxlan-ipv6": Overlay(INNER_V4, "eth:ethertype:ipv6:udp:vxlan:" + ETH_V4,
                          build_vxlan(UNDERLAY_V6)),
    "gre": Overlay(INNER_V4, "eth:ethertype:ip:gre:ip:tcp",
                   build_ip_tunnel("gre", UNDERLAY_V4, INNER_V4, [])),
    "gre-ipv6": Overlay(INNER_V6, "eth:ethertype:ip:gre:ipv6:tcp",
                        build_ip_tunnel("gre", UNDERLAY_V4, INNER_V6,
                                        ["--checksum", "--key", "0x2a", "--sequence"])),
    "gre-ethernet": Overlay(INNER_V4, "eth:ethertype:ip:gre:" + ETH_V4,
                            build_ip_tunnel("gre-ethernet", UNDERLAY_V4, INNER_V4, [])),
    "ipip": Overlay(INNER_V4, "eth:ethertype:ip:ip:tcp",
                    build_ip_tunnel("ipip", UNDERLAY_V4, INNER_V4, [])),
    "6in4": Overlay(INNER_V6, "eth:ethertype:ip:ipv6:tcp",
                    build_ip_tunnel("6in4", UNDERLAY_V4, INNER_V6, [])),
    "4in6": Overlay(INNER_V4, "eth:ethertype:ipv6:ip:tcp",
                    build_ip_tunnel("4in6", UNDERLAY_V6, INNER_V4, [])),
    "erspan-ii": Overlay(INNER_V4, "eth:ethertype:ip:gre:erspan:" + ETH_V4,
                         build_erspan("erspan-ii")),
    "erspan-iii": Overlay(INNER_V4, "eth:ethertype:ip:gre:erspan:" + ETH_V4,
                          build_erspan("erspan-iii")),
}


# --- recording -------------------------------------------------------------------------------


class Terminated(Exception):
    """SIGTERM or SIGHUP arrived: unwind so that the namespaces are removed."""


def on_signal(signum: int, _frame: object) -> None:
    raise Terminated(signal.Signals(signum).name)


def record_overlay(name: str, out: str, keep_logs: str | None) -> int:
    """Builds the network of overlay `name`, records the flow into `out`, checks it."""
    if os.geteuid() != 0:
        print("error: namespaces and tcpdump need root", file=sys.stderr)
        return 2
    for tool in ("ip", "tc", "tcpdump", "tshark"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found", file=sys.stderr)
            return 2
    overlay = OVERLAYS[name]
    out = os.path.abspath(out)
    work = tempfile.mkdtemp(prefix="refcapture-overlay-")
    lab = Lab(work)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        overlay.build(lab)
        time.sleep(SETTLE_SECONDS)
        servers, cpe = lab.ns("srv"), lab.ns("cpe")
        setup = Setup(
            addresses=overlay.addresses,
            namespaces={"fileserver": servers, "acs": servers, "cpe": cpe},
            capture_namespace=lab.capture_namespace,
            capture_interface=lab.capture_interface,
            capture_filter=None,
        )
        status = record.capture(VARIANT, out, keep_logs, setup)
    except (RuntimeError, Terminated, KeyboardInterrupt) as err:
        print(f"error: {err}", file=sys.stderr)
        status = 1
    finally:
        lab.close()
        if keep_logs:
            os.makedirs(keep_logs, exist_ok=True)
            for log_name in os.listdir(work):
                shutil.copy(os.path.join(work, log_name), keep_logs)
        shutil.rmtree(work, ignore_errors=True)
    return status if status else check(name, out)


# --- checking --------------------------------------------------------------------------------


def pcap_frames(path: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(file header, [(record header, frame)]) of a little-endian microsecond pcap."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        raise ValueError(f"{path}: not a little-endian microsecond pcap")
    frames, at = [], 24
    while at + 16 <= len(data):
        length = struct.unpack("<I", data[at + 8 : at + 12])[0]
        frames.append((data[at : at + 16], data[at + 16 : at + 16 + length]))
        at += 16 + length
    return data[:24], frames


def first_copies(path: str, out: str) -> list[str]:
    """Writes the first copy of each mirrored frame of `path` to `out`; the problems found:
    a frame without an identical copy, or a copy more than 1 ms after the first."""
    header, frames = pcap_frames(path)
    waiting: dict[bytes, float] = {}
    kept, problems, widest = [], [], 0.0
    for number, (record_header, frame) in enumerate(frames, 1):
        seconds, micros = struct.unpack("<II", record_header[:8])
        stamp = seconds + micros / 1e6
        if frame in waiting:
            gap = stamp - waiting.pop(frame)
            widest = max(widest, gap)
            if gap > 0.001:
                problems.append(f"frame {number}: copy {gap * 1e6:.0f} us after the first")
            continue
        waiting[frame] = stamp
        kept.append(record_header + frame)
    if waiting:
        problems.append(f"{len(waiting)} frame(s) seen once")
    print(f"mirror: {len(frames)} frames, {len(kept)} distinct; "
          f"widest gap between copies {widest * 1e6:.0f} us")
    with open(out, "wb") as handle:
        handle.write(header + b"".join(kept))
    return problems


def tshark_lines(path: str, *args: str) -> list[str]:
    result = subprocess.run(["tshark", "-r", path, *args], capture_output=True, text=True,
                            check=True)
    return result.stdout.splitlines()


def check(name: str, path: str) -> int:
    """The ladder check of record.py plus the layers of every frame; 0 when all holds."""
    overlay = OVERLAYS[name]
    problems = []
    stacks: dict[str, int] = {}
    for line in tshark_lines(path, "-T", "fields", "-e", "frame.protocols"):
        stack = line.split(":tcp", 1)[0] + ":tcp" if ":tcp" in line else line
        stacks[stack] = stacks.get(stack, 0) + 1
    print(f"{os.path.basename(path)}: layers {stacks}")
    if list(stacks) != [overlay.layers]:
        problems.append(f"frames with other layers than {overlay.layers}")
    fragments = tshark_lines(path, "-Y", "ip.flags.mf == 1 or ip.frag_offset > 0 or ipv6.fragment",
                             "-T", "fields", "-e", "frame.number")
    if fragments:
        problems.append(f"fragmented frames {fragments}")
    ladder_path = path
    scratch = None
    if name == "mirror":
        scratch = tempfile.NamedTemporaryFile(suffix=".pcap", delete=False)
        scratch.close()
        ladder_path = scratch.name
        problems += first_copies(path, ladder_path)
    try:
        status = record.check(VARIANT, ladder_path, overlay.addresses)
    finally:
        if scratch is not None:
            os.unlink(scratch.name)
    for problem in problems:
        print(f"MISMATCH: {problem}")
    return 1 if problems or status else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("encap", choices=list(OVERLAYS))
    parser.add_argument("out", help="pcap file to write (or, with --check, to read)")
    parser.add_argument("--check", action="store_true", help="only check an existing capture")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the programs' logs to DIR")
    args = parser.parse_args()
    if args.check:
        return check(args.encap, args.out)
    return record_overlay(args.encap, args.out, args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
