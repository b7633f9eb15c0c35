// Package signature implements DollarPe-compatible request signatures:
//
//	message   = API_KEY + "|" + X-TIMESTAMP + "|" + canonical_body
//	signature = base64.StdEncoding(HMAC-SHA256(key = api_secret, msg = message))
//
// DollarPe's own client snippets disagree on how the body is serialised
// (see the signatures spec, §2.2), so the server cannot compare against a
// single canonical form. Instead the wire body is parsed once, with number
// literals kept verbatim and duplicate keys rejected, and re-rendered in each
// form a real client produces. The signature must match one of them.
//
// Never verify against encoding/json output: it escapes < > & and
// U+2028/U+2029, and decoding into any rounds large integers through float64,
// so no client's bytes would be reproduced.
package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

var (
	// ErrMalformed: the body is not one JSON value we are willing to verify
	// (syntax error, duplicate key, invalid UTF-8, lone surrogate, too deep,
	// trailing data). Returned before any HMAC is computed. Maps to a 400.
	ErrMalformed = errors.New("signature: malformed JSON body")
	// ErrMismatch: no accepted form of the body matches the signature.
	ErrMismatch = errors.New("signature: mismatch")
	// ErrNestedUnsigned: only the JS-replacer form matched, and it was not
	// allowed. That form drops nested keys that are not also top-level keys,
	// so those fields were never covered by the signature.
	ErrNestedUnsigned = errors.New("signature: nested keys unsigned")
)

// Form names one way of serialising a body for signing.
type Form string

const (
	// FormPythonDefault is json.dumps(body, sort_keys=True): ", " and ": "
	// separators, ensure_ascii escaping (lowercase \uXXXX, surrogate pairs,
	// DEL escaped), keys sorted by code point at every depth.
	FormPythonDefault Form = "python_default"
	// FormCompactUTF8 is what the fixed JS canonicalizer (spec §2.4) writes:
	// compact, raw UTF-8 with JSON.stringify escaping, keys sorted by UTF-16
	// code units at every depth.
	FormCompactUTF8 Form = "compact_sorted_utf8"
	// FormCompactASCII is json.dumps(body, sort_keys=True,
	// separators=(",", ":")): compact, ensure_ascii, code-point sort. This
	// is DollarPe's webhook snippet and ZAPYD's canonical body, and the form
	// Offramp itself signs with.
	FormCompactASCII Form = "compact_sorted_ascii"
	// FormJSReplacer reproduces JSON.stringify(body, Object.keys(body).sort())
	// exactly: the sorted top-level keys are a whitelist applied at every
	// depth, so nested objects lose keys. Unsafe; see ErrNestedUnsigned.
	FormJSReplacer Form = "js_replacer"
	// FormJavaTreeMap is DollarPe's Java snippet,
	// objectMapper.writeValueAsString(new TreeMap<>(body)) with Jackson's
	// default ObjectMapper: compact, raw UTF-8, top-level keys sorted by
	// UTF-16 code units (String.compareTo), nested objects in the order
	// they came on the wire (Jackson writes each map in its iteration
	// order, and the client sent the same maps with the same mapper), and
	// Jackson's escaping: JSON.stringify's, except \u00XX is uppercase.
	// Every key and value is covered, so it is a safe form; it only
	// depends on nested key order, which a proxy that re-serialises the
	// body would break.
	FormJavaTreeMap Form = "java_treemap"
)

// verifyOrder is the order Verify tries the safe forms in. Compact ASCII
// comes first because it is the documented canonical form, so bodies that
// render identically in several forms report that one. The Java form comes
// last: for bodies whose nested keys came sorted and without control
// characters it equals compact UTF-8, and is then reported as that.
var verifyOrder = [...]Form{FormCompactASCII, FormCompactUTF8, FormPythonDefault, FormJavaTreeMap}

