#!/usr/bin/env python3
"""Sign wire bodies the way DollarPe's Python snippets do (used by crosslang_test.go).

Usage: sign.py API_KEY API_SECRET TIMESTAMP < cases
stdin:  one case per line, "name<TAB>base64(exact wire bytes)"
stdout: one JSON object per line and signer:
        {"case", "signer", "sends": base64(body put on the wire), "signs": base64(string signed), "signature"}

The wire JSON is parsed here, by Python, exactly as a client holding that body would hold it.
"""
import base64
import hashlib
import hmac
import json
import sys


def main():
    api_key, api_secret, timestamp = sys.argv[1:4]

    def sign(body_str):
        # Verbatim from the DollarPe Python snippet.
        message = f"{api_key}|{timestamp}|{body_str}".encode()
        return base64.b64encode(hmac.new(api_secret.encode(), message, hashlib.sha256).digest()).decode()

    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        name, wire_b64 = line.split("\t")
        body = json.loads(base64.b64decode(wire_b64).decode("utf-8"))
        # requests.post(json=body) and data=json.dumps(body) both send this.
        sends = json.dumps(body)
        signers = (
            # The vendor docs snippet.
            ("python_docs", json.dumps(body, sort_keys=True)),
            # The compact variant discussed in signatures.md §2.4.
            ("python_compact_utf8", json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)),
        )
        for signer, signs in signers:
            print(json.dumps({
                "case": name,
                "signer": signer,
                "sends": base64.b64encode(sends.encode()).decode(),
                "signs": base64.b64encode(signs.encode()).decode(),
                "signature": sign(signs),
            }))


if __name__ == "__main__":
    main()
