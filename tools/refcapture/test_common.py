#!/usr/bin/env python3
"""Unit tests of the harness's shared pieces: `python3 -m unittest` in this directory."""

import unittest

from common import (
    DigestClient,
    DigestServer,
    digest_response,
    envelope,
    make_config_file,
    make_firmware_image,
    parse_auth_params,
    parse_firmware_image,
    soap_body,
    split_envelopes,
)
from cpe import TransferFault, apply_config


class DigestTests(unittest.TestCase):
    def test_rfc2617_example_response(self):
        # The worked example of RFC 2617 section 3.5.
        self.assertEqual(
            digest_response(
                "Mufasa", "testrealm@host.com", "Circle Of Life", "GET", "/dir/index.html",
                "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "auth",
            ),
            "6629fae49393a05397450978507c4ef1",
        )

    def test_auth_params_with_quoted_commas(self):
        params = parse_auth_params('realm="a, b", qop="auth,auth-int", nonce=xyz')
        self.assertEqual(params, {"realm": "a, b", "qop": "auth,auth-int", "nonce": "xyz"})

    def test_client_and_server_agree_and_nc_must_grow(self):
        server = DigestServer("realm", {"user": "secret"})
        client = DigestClient("user", "secret")
        self.assertTrue(client.accept_challenge(server.challenge()))
        first = client.authorization("POST", "/cwmp")
        self.assertEqual(server.verify(first, "POST", "/cwmp"), ("ok", "user"))
        self.assertEqual(server.verify(first, "POST", "/cwmp")[0], "bad")  # replayed nc
        self.assertEqual(server.verify(client.authorization("POST", "/cwmp"), "POST", "/cwmp")[0], "ok")

    def test_wrong_password_and_wrong_uri_are_refused(self):
        server = DigestServer("realm", {"user": "secret"})
        client = DigestClient("user", "wrong")
        client.accept_challenge(server.challenge())
        self.assertEqual(server.verify(client.authorization("POST", "/cwmp"), "POST", "/cwmp")[0], "bad")
        good = DigestClient("user", "secret")
        good.accept_challenge(server.challenge())
        self.assertEqual(server.verify(good.authorization("POST", "/x"), "POST", "/cwmp")[0], "bad")

    def test_unknown_nonce_with_right_password_is_stale(self):
        client = DigestClient("user", "secret")
        client.accept_challenge(DigestServer("realm", {"user": "secret"}).challenge())
        other_server = DigestServer("realm", {"user": "secret"})
        self.assertEqual(
            other_server.verify(client.authorization("POST", "/cwmp"), "POST", "/cwmp")[0], "stale"
        )


class EnvelopeTests(unittest.TestCase):
    def test_two_envelopes_in_one_body(self):
        body = soap_body(
            envelope("<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>", "7"),
            envelope("<cwmp:Download><CommandKey>k</CommandKey></cwmp:Download>", "8"),
        )
        found = split_envelopes(body)
        self.assertEqual([(e.rpc, e.cwmp_id) for e in found], [("InformResponse", "7"), ("Download", "8")])

    def test_no_more_requests_header(self):
        (env,) = split_envelopes(soap_body(envelope("<cwmp:Inform/>", "1", True)))
        self.assertTrue(env.no_more_requests)
        self.assertEqual(split_envelopes(b""), [])

    def test_trailing_garbage_is_an_error(self):
        with self.assertRaises(ValueError):
            split_envelopes(soap_body(envelope("<cwmp:Inform/>", "1")) + b"<junk")


class FileTests(unittest.TestCase):
    def test_firmware_image_round_trip_and_corruption(self):
        image = make_firmware_image("8.4.4.J", 4096)
        self.assertEqual(len(image), 4096)
        self.assertEqual(parse_firmware_image(image)["version"], "8.4.4.J")
        corrupted = image[:-1] + bytes([image[-1] ^ 1])
        with self.assertRaises(ValueError):
            parse_firmware_image(corrupted)

    def test_config_file_sets_its_version(self):
        self.assertEqual(apply_config(make_config_file("1.1.1")), "1.1.1")
        with self.assertRaises(TransferFault):
            apply_config(b":system reboot\n")


if __name__ == "__main__":
    unittest.main()
