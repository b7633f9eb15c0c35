#!/usr/bin/env python3
"""The nine steps of DollarPe's payout integration guide, from an exchange's side.

Written only from the integration guide and DollarPe's API reference. Signs
requests the way DollarPe's Python snippet does and sends bodies as
`requests` does.

Usage: guide_client.py BASE_URL API_KEY API_SECRET OTHER_ORG_KEY OTHER_ORG_SECRET [WEBHOOK_URL]
       guide_client.py --expiry BASE_URL API_KEY API_SECRET
Prints the payout's UTR; exits non-zero naming the failed check.

The first form runs the guide; every check in it that needs a live quotation
creates one immediately before, so it needs a quotation TTL longer than
anything the test may take (the Go test's server has one). The second form
is the "Quotation has expired" row alone, for a server with a short TTL: it
creates a quotation, polls it until the server reports it EXPIRED, then
initiates with it.

Nothing here is bounded by a fixed time: a wait for the server lasts until
OFFRAMP_TEST_DEADLINE (Unix seconds, set by the Go test to the time it gives
up), or forever if that is unset. A loaded machine makes the server slow,
which is not a failure.
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

EXPIRY_ONLY = len(sys.argv) > 1 and sys.argv[1] == "--expiry"
if EXPIRY_ONLY:
    BASE, KEY, SECRET = sys.argv[2:5]
else:
    BASE, KEY, SECRET, KEY2, SECRET2 = sys.argv[1:6]
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


def call(method, path, body=None, key=KEY, secret=SECRET):
    ts = str(int(time.time()))
    message = f"{key}|{ts}|{json.dumps(body if body is not None else {}, sort_keys=True)}"
    sig = base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    for k, v in {"Content-Type": "application/json", "X-API-KEY": key, "X-TIMESTAMP": ts, "X-SIGNATURE": sig}.items():
        req.add_header(k, v)
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


def ok(method, path, body=None, status=200, **kw):
    code, res = call(method, path, body, **kw)
    check(code == status and res["status"] is True, f"{method} {path}", f"{code} {json.dumps(res)}")
    return res["data"]


def error_row(method, path, body, message, **kw):
    code, res = call(method, path, body, **kw)
    check(code == 400 and res["status"] is False and res["message"] == message, f"error row '{message}'", f"{code} {json.dumps(res)}")


def poll(path, field, done):
    """Polls path until done(data[field]), until DEADLINE."""
    start, pause = time.time(), 0.01
    while True:
        data = ok("GET", path)
        if done(data[field]):
            return data, time.time() - start
        if DEADLINE is not None and time.time() >= DEADLINE:
            check(False, f"{path} not done when the test gives up, after {time.time() - start:.1f}s", json.dumps(data))
        time.sleep(pause)
        pause = min(pause * 2, 0.25)  # leave the CPU to the server


def onboard(suffix):
    """A KYC-verified customer with a verified bank account ending in suffix."""
    n = uuid.uuid4().int
    cust = ok("POST", "/cms/api/v1/customer/create", {"full_name": "Meera Iyer", "email": f"meera.{RUN}.{n % 10**6}@example.com",
                                                       "phone": f"97{n % 10**8:08d}", "alpha_3_country_code": "IND"})
    ok("POST", "/cms/api/v1/kyc/add-kyc-data", {
        "customer_id": cust["id"], "full_name": "Meera Iyer", "phone": "9911002211", "full_address": "4 Marine Drive, Mumbai",
        "dob": "11-11-1991", "registered_date": "01-02-2025", "tax_number": f"AMRPI{n % 10000:04d}Q", "document_type": "AADHAAR",
        "document_front_image_url": "https://sandbox.dollarpe.xyz/test-images/aadhaar-front.jpg",
        "document_back_image_url": "https://sandbox.dollarpe.xyz/test-images/aadhaar-back.jpg",
        "document_details": {"document_number": f"{500000000000 + n % 10**11}", "additional_data": {}},
        "selfie_url": "https://sandbox.dollarpe.xyz/test-images/selfie.jpg", "selfie_verification_status": True})
    poll(f"/cms/api/v1/customer/{cust['id']}", "status", lambda s: s != "PROCESSING")
    bank = ok("POST", "/cms/api/v1/bank/create", {"customer_id": cust["id"], "account_number": f"6{n % 10**7:07d}{suffix}", "ifsc": "ICIC0000104"})
    poll(f"/cms/api/v1/bank/{cust['id']}/{bank['id']}", "bank_account_status", lambda s: s != "PROCESSING")
    return cust, bank


def quote(cust, bank, amount="51"):
    return ok("POST", "/pos/api/v1/payout/quotation", {
        "asset": "usdt", "fiat": "inr", "sending_amount": amount, "customer_id": cust["id"], "bank_id": bank["id"],
        "risk_parameters": {"ip_address": "127.0.0.1", "device_id": "device-1", "suspicious_activity_report": "False",
                            "law_enforcement_agency_report": "False"}})


def initiate(q, order, ref=None, **kw):
    body = {"quotation_id": q["id"], "customer_id": q["customer_id"], "exchange_order_id": order}
    if ref:
        body["client_reference_id"] = ref
    return call("POST", "/pos/api/v1/payout/initiate", body, **kw)


if EXPIRY_ONLY:
    # A quotation past its TTL: wait until the server's clock (which alone
    # judges expiry) says so, however long that takes, then use it.
    cust, bank = onboard("7002")
    expiring = quote(cust, bank, "52")
    seen, _ = poll(f"/pos/api/v1/payout/quotation/{expiring['id']}", "status", lambda s: s != "UNLINKED")
    check(seen["status"] == "EXPIRED", "quotation shows EXPIRED", json.dumps(seen))
    error_row("POST", "/pos/api/v1/payout/initiate", {"quotation_id": expiring["id"], "customer_id": cust["id"], "exchange_order_id": f"{RUN}-order-e"},
              "Quotation has expired")
    check(ok("GET", f"/pos/api/v1/payout/quotation/{expiring['id']}")["status"] == "EXPIRED", "quotation still EXPIRED")
    print(f"{checks} passed, 0 failed")
    sys.exit(0)

# Prerequisite: the webhook endpoint.
if len(sys.argv) > 6:
    hook = ok("POST", "/org/api/v1/organizations/api-webhooks", {"webhook_url": sys.argv[6]})
    check(hook == sys.argv[6], "webhook URL configured", json.dumps(hook))

# Step 1: configuration.
cfg = ok("GET", "/pos/api/v1/payout/configuration")
for k in ("supported_fiats", "supported_assets", "supported_networks", "coin_limits"):
    check(k in cfg, f"configuration has {k}", json.dumps(cfg))
check("usdt" in [a.lower() for a in cfg["supported_assets"]], "USDT supported")

# Step 2: KYC and a verified bank account.
cust, bank = onboard("7001")
check(ok("GET", f"/cms/api/v1/customer/{cust['id']}")["status"] == "VERIFIED", "customer VERIFIED")
check(ok("GET", f"/cms/api/v1/bank/{cust['id']}/{bank['id']}")["bank_account_status"] == "VERIFIED", "bank VERIFIED")

# Step 3: limits and EDD.
lim = ok("GET", f"/ren/api/v1/payout/limits/{cust['id']}")
for k in ("daily_limit", "available_limit", "limit_reset_timestamp", "is_edd_required", "is_limit_increase_available"):
    check(k in lim, f"limits has {k}", json.dumps(lim))
check(isinstance(lim["limit_reset_timestamp"], int) and lim["limit_reset_timestamp"] > time.time(), "limit_reset_timestamp is a future Unix time")
check(lim["is_edd_required"] is False, "no EDD needed for a new customer")

# Step 4: rate.
rate = ok("GET", "/pos/api/v1/payout/fetch-rate?asset=USDT&fiat=INR&amount=51")
check(rate["asset"] == "USDT" and rate["rate"] > 0 and rate["amount"] == 51, "fetch-rate", json.dumps(rate))

# Step 5: quotation.
q = quote(cust, bank)
for k in ("asset", "fiat", "sending_amount", "customer_id", "expiry_time", "receiving_amount", "fees", "rate"):
    check(k in q, f"quotation has {k}", json.dumps(q))
check(q["rate"] == rate["rate"], "quotation uses the fetched rate")

# Step 6: initiate.
order = f"{RUN}-order-1"
code, res = initiate(q, order, ref=f"{RUN}-ref-1")
check(code == 201 and res["data"]["status"] == "PROCESSING", "initiate is 201 PROCESSING", json.dumps(res))
payout = res["data"]
for k in ("quotation_id", "customer_id", "client_reference_id", "bank_id", "exchange_order_id", "status"):
    check(k in payout, f"payout has {k}", json.dumps(payout))

# Step 9 (linking may come right after initiate, as the diagrams show).
link = ok("PATCH", "/pos/api/v1/payout/update-transfer-id", {"exchange_order_id": order, "exchange_transfer_id": f"{RUN}-transfer-1"})
check(link["exchange_transfer_id"] == f"{RUN}-transfer-1", "transfer linked", json.dumps(link))

# Steps 7-8: poll to SUCCESS with a UTR (how long it takes is only reported).
final, took = poll(f"/pos/api/v1/payout/{payout['id']}", "status", lambda s: s != "PROCESSING")
check(final["status"] == "SUCCESS" and final["utr"], "payout SUCCESS with a UTR", json.dumps(final))
check(final["receiveing_amount"] == final["receiving_amount"] and final["exchange_transfer_id"] == f"{RUN}-transfer-1", "payout fields", json.dumps(final))
print(f"payout {payout['id']} SUCCESS utr={final['utr']} after {took:.1f}s")

# A payout to an account ending 3333 fails with its reason.
cust3, bank3 = onboard("3333")
code, res = initiate(quote(cust3, bank3), f"{RUN}-order-3")
check(code == 201, "initiate to 3333", json.dumps(res))
failed, _ = poll(f"/pos/api/v1/payout/{res['data']['id']}", "status", lambda s: s != "PROCESSING")
check(failed["status"] == "FAILED" and failed["failure_reason"] == "BENEFICIARY_BANK_REJECTED", "3333 FAILED with its reason", json.dumps(failed))

# Documented error rows. Each row that names an unlinked quotation uses one
# created immediately before it, so that the row's own error, not "Quotation
# has expired", is what the server answers. "Quotation has expired" is the
# --expiry form, run against a short-TTL server. The amounts differ so that no
# two quotation requests have the same body: a mutating request's signature
# is single-use, and two in the same second would otherwise collide.
error_row("POST", "/pos/api/v1/payout/initiate", {"quotation_id": q["id"], "customer_id": cust["id"], "exchange_order_id": f"{RUN}-order-x"},
          "Quotation is already linked to another payout")
error_row("POST", "/pos/api/v1/payout/initiate", {"quotation_id": quote(cust, bank, "53")["id"], "customer_id": cust3["id"], "exchange_order_id": f"{RUN}-order-y"},
          "Customer ID does not match with the quotation")
error_row("POST", "/pos/api/v1/payout/initiate", {"quotation_id": quote(cust, bank, "54")["id"], "customer_id": cust["id"], "exchange_order_id": f"{RUN}-order-z"},
          "Quotation is not found", key=KEY2, secret=SECRET2)
error_row("POST", "/pos/api/v1/payout/initiate", {"quotation_id": quote(cust, bank, "55")["id"], "customer_id": cust["id"], "exchange_order_id": f"{RUN}-order-w",
                                                  "client_reference_id": f"{RUN}-ref-1"}, "Client Reference ID already exists")
error_row("POST", "/pos/api/v1/payout/initiate", {"quotation_id": quote(cust, bank, "56")["id"], "customer_id": cust["id"], "exchange_order_id": order},
          "Exchange Order ID already linked to a payout that is either processing or successful")

history = ok("GET", f"/pos/api/v1/payout/history?customer_id={cust['id']}")
check(history["count"] == 1 and history["results"][0]["id"] == payout["id"], "history", json.dumps(history))

print(f"{checks} passed, 0 failed")
