#!/usr/bin/env python3
"""An exchange-side client written only from DollarPe's API documentation.

It signs requests exactly as DollarPe's Python snippet does
(json.dumps(body, sort_keys=True)), sends bodies the way `requests` does
(json.dumps(body)), and walks customer onboarding: create, KYC, bank
account, the sandbox magic values and the documented error rows.

Usage: dollarpe_client.py BASE_URL API_KEY API_SECRET
Exits non-zero with a message naming the failed check.

Nothing here is bounded by a fixed time: a wait for the server (a KYC or a
bank account leaving PROCESSING) lasts until OFFRAMP_TEST_DEADLINE (Unix
seconds, set by the Go test to the time it gives up), or forever if that is
unset. A loaded machine makes the server slow, which is not a failure.
"""
import base64
import hashlib
import hmac
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE, KEY, SECRET = sys.argv[1], sys.argv[2], sys.argv[3]
RUN = uuid.uuid4().hex[:8]
checks = 0
DEADLINE = float(os.environ["OFFRAMP_TEST_DEADLINE"]) if os.environ.get("OFFRAMP_TEST_DEADLINE") else None
# Only stops a request from hanging forever; capped by the deadline so that
# the script fails with its own message before the Go test gives up.
HTTP_TIMEOUT_S = 300


def request_timeout():
    if DEADLINE is None:
        return HTTP_TIMEOUT_S
    return max(1.0, min(HTTP_TIMEOUT_S, DEADLINE - time.time()))


def sign(body, ts):
    message = f"{KEY}|{ts}|{json.dumps(body, sort_keys=True)}"
    digest = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def call(method, path, body=None):
    ts = str(int(time.time()))
    signed = body if body is not None else {}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("X-API-KEY", KEY)
    req.add_header("X-TIMESTAMP", ts)
    req.add_header("X-SIGNATURE", sign(signed, ts))
    try:
        with urllib.request.urlopen(req, timeout=request_timeout()) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
    except (urllib.error.URLError, socket.timeout, TimeoutError) as err:
        check(False, f"{method} {path}: no answer", repr(err))


def check(cond, what, detail=""):
    global checks
    if not cond:
        print(f"FAIL: {what} {detail}", file=sys.stderr)
        sys.exit(1)
    checks += 1


def ok(method, path, body=None):
    code, res = call(method, path, body)
    check(code == 200 and res["status"] is True and res["message"] == "Success", f"{method} {path}", json.dumps(res))
    return res["data"]


def error_row(method, path, body, message):
    code, res = call(method, path, body)
    check(code == 400 and res["status"] is False and res["message"] == message and res["data"] is None,
          f"error row '{message}' for {path}", f"{code} {json.dumps(res)}")


def wait_status(path, field):
    """Polls path until data[field] leaves PROCESSING, until DEADLINE."""
    start, pause = time.time(), 0.01
    while True:
        data = ok("GET", path)
        if data[field] != "PROCESSING":
            return data, time.time() - start
        if DEADLINE is not None and time.time() >= DEADLINE:
            check(False, f"{path} still PROCESSING when the test gives up, after {time.time() - start:.1f}s", json.dumps(data))
        time.sleep(pause)
        pause = min(pause * 2, 0.2)  # leave the CPU to the server


seq = [0]


def new_customer(**extra):
    seq[0] += 1
    body = {"full_name": "Asha Verma", "email": f"asha.{RUN}.{seq[0]}@example.com",
            "phone": f"98{seq[0]:08d}", "alpha_3_country_code": "IND", "client_reference_id": f"{RUN}-{seq[0]}"}
    body.update(extra)
    return ok("POST", "/cms/api/v1/customer/create", body)


def kyc(customer_id, **over):
    seq[0] += 1
    body = {"customer_id": customer_id, "full_name": "Asha Verma", "phone": "9911002211",
            "full_address": "221 Park Street, Kolkata 700016", "dob": "02-03-1992", "registered_date": "10-01-2025",
            "tax_number": f"ABCPV{seq[0] % 10000:04d}K", "document_type": "AADHAAR",
            "document_front_image_url": "https://sandbox.dollarpe.xyz/test-images/aadhaar-front.jpg",
            "document_back_image_url": "https://sandbox.dollarpe.xyz/test-images/aadhaar-back.jpg",
            "document_details": {"document_number": f"{400000000000 + seq[0] * 7919}", "additional_data": {}},
            "selfie_url": "https://sandbox.dollarpe.xyz/test-images/selfie.jpg", "selfie_verification_status": True}
    body.update(over)
    return ok("POST", "/cms/api/v1/kyc/add-kyc-data", body)


# 1. Onboard a customer to VERIFIED (how long it takes is only reported:
# on a loaded machine it may take long).
cust = new_customer()
check(cust["status"] == "UNVERIFIED" and cust["type"] == "INDIVIDUAL" and cust["phone"].startswith("+91"), "new customer", json.dumps(cust))
res = kyc(cust["id"])
check(res["status"] == "PROCESSING", "KYC submitted", json.dumps(res))
data, took = wait_status(f"/cms/api/v1/customer/{cust['id']}", "status")
check(data["status"] == "VERIFIED", "KYC verified", f"{data['status']} after {took:.1f}s")

