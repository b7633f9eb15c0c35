#!/usr/bin/env python3
"""A webhook receiver written from DollarPe's verification snippet (API spec 11.2).

Usage: receiver.py API_KEY API_SECRET < cases

Each input line is a JSON object {"name", "body_b64", "timestamp", "signature"}:
the raw request body (base64 of the exact bytes) and the X-TIMESTAMP and
X-SIGNATURE header values. Each output line is a JSON object
{"name", "valid", "reason", "canonical_equals_body"}.
"""
import base64
import hashlib
import hmac
import json
import sys
import time

TOLERANCE = 300  # seconds


def verify(raw, timestamp, signature, api_key, api_secret):
    if abs(time.time() - int(timestamp)) > TOLERANCE:
        return False, "stale"
    body = json.loads(raw)
    # DollarPe's snippet, verbatim:
    body = json.dumps(body, sort_keys=True, separators=(",", ":"))
    message = f"{api_key}|{timestamp}|{body}".encode()
    expected = base64.b64encode(
        hmac.new(api_secret.encode(), message, hashlib.sha256).digest()
    ).decode()
    # verify with hmac.compare_digest
    if not hmac.compare_digest(expected, signature):
        return False, "signature"
    return True, ""


def main():
    api_key, api_secret = sys.argv[1], sys.argv[2]
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        raw = base64.b64decode(case["body_b64"])
        try:
            valid, reason = verify(raw, case["timestamp"], case["signature"], api_key, api_secret)
        except ValueError as e:  # bad JSON or timestamp
            valid, reason = False, "malformed: %s" % e
        try:
            canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
            same = canonical.encode() == raw
        except ValueError:
            same = False
        print(json.dumps({"name": case["name"], "valid": valid, "reason": reason,
                          "canonical_equals_body": same}))


if __name__ == "__main__":
    main()
