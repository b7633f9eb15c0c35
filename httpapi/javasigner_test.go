package httpapi_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/offramp/offramp/signature"
)

// ordered is a JSON object that keeps its members in the order given, as
// the LinkedHashMap a Java client builds does (json.Marshal would sort a
// map's keys, and sorted nested keys sign the same in every form).
type ordered []orderedMember

type orderedMember struct {
	key string
	val any
}

func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// obj builds an ordered object from key, value pairs.
func obj(kv ...any) ordered {
	o := make(ordered, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		o = append(o, orderedMember{kv[i].(string), kv[i+1]})
	}
	return o
}

// javaOnly fails unless raw's Java rendering differs from every other form
// the server accepts, so that a success proves the Java form was matched.
func javaOnly(t *testing.T, raw []byte) []byte {
	t.Helper()
	java, err := signature.Canonicalize(raw, signature.FormJavaTreeMap)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []signature.Form{signature.FormCompactASCII, signature.FormCompactUTF8, signature.FormPythonDefault} {
		if other, _ := signature.Canonicalize(raw, f); bytes.Equal(other, java) {
			t.Fatalf("%s renders the Java string too: %s", f, java)
		}
	}
	return java
}

// TestJavaSignerAccepted signs the way DollarPe's Java snippet does
// (Jackson writeValueAsString(new TreeMap<>(body)): top level sorted,
// nested objects in the order the client built and sent them) a
// kyc/add-kyc-data body and a quotation whose risk_parameters are not in
// sorted order, and expects both to succeed; the same KYC signature over a
// body whose nested keys were reordered is refused.
func TestJavaSignerAccepted(t *testing.T) {
	e := newEnv(t)
	setup := e.client() // Python-signed fixtures
	java := e.client()
	java.form = signature.FormJavaTreeMap

	// kyc/add-kyc-data in the documented field order. Unique tax and
	// document numbers come from kycBody.
	id := setup.newCustomer(nil)
	ref := kycBody(id, nil)
	docNumber := ref["document_details"].(map[string]any)["document_number"]
	kyc := func(additionalData ordered) []byte {
		return mustJSON(t, obj(
			"customer_id", id,
			"full_name", "Ravi Kumar",
			"phone", "9911002211",
			"full_address", "12 MG Road, Bengaluru 560001",
			"dob", "15-08-1990",
			"registered_date", "01-01-2024",
			"tax_number", ref["tax_number"],
			"document_type", "AADHAAR",
			"document_front_image_url", "https://sandbox.example/test-images/aadhaar-front.jpg",
			"document_back_image_url", "https://sandbox.example/test-images/aadhaar-back.jpg",
			"document_details", obj("document_number", docNumber, "additional_data", additionalData),
			"selfie_url", "https://sandbox.example/selfie.jpg",
			"selfie_verification_status", true,
			"additional_info", obj("profession", "Engineer", "income_range", "10-25L"),
		))
	}
	signed := kyc(obj("issuing_state", "Karnataka", "issue_date", "01-01-2015"))
	canon := javaOnly(t, signed)
	ts := e.Clock.Now().Unix()
	java.ts = ts
	r := java.doRaw("POST", "/cms/api/v1/kyc/add-kyc-data", signed, nil)
	expectOK(t, r, 200)
	if m := r.obj(t); m["status"] != "PROCESSING" || m["id"] != id {
		t.Fatalf("add-kyc-data: %s", r.Raw)
	}

	// The same signature over the body with additional_data reordered, as
	// a proxy re-serialising it might send it: the Java form signs nested
	// keys in wire order, so it is refused (by the signature check, which
	// comes before the replay check).
	sig := signature.Sign(java.key, java.secret, strconv.FormatInt(ts, 10), canon)
	reordered := kyc(obj("issue_date", "01-01-2015", "issuing_state", "Karnataka"))
	expectErr(t, java.doRaw("POST", "/cms/api/v1/kyc/add-kyc-data", reordered, map[string]string{"X-SIGNATURE": sig}), 401, "signature", "Invalid Signature")
	java.ts = 0

	// payout/quotation with risk_parameters as a client builds them
	// (ip_address before device_id).
	ps := setup.readyForPayout("")
	for i, amount := range []string{"51", "52.5"} { // distinct bodies: no replay
		raw := mustJSON(t, obj(
			"asset", "usdt",
			"fiat", "inr",
			"sending_amount", amount,
			"customer_id", ps.customer,
			"bank_id", ps.bank,
			"payment_method", "IMPS",
			"risk_parameters", obj(
				"ip_address", "127.0.0."+strconv.Itoa(i+1),
				"device_id", "java-device-"+strconv.Itoa(i),
				"suspicious_activity_report", false,
				"law_enforcement_agency_report", false,
			),
		))
		javaOnly(t, raw)
		r := java.doRaw("POST", "/pos/api/v1/payout/quotation", raw, nil)
		expectOK(t, r, 200)
		if q := r.obj(t); q["customer_id"] != ps.customer || q["id"] == nil {
			t.Fatalf("quotation: %s", r.Raw)
		}
	}
}
