#!/usr/bin/env python3
"""A webhook receiver written from DollarPe's documented Python verification.

Listens on 127.0.0.1 (a free port, printed first as "listening PORT"),
verifies each POST exactly as DollarPe's docs show (compact sorted JSON,
HMAC-SHA256 with the organization's key and secret, hmac.compare_digest,
a 300 s timestamp window), answers 200 or 401, and prints one JSON line per
request: {"verified": bool, "webhook_id": ..., "body": {...}}.

Usage: webhook_receiver.py API_KEY API_SECRET
"""
import base64
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

API_KEY, API_SECRET = sys.argv[1], sys.argv[2]


def verify(headers, raw):
    timestamp = headers.get("X-TIMESTAMP")
    received = headers.get("X-SIGNATURE")
    if not timestamp or not received or abs(time.time() - int(timestamp)) > 300:
        return False, None
    body = json.loads(raw)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    message = f"{API_KEY}|{timestamp}|{canonical}".encode()
    expected = base64.b64encode(hmac.new(API_SECRET.encode(), message, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, received), body


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok, body = verify(self.headers, raw)
        self.send_response(200 if ok else 401)
        self.end_headers()
        print(json.dumps({"verified": ok, "webhook_id": self.headers.get("X-WEBHOOK-ID"), "body": body}), flush=True)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
