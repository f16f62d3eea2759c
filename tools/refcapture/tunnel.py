#!/usr/bin/env python3
"""Userspace tunnel endpoint and remote-span sender for the overlay captures.

Makes the encapsulations this kernel lacks, between real interfaces:

* `--encap gre|ipip|6in4|4in6`: a TUN device (`--dev`) whose IP packets travel in GRE
  (RFC 2784, with the key and sequence number of RFC 2890 and the checksum on request),
  IP-in-IP (protocol 4), IPv6-in-IPv4 (protocol 41) or IPv4-in-IPv6 (next header 4) to
  `--remote`, sent and received on a raw IP socket bound to `--local`.
* `--encap gre-ethernet`: the same with a TAP device and GRE protocol 0x6558 (Ethernet frames).
* `--encap vlan|qinq`: a TAP device whose frames leave on `--underlay` (an Ethernet interface,
  through a packet socket) with an 802.1Q tag, or an 802.1ad tag outside an 802.1Q tag.
* `--encap erspan-ii|erspan-iii`: copies every frame sent or received on `--source` (a packet
  socket) to `--remote` as GRE + ERSPAN type II or III (draft-foschiano-erspan), as a switch's
  remote span does. `--encap collector` is the receiving end: a raw GRE socket that takes
  the copies in (so the kernel, which has no GRE, does not answer them with ICMP) and counts
  them.

Prints `ready` once its device or sockets exist, then forwards until SIGTERM or SIGINT.
Python 3.11 standard library only; needs CAP_NET_ADMIN and CAP_NET_RAW.
"""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import os
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000

ETH_P_ALL = 0x0003
ETH_P_IPV4, ETH_P_IPV6 = 0x0800, 0x86DD
ETH_P_TEB = 0x6558  # transparent Ethernet bridging (GRE payload of Ethernet frames)
ETH_P_8021Q, ETH_P_8021AD = 0x8100, 0x88A8
ETH_P_ERSPAN2, ETH_P_ERSPAN3 = 0x88BE, 0x22EB

IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_GRE = 4, 41, 47

SOL_PACKET, PACKET_AUXDATA, PACKET_OUTGOING = 263, 8, 4
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 1 << 4, 1 << 6

GRE_CHECKSUM, GRE_ROUTING, GRE_KEY, GRE_SEQUENCE = 0x8000, 0x4000, 0x2000, 0x1000
GRE_VERSION_MASK = 0x0007

MAX_PACKET = 65535
ERSPAN_GRANULARITY_100NS = 1  # Gra 01: the type III timestamp counts 100 ns units


def log(message: str) -> None:
    """One line on stdout (flushed: the recorder reads it from a file)."""
    print(f"tunnel: {message}", flush=True)


def internet_checksum(data: bytes) -> int:
    """The 16-bit one's complement of the one's complement sum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


# --- GRE -------------------------------------------------------------------------------------


class Gre:
    """GRE header writer and reader (RFC 2784; key and sequence number of RFC 2890)."""

    def __init__(self, key: int | None, sequence: bool, checksum: bool) -> None:
        self.key, self.sequence, self.checksum = key, sequence, checksum
        self.next_sequence = 0

    def wrap(self, protocol: int, payload: bytes) -> bytes:
        """GRE header and payload."""
        flags = (GRE_CHECKSUM if self.checksum else 0) | (GRE_SEQUENCE if self.sequence else 0)
        flags |= GRE_KEY if self.key is not None else 0
        header = struct.pack("!HH", flags, protocol)
        if self.checksum:
            header += b"\0\0\0\0"  # checksum and Reserved1, the checksum filled in below
        if self.key is not None:
            header += struct.pack("!I", self.key)
        if self.sequence:
            header += struct.pack("!I", self.next_sequence)
            self.next_sequence = (self.next_sequence + 1) & 0xFFFFFFFF
        packet = header + payload
        if self.checksum:
            value = internet_checksum(packet)
            packet = packet[:4] + struct.pack("!H", value) + packet[6:]
        return packet

    @staticmethod
    def unwrap(packet: bytes) -> tuple[int, bytes] | None:
        """(protocol, payload) of a GRE packet; None when it is malformed or uses routing."""
        if len(packet) < 4:
            return None
        flags, protocol = struct.unpack("!HH", packet[:4])
        if flags & GRE_VERSION_MASK or flags & GRE_ROUTING:
            return None
        at = 4
        if flags & GRE_CHECKSUM:
            if len(packet) < at + 4 or internet_checksum(packet) != 0:
                return None
            at += 4
        at += 4 if flags & GRE_KEY else 0
        at += 4 if flags & GRE_SEQUENCE else 0
        if len(packet) < at:
            return None
        return protocol, packet[at:]


# --- devices and sockets ---------------------------------------------------------------------


def open_device(name: str, tap: bool) -> int:
    """Creates the TUN (IP packets) or TAP (Ethernet frames) device; returns its descriptor."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    flags = (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
    return fd