# 2. Add a bank account and see it VERIFIED.
bank = ok("POST", "/cms/api/v1/bank/create", {"customer_id": cust["id"], "account_number": "7627389201", "ifsc": "SBIN0001829"})
check(bank["bank_account_status"] == "PROCESSING" and bank["bank_account_type"] == "ACCOUNT_DETAILS", "bank created", json.dumps(bank))
check("7627389201" not in json.dumps(bank), "account number masked in responses", json.dumps(bank))
data, took = wait_status(f"/cms/api/v1/bank/{cust['id']}/{bank['id']}", "bank_account_status")
check(data["bank_account_status"] == "VERIFIED", "bank verified", json.dumps(data))
listing = ok("GET", f"/cms/api/v1/bank/list/{cust['id']}")
check(listing["count"] == 1 and listing["results"][0]["id"] == bank["id"], "bank list", json.dumps(listing))

# 3. KYC magic values.
for over, reason in [({"tax_number": "AAAAA0000A"}, "TAX_VERIFICATION_FAILED"),
                     ({"document_details": {"document_number": "000000000000"}}, "DOCUMENT_VERIFICATION_FAILED"),
                     ({"selfie_url": "https://sandbox.dollarpe.xyz/test-images/selfie-fail.jpg"}, "SELFIE_VERIFICATION_FAILED")]:
    c = new_customer()
    kyc(c["id"], **over)
    data, _ = wait_status(f"/cms/api/v1/customer/{c['id']}", "status")
    check(data["status"] == "FAILED" and data["failure_reason"] == reason, f"KYC magic value -> {reason}", json.dumps(data))

# 4. Bank magic values.
for suffix, reason in [("0000", "INVALID_ACCOUNT_NUMBER"), ("1111", "NAME_MISMATCH"), ("2222", "PENNY_DROP_FAILED")]:
    b = ok("POST", "/cms/api/v1/bank/create", {"customer_id": cust["id"], "account_number": f"30{seq[0]:04d}{suffix}", "ifsc": "HDFC0000123"})
    data, _ = wait_status(f"/cms/api/v1/bank/{cust['id']}/{b['id']}", "bank_account_status")
    check(data["bank_account_status"] == "FAILED" and data["failure_reason"] == reason, f"bank magic value -> {reason}", json.dumps(data))
code, res = call("POST", "/cms/api/v1/bank/create", {"customer_id": cust["id"], "account_number": "7627389202", "ifsc": "SBI0001829IV"})
check(code == 400 and "ifsc" in res["errors"], "IFSC not matching the pattern is a 400", json.dumps(res))

# 5. Documented error rows.
error_row("POST", "/cms/api/v1/customer/create", {"full_name": "X", "email": cust["email"], "phone": "9700000001", "alpha_3_country_code": "IND"}, "Email already in use")
error_row("POST", "/cms/api/v1/customer/create", {"full_name": "X", "email": f"x.{RUN}@example.com", "phone": cust["phone"], "alpha_3_country_code": "IND"}, "Phone already in use")
error_row("POST", "/cms/api/v1/customer/create", {"full_name": "X", "email": f"y.{RUN}@example.com", "phone": "9700000002", "alpha_3_country_code": "XXX"}, "Invalid country code")
error_row("POST", "/cms/api/v1/customer/create", {"full_name": "X", "email": f"z.{RUN}@example.com", "phone": "9700000003", "alpha_3_country_code": "IND", "client_reference_id": cust["client_reference_id"]}, "Client Reference ID already exists")
error_row("GET", f"/cms/api/v1/customer/{uuid.uuid4()}", None, "Customer not found or access denied")
error_row("GET", f"/cms/api/v1/bank/{cust['id']}/{uuid.uuid4()}", None, "Bank not found or access denied")
unverified = new_customer()
error_row("POST", "/cms/api/v1/bank/create", {"customer_id": unverified["id"], "account_number": "7627389203", "ifsc": "SBIN0001829"}, "Customer is unverified")
other = new_customer()
error_row("POST", "/cms/api/v1/bank/create", {"customer_id": cust["id"], "account_number": "7627389201", "ifsc": "SBIN0001829"}, "Account number already in use")
code, res = call("POST", "/cms/api/v1/kyc/add-kyc-data", {"customer_id": cust["id"]})
check(code == 400 and res["status"] is False and "tax_number" in res["errors"], "KYC validation lists fields", json.dumps(res))
error_row("POST", "/org/api/v1/organizations/api-webhooks", {}, "Webhook URL is required")
hook = ok("POST", "/org/api/v1/organizations/api-webhooks", {"webhook_url": "https://exchange.example/dollarpe-hooks"})
check(hook == "https://exchange.example/dollarpe-hooks", "webhook URL stored", json.dumps(hook))

# 6. Authentication failures are 401.
saved = SECRET
SECRET = "wrong-secret"
code, res = call("GET", "/cms/api/v1/customer/list")
check(code == 401 and res["status"] is False, "wrong secret is 401", json.dumps(res))
SECRET = saved

print(f"{checks} passed, 0 failed")