// Sign returns base64(HMAC-SHA256(secret, apiKey|timestamp|canonical)).
func Sign(apiKey, secret, timestamp string, canonical []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(apiKey))
	mac.Write([]byte{'|'})
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'|'})
	mac.Write(canonical)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Canonicalize rebuilds body (wire bytes; empty or whitespace-only means {},
// as GET requests sign "{}") in the given form. Errors wrap ErrMalformed,
// except for an unknown form.
func Canonicalize(body []byte, form Form) ([]byte, error) {
	switch form {
	case FormPythonDefault, FormCompactUTF8, FormCompactASCII, FormJSReplacer, FormJavaTreeMap:
	default:
		return nil, fmt.Errorf("signature: unknown form %q", string(form))
	}
	doc, err := parse(body)
	if err != nil {
		return nil, err
	}
	return render(&doc.root, form, make([]byte, 0, len(body)+len(body)/4+8)), nil
}

// Verify checks sig against the body rendered in FormCompactASCII,
// FormCompactUTF8, FormPythonDefault and FormJavaTreeMap (and
// FormJSReplacer only if allowJSReplacer), and returns the form that
// matched.
//
// If none matched but FormJSReplacer would have, it returns
// ErrNestedUnsigned so the caller can tell the integrator to fix their
// snippet. A JS-replacer rendering identical to a safe form (flat bodies) is
// reported as that safe form. Malformed bodies return an error wrapping
// ErrMalformed before any HMAC is computed.
func Verify(apiKey, secret, timestamp string, body []byte, sig string, allowJSReplacer bool) (Form, error) {
	doc, err := parse(body)
	if err != nil {
		return "", err
	}
	// The comparison is on the base64 text rather than on decoded bytes:
	// the decoder ignores CR/LF and a URL-safe or unpadded variant would
	// need extra decoding paths, so comparing the canonical encoding is
	// both strict and simple. hmac.Equal keeps it constant-time.
	want := []byte(sig)
	match := func(canonical []byte) bool {
		return hmac.Equal([]byte(Sign(apiKey, secret, timestamp, canonical)), want)
	}

	buf := make([]byte, 0, 2*len(body)+16)
	var tried [len(verifyOrder)][]byte
	for i, form := range verifyOrder {
		start := len(buf)
		buf = render(&doc.root, form, buf)
		c := buf[start:len(buf):len(buf)]
		tried[i] = c
		if seen(tried[:i], c) {
			// Same bytes as a form already tried: same HMAC, skip it.
			continue
		}
		if match(c) {
			return form, nil
		}
	}

	if !doc.nestedObjects {
		// Flat body: the replacer drops nothing, so its string is the
		// compact UTF-8 one, which has already failed above.
		return "", ErrMismatch
	}
	js := render(&doc.root, FormJSReplacer, nil)
	if seen(tried[:], js) {
		// Nested objects whose keys all happen to be top-level keys: the
		// replacer dropped nothing, and this exact string already failed.
		return "", ErrMismatch
	}
	if match(js) {
		if allowJSReplacer {
			return FormJSReplacer, nil
		}
		return "", ErrNestedUnsigned
	}
	return "", ErrMismatch
}

func seen(list [][]byte, c []byte) bool {
	for _, t := range list {
		if bytes.Equal(t, c) {
			return true
		}
	}
	return false
}

// CanonicalJSON marshals v (any Go value encoding/json can marshal) and
// returns its FormCompactASCII canonical form. It is used to sign outgoing
// webhooks: send exactly the returned bytes, so the bytes sent are the
// bytes signed. json.Marshal's HTML and U+2028 escaping is undone by the
// re-rendering; number literals are kept as json.Marshal wrote them.
// Values nested deeper than 64 levels, or json.RawMessage fields holding
// duplicate keys, fail with an error wrapping ErrMalformed: the receiver
// could not verify them either.
func CanonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("signature: marshal: %w", err)
	}
	return Canonicalize(b, FormCompactASCII)
}