class RawIp:
    """A raw IP socket for one outer protocol between two addresses."""

    def __init__(self, local: str, remote: str, protocol: int) -> None:
        self.family = socket.AF_INET6 if ":" in local else socket.AF_INET
        self.remote = ipaddress.ip_address(remote)
        self.sock = socket.socket(self.family, socket.SOCK_RAW, protocol)
        self.sock.bind((local, 0))

    def send(self, payload: bytes) -> None:
        self.sock.sendto(payload, (str(self.remote), 0))

    def receive(self) -> bytes | None:
        """The payload of the next packet from the remote end (IPv4: after the IP header)."""
        data, address = self.sock.recvfrom(MAX_PACKET)
        if ipaddress.ip_address(address[0].split("%")[0]) != self.remote:
            return None
        if self.family == socket.AF_INET6:
            return data  # IPv6 raw sockets deliver the payload only
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        header_length = (data[0] & 0x0F) * 4
        total_length = struct.unpack("!H", data[2:4])[0]
        if header_length < 20 or not header_length <= total_length <= len(data):
            return None
        return data[header_length:total_length]


class PacketSocket:
    """A packet socket on one Ethernet interface; restores the VLAN tag the kernel lifted."""

    def __init__(self, interface: str) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.sock.bind((interface, ETH_P_ALL))

    def send(self, frame: bytes) -> None:
        self.sock.send(frame)

    def receive(self) -> tuple[bytes, bool]:
        """(frame as on the wire, whether this host sent it)."""
        data, ancillary, _, address = self.sock.recvmsg(MAX_PACKET, socket.CMSG_SPACE(20))
        outgoing = address[2] == PACKET_OUTGOING
        for level, kind, value in ancillary:
            if level != SOL_PACKET or kind != PACKET_AUXDATA or len(value) < 20:
                continue
            status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", value[:20])
            if status & TP_STATUS_VLAN_VALID and len(data) >= 12:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = ETH_P_8021Q
                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
        return data, outgoing


# --- the forwarding loops --------------------------------------------------------------------

STOP = False


def stop(*_: object) -> None:
    global STOP
    STOP = True


def readable(fds: list[int]) -> list[int]:
    """The descriptors ready to read, waiting at most 0.2 s (so that a signal is seen)."""
    try:
        return select.select(fds, [], [], 0.2)[0]
    except InterruptedError:
        return []


def ip_protocol_of(packet: bytes) -> int:
    """The EtherType of an IP packet by its version nibble (0 when it is neither)."""
    version = packet[0] >> 4 if packet else 0
    return {4: ETH_P_IPV4, 6: ETH_P_IPV6}.get(version, 0)


def run_ip_tunnel(args: argparse.Namespace) -> None:
    """TUN or TAP device <-> GRE / IP-in-IP / 6in4 / 4in6 over a raw socket."""
    tap = args.encap == "gre-ethernet"
    outer = {"gre": IPPROTO_GRE, "gre-ethernet": IPPROTO_GRE, "ipip": IPPROTO_IPIP,
             "6in4": IPPROTO_IPV6, "4in6": IPPROTO_IPIP}[args.encap]
    inner = {"ipip": ETH_P_IPV4, "6in4": ETH_P_IPV6, "4in6": ETH_P_IPV4}.get(args.encap)
    gre = Gre(args.key, args.sequence, args.checksum) if outer == IPPROTO_GRE else None
    device = open_device(args.dev, tap)
    raw = RawIp(args.local, args.remote, outer)
    log(f"ready: {args.dev} <-> {args.encap} {args.local} -> {args.remote}")
    sent = received = dropped = 0
    while not STOP:
        for fd in readable([device, raw.sock.fileno()]):
            if fd == device:
                packet = os.read(device, MAX_PACKET)
                protocol = ETH_P_TEB if tap else ip_protocol_of(packet)
                if gre is not None and protocol:
                    raw.send(gre.wrap(protocol, packet))
                    sent += 1
                elif protocol and protocol == inner:
                    raw.send(packet)
                    sent += 1
                else:
                    dropped += 1
                continue
            payload = raw.receive()
            if payload is None:
                dropped += 1
                continue
            if gre is not None:
                unwrapped = Gre.unwrap(payload)
                wanted = (ETH_P_TEB,) if tap else (ETH_P_IPV4, ETH_P_IPV6)
                if unwrapped is None or unwrapped[0] not in wanted:
                    dropped += 1
                    continue
                payload = unwrapped[1]
            elif ip_protocol_of(payload) != inner:
                dropped += 1
                continue
            os.write(device, payload)
            received += 1
    log(f"stopped: {sent} sent, {received} received, {dropped} dropped")


def vlan_tags(args: argparse.Namespace) -> bytes:
    """The tag stack written after the source MAC address."""
    inner = struct.pack("!HH", ETH_P_8021Q, args.vid & 0x0FFF)
    if args.encap == "qinq":
        return struct.pack("!HH", ETH_P_8021AD, args.outer_vid & 0x0FFF) + inner
    return inner


