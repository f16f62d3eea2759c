#!/usr/bin/env python3
"""Minimal file server for the reference captures.

Serves the files under --root over HTTP/1.1 (keep-alive, Content-Length framing), behind Digest
authentication (MD5, qop="auth", verified with hashlib) or, with --auth basic, Basic. With
--tls-cert it speaks HTTPS (see tlsconfig.py).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import http.server
import os
import posixpath
import signal
import socket
import threading
import urllib.parse

import tlsconfig
from common import (
    FS_IP,
    FS_PORT,
    DigestServer,
    http_server,
    log,
    raw_response,
    split_scheme,
    url_host,
)

SERVER_NAME = "cwmpscope-reffs/1.0"


class Handler(http.server.BaseHTTPRequestHandler):
    """One TCP connection to the file server."""

    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    args: argparse.Namespace  # set on the class by main()
    digest: DigestServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        log("fs", f"connection from {self.client_address[0]}:{self.client_address[1]}")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
        pass

    def send_raw(self, status: int, reason: str, headers: list, body: bytes = b"") -> None:
        self.wfile.write(raw_response(status, reason, headers, body, SERVER_NAME))
        log("fs", f"-> {status} {reason} ({len(body)} B)")

    def authorized(self) -> bool:
        """Checks credentials; sends the 401 challenge and returns False when they fail."""
        authorization = self.headers.get("Authorization")
        if self.args.auth == "none":
            return True
        if self.args.auth == "basic":
            scheme, rest = split_scheme(authorization or "")
            try:
                user, _, password = base64.b64decode(rest, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            if scheme == "basic" and (user, password) == (self.args.username, self.args.password):
                return True
            log("fs", "authentication failed (Basic)")
            challenge = f'Basic realm="{self.args.realm}"'
        else:
            verdict, detail = self.digest.verify(authorization, self.command, self.path)
            if verdict == "ok":
                return True
            log("fs", f"authentication {verdict}: {detail}")
            challenge = self.digest.challenge(stale=verdict == "stale")
        self.send_raw(401, "Unauthorized", [("WWW-Authenticate", challenge)])
        return False

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        log("fs", f"<- GET {self.path}")
        if self.headers.get("Content-Length") not in (None, "0"):
            self.send_raw(400, "Bad Request", [("Connection", "close")])
            self.close_connection = True
            return
        if not self.authorized():
            return
        path = posixpath.normpath(urllib.parse.unquote(urllib.parse.urlsplit(self.path).path))
        local = os.path.join(self.args.root, path.lstrip("/"))
        root = os.path.realpath(self.args.root)
        if not os.path.realpath(local).startswith(root + os.sep) or not os.path.isfile(local):
            self.send_raw(404, "Not Found", [])
            return
        with open(local, "rb") as handle:
            data = handle.read()
        self.send_raw(200, "OK", [("Content-Type", "application/octet-stream")], data)

    def finish(self) -> None:
        super().finish()
        log("fs", f"connection from {self.client_address[0]}:{self.client_address[1]} closed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen-ip", default=FS_IP)
    parser.add_argument("--port", type=int, default=FS_PORT)
    parser.add_argument("--root", required=True, help="directory whose files are served")
    parser.add_argument("--auth", choices=("digest", "basic", "none"), default="digest")
    parser.add_argument("--realm", default="cwmpscope reference files")
    parser.add_argument("--username", default="fileuser")
    parser.add_argument("--password", default="file-secret")
    tlsconfig.add_server_options(parser)
    args = parser.parse_args()

    Handler.args = args
    Handler.digest = DigestServer(args.realm, {args.username: args.password})
    tls = tlsconfig.server_tls(args)
    server = http_server(args.listen_ip, args.port, Handler, tls)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    scheme = "https" if tls else "http"
    log("fs", f"ready on {scheme}://{url_host(args.listen_ip)}:{args.port}/ ({args.auth})")
    server.serve_forever()
    log("fs", "stopped")


if __name__ == "__main__":
    main()
