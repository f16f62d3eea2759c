#!/usr/bin/env python3
"""Unit tests of pcapedit.py's byte flip: `python3 -m unittest` in this directory."""

import struct
import unittest

from pcapedit import flip, tcp_payload_offset

PAYLOAD = b"\x17\x03\x03\x00\x05hello"


def frame(payload: bytes) -> bytes:
    """Ethernet / IPv4 (20 bytes) / TCP (32 bytes, with options) / payload."""
    tcp = struct.pack(">HHIIBBHHH", 40000, 7547, 1, 1, 8 << 4, 0x18, 512, 0, 0) + b"\x01" * 12
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0,
                     bytes([127, 0, 10, 5]), bytes([127, 0, 10, 2]))
    return b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload


def pcap(*frames: bytes) -> bytearray:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    records = b"".join(struct.pack("<IIII", 0, 0, len(f), len(f)) + f for f in frames)
    return bytearray(header + records)


class FlipTests(unittest.TestCase):
    def test_payload_offset_skips_ip_and_tcp_headers(self):
        self.assertEqual(tcp_payload_offset(frame(PAYLOAD)), 14 + 20 + 32)

    def test_flips_one_byte_of_the_chosen_frame_only(self):
        data = pcap(frame(b"other"), frame(PAYLOAD))
        before = bytes(data)
        old, new = flip(data, 2, 5, 0x01)
        self.assertEqual((old, new), (ord("h"), ord("i")))
        changed = [i for i, (a, b) in enumerate(zip(before, data)) if a != b]
        self.assertEqual(len(changed), 1)
        self.assertEqual(bytes(data[changed[0] - 5 : changed[0] + 5]), b"\x17\x03\x03\x00\x05iello")

    def test_refuses_offsets_outside_the_payload_and_missing_frames(self):
        data = pcap(frame(PAYLOAD))
        with self.assertRaises(ValueError):
            flip(data, 1, len(PAYLOAD), 0x01)
        with self.assertRaises(ValueError):
            flip(data, 2, 0, 0x01)


if __name__ == "__main__":
    unittest.main()