def run_vlan(args: argparse.Namespace) -> None:
    """TAP device <-> the underlay interface, with the frames tagged on the underlay."""
    tags = vlan_tags(args)
    device = open_device(args.dev, True)
    wire = PacketSocket(args.underlay)
    log(f"ready: {args.dev} <-> {args.underlay} tags {tags.hex()}")
    sent = received = dropped = 0
    while not STOP:
        for fd in readable([device, wire.sock.fileno()]):
            if fd == device:
                frame = os.read(device, MAX_PACKET)
                if len(frame) >= 14:
                    wire.send(frame[:12] + tags + frame[12:])
                    sent += 1
                continue
            frame, outgoing = wire.receive()
            if outgoing:
                continue
            if len(frame) < 14 + len(tags) or frame[12 : 12 + len(tags)] != tags:
                dropped += 1
                continue
            os.write(device, frame[:12] + frame[12 + len(tags) :])
            received += 1
    log(f"stopped: {sent} sent, {received} received, {dropped} dropped")


def erspan_header(args: argparse.Namespace, egress: bool, stamp_ns: int, index: int) -> bytes:
    """The ERSPAN type II or III header of one copied frame (original frame untagged, not
    truncated, good integrity)."""
    session = args.session & 0x03FF
    if args.encap == "erspan-ii":
        # Ver 1 | VLAN | COS | En (0: originally untagged) | T | Session ID; Reserved | Index
        return struct.pack("!II", (1 << 28) | session, index & 0x000FFFFF)
    # Ver 2 | VLAN | COS | BSO | T | Session ID; Timestamp; SGT | P | FT | Hw ID | D | Gra | O
    timestamp = (stamp_ns // 100) & 0xFFFFFFFF
    word3 = (1 << 15) | ((args.hardware_id & 0x3F) << 4) | (int(egress) << 3)
    word3 |= ERSPAN_GRANULARITY_100NS << 1
    return struct.pack("!III", (2 << 28) | session, timestamp, word3)


def run_span(args: argparse.Namespace) -> None:
    """Every frame of the source port, copied to the collector in GRE + ERSPAN."""
    protocol = ETH_P_ERSPAN2 if args.encap == "erspan-ii" else ETH_P_ERSPAN3
    gre = Gre(None, True, False)  # ERSPAN II and III: the sequence number only
    source = PacketSocket(args.source)
    index = socket.if_nametoindex(args.source)
    raw = RawIp(args.local, args.remote, IPPROTO_GRE)
    log(f"ready: span of {args.source} -> {args.encap} {args.local} -> {args.remote}")
    copied = 0
    while not STOP:
        if not readable([source.sock.fileno()]):
            continue
        frame, outgoing = source.receive()
        header = erspan_header(args, outgoing, time.time_ns(), index)
        raw.send(gre.wrap(protocol, header + frame))
        copied += 1
    log(f"stopped: {copied} frames copied")


def run_collector(args: argparse.Namespace) -> None:
    """Takes in and counts the GRE packets sent to `--local`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_GRE)
    sock.bind((args.local, 0))
    log(f"ready: collecting GRE on {args.local}")
    taken = 0
    while not STOP:
        if readable([sock.fileno()]):
            sock.recv(MAX_PACKET)
            taken += 1
    log(f"stopped: {taken} packets taken in")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--encap", required=True,
        choices=("gre", "gre-ethernet", "ipip", "6in4", "4in6", "vlan", "qinq",
                 "erspan-ii", "erspan-iii", "collector"),
    )
    parser.add_argument("--dev", default="tun0", help="the TUN/TAP device to create")
    parser.add_argument("--local", help="outer source address")
    parser.add_argument("--remote", help="outer destination address (peer or collector)")
    parser.add_argument("--key", type=lambda v: int(v, 0), help="GRE key (RFC 2890)")
    parser.add_argument("--sequence", action="store_true", help="GRE sequence numbers")
    parser.add_argument("--checksum", action="store_true", help="GRE checksums")
    parser.add_argument("--underlay", help="vlan/qinq: the Ethernet interface that carries tags")
    parser.add_argument("--vid", type=int, default=100, help="802.1Q VLAN ID")
    parser.add_argument("--outer-vid", type=int, default=10, help="qinq: 802.1ad VLAN ID")
    parser.add_argument("--source", help="erspan: the interface whose frames are copied")
    parser.add_argument("--session", type=int, default=1, help="erspan: session ID")
    parser.add_argument("--hardware-id", type=int, default=1, help="erspan-iii: Hw ID")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.encap in ("vlan", "qinq"):
        if not args.underlay:
            parser.error("--underlay is required")
        run_vlan(args)
    elif args.encap == "collector":
        if not args.local:
            parser.error("--local is required")
        run_collector(args)
    elif args.encap.startswith("erspan"):
        if not (args.source and args.local and args.remote):
            parser.error("--source, --local and --remote are required")
        run_span(args)
    else:
        if not (args.local and args.remote):
            parser.error("--local and --remote are required")
        run_ip_tunnel(args)


if __name__ == "__main__":
    try:
        main()
    except OSError as err:
        log(f"failed: {err}")
        sys.exit(1)
