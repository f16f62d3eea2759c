#!/usr/bin/env python3
"""Damages one frame of a pcap the way a faulty middlebox would: flips one byte of its TCP
payload and leaves everything else (lengths, checksums, the other frames) as it was.

    python3 tools/refcapture/pcapedit.py IN.pcap OUT.pcap --frame N --offset K [--xor 0x01]

K counts from the first byte of the frame's TCP payload. Only Ethernet, IPv4 and TCP are
followed (what tcpdump writes on Linux loopback). Frames recorded on loopback carry partial
TCP checksums, already wrong; the flip does not make them right or wrong. Python 3.11
standard library only.
"""

from __future__ import annotations

import argparse
import struct
import sys

#: pcap magic numbers: (byte order, whether timestamps are in nanoseconds).
MAGICS = {
    b"\xd4\xc3\xb2\xa1": "<",
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",
    b"\xa1\xb2\x3c\x4d": ">",
}
LINKTYPE_ETHERNET = 1
MAX_FRAMES = 1_000_000


def frame_offsets(data: bytes) -> tuple[str, list[tuple[int, int]]]:
    """Byte order and (offset, captured length) of each frame of a pcap file."""
    order = MAGICS.get(data[:4])
    if order is None or len(data) < 24:
        raise ValueError("not a pcap file (pcapng is not handled)")
    linktype = struct.unpack(order + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype != LINKTYPE_ETHERNET:
        raise ValueError(f"link type {linktype}, not Ethernet")
    frames, at = [], 24
    while at + 16 <= len(data) and len(frames) < MAX_FRAMES:
        caplen = struct.unpack(order + "I", data[at + 8 : at + 12])[0]
        if at + 16 + caplen > len(data):
            raise ValueError(f"frame {len(frames) + 1} cut short")
        frames.append((at + 16, caplen))
        at += 16 + caplen
    return order, frames


def tcp_payload_offset(frame: bytes) -> int:
    """Offset of the TCP payload in an Ethernet/IPv4/TCP frame."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        raise ValueError("not Ethernet carrying IPv4")
    ihl = (frame[14] & 0x0F) * 4
    if frame[14 + 9] != 6 or ihl < 20 or len(frame) < 14 + ihl + 20:
        raise ValueError("not TCP")
    tcp = 14 + ihl
    data_offset = (frame[tcp + 12] >> 4) * 4
    total = struct.unpack(">H", frame[16:18])[0]
    end = 14 + total
    if data_offset < 20 or tcp + data_offset > min(end, len(frame)):
        raise ValueError("bad TCP header length")
    return tcp + data_offset


def flip(data: bytearray, frame_number: int, offset: int, mask: int) -> tuple[int, int]:
    """XORs byte `offset` of the TCP payload of frame `frame_number` (1-based) with `mask`;
    returns (old byte, new byte)."""
    _, frames = frame_offsets(bytes(data))
    if not 1 <= frame_number <= len(frames):
        raise ValueError(f"no frame {frame_number} (the file has {len(frames)})")
    start, caplen = frames[frame_number - 1]
    frame = bytes(data[start : start + caplen])
    payload = tcp_payload_offset(frame)
    total = 14 + struct.unpack(">H", frame[16:18])[0]
    if not 0 <= offset < min(total, caplen) - payload:
        raise ValueError(f"offset {offset} is outside the TCP payload of frame {frame_number}")
    at = start + payload + offset
    old = data[at]
    data[at] = old ^ mask
    return old, data[at]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--frame", type=int, required=True, help="1-based frame number")
    parser.add_argument("--offset", type=int, required=True, help="byte of the TCP payload")
    parser.add_argument("--xor", type=lambda v: int(v, 0), default=0x01, help="mask (0x01)")
    args = parser.parse_args()
    if not 1 <= args.xor <= 0xFF:
        parser.error("--xor must be 1..255")
    with open(args.input, "rb") as handle:
        data = bytearray(handle.read())
    try:
        old, new = flip(data, args.frame, args.offset, args.xor)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    with open(args.output, "wb") as handle:
        handle.write(data)
    print(f"frame {args.frame}, payload byte {args.offset}: {old:#04x} -> {new:#04x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
