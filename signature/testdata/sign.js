#!/usr/bin/env node
// Sign wire bodies the way DollarPe's JS snippet and the fixed canonicalizer
// (signatures.md §2.4) do. Used by crosslang_test.go.
//
// Usage: node sign.js API_KEY API_SECRET TIMESTAMP < cases
// stdin:  one case per line, "name<TAB>base64(exact wire bytes)"
// stdout: one JSON object per line and signer:
//         {"case", "signer", "sends": base64(body on the wire), "signs": base64(string signed), "signature"}
"use strict";
const crypto = require("crypto");

const [apiKey, apiSecret, timestamp] = process.argv.slice(2, 5);

function sign(bodyStr) {
  return crypto.createHmac("sha256", apiSecret).update(`${apiKey}|${timestamp}|${bodyStr}`).digest("base64");
}

// Verbatim from signatures.md §2.4.
const canon = v => Array.isArray(v) ? "[" + v.map(canon).join(",") + "]" : (v && typeof v === "object") ? "{" +
  Object.keys(v).sort().map(k => JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}" : JSON.stringify(v);

const input = require("fs").readFileSync(0, "utf8");
for (const line of input.split("\n")) {
  if (!line) continue;
  const [name, wireB64] = line.split("\t");
  const body = JSON.parse(Buffer.from(wireB64, "base64").toString("utf8"));
  const sends = JSON.stringify(body); // fetch/axios body
  const signers = [
    // The vendor docs snippet.
    ["js_docs", JSON.stringify(body, Object.keys(body).sort())],
    ["js_fixed", canon(body)],
  ];
  for (const [signer, signs] of signers) {
    process.stdout.write(JSON.stringify({
      case: name,
      signer,
      sends: Buffer.from(sends, "utf8").toString("base64"),
      signs: Buffer.from(signs, "utf8").toString("base64"),
      signature: sign(signs),
    }) + "\n");
  }
}
