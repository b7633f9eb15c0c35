package webhook_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/webhook"
)

// TestPythonReceiver checks our messages against a receiver written from
// DollarPe's Python verification snippet (§11.2), run by python3 itself.
func TestPythonReceiver(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is required in CI: %v", err)
		}
		t.Skipf("python3 not on PATH: %v", err)
	}

	type pyCase struct {
		Name      string `json:"name"`
		BodyB64   string `json:"body_b64"`
		Timestamp string `json:"timestamp"`
		Signature string `json:"signature"`
		valid     bool
	}
	var cases []pyCase
	add := func(name string, body []byte, h map[string][]string, valid bool) {
		cases = append(cases, pyCase{
			Name: name, BodyB64: base64.StdEncoding.EncodeToString(body),
			Timestamp: h[webhook.HeaderTimestamp][0], Signature: h[webhook.HeaderSignature][0], valid: valid,
		})
	}
	now := time.Now() // the script checks the timestamp against its own clock

	plain := payoutEvent()
	body, h, err := webhook.Message(plain, testKey, testSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	add("payout_success", body, h, true)

	names := offramp.Event{
		ID: uuid.New(), ObjectType: offramp.ObjectCustomer, ObjectID: uuid.New(), Event: "FAILED", Sequence: 9,
		ClientReferenceID: "cliënt-ref/ü",
		Metadata: map[string]string{
			"name": "José", "failure_reason": "KYC_FAILED", "note": "<a&b> \u2028\u2029 \"q\" \\ \n\t\x01 😀 \u00ff\u007f",
			"é": "key sorts after ASCII", "z": "", "\U0001F600": "astral key",
		},
		CreatedAt: now,
	}
	body, h, err = webhook.Message(names, testKey, testSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	add("non_ascii", body, h, true)

	empty := payoutEvent()
	empty.ObjectType, empty.Event, empty.Metadata, empty.ClientReferenceID = offramp.ObjectEDD, "VERIFIED", nil, ""
	body, h, err = webhook.Message(empty, testKey, testSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	add("empty_metadata_null_ref", body, h, true)

	body, h, err = webhook.Message(plain, testKey, testSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	add("tampered_body", bytes.Replace(body, []byte(`"SUCCESS"`), []byte(`"FAILED"`), 1), h, false)
	add("tampered_utr", bytes.Replace(body, []byte(`RATN1234`), []byte(`RATN9999`), 1), h, false)
	tsh := map[string][]string{
		webhook.HeaderTimestamp: {strconv.FormatInt(now.Unix()+1, 10)},
		webhook.HeaderSignature: h[webhook.HeaderSignature],
	}
	add("tampered_timestamp", body, tsh, false)
	_, wrong, err := webhook.Message(plain, testKey, "another-secret", now)
	if err != nil {
		t.Fatal(err)
	}
	add("wrong_secret", body, wrong, false)
	staleBody, stale, err := webhook.Message(plain, testKey, testSecret, now.Add(-10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	add("stale", staleBody, stale, false)

	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(py, filepath.Join("testdata", "receiver.py"), testKey, testSecret)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("receiver.py: %v\n%s", err, stderr.String())
	}
	type pyResult struct {
		Name                string `json:"name"`
		Valid               bool   `json:"valid"`
		Reason              string `json:"reason"`
		CanonicalEqualsBody bool   `json:"canonical_equals_body"`
	}
	var results []pyResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r pyResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("receiver.py output %q: %v", sc.Text(), err)
		}
		results = append(results, r)
	}
	if len(results) != len(cases) {
		t.Fatalf("receiver.py answered %d cases, want %d:\n%s", len(results), len(cases), out)
	}
	for i, c := range cases {
		r := results[i]
		if r.Name != c.Name {
			t.Fatalf("result %d is %q, want %q", i, r.Name, c.Name)
		}
		if r.Valid != c.valid {
			t.Errorf("%s: python says valid=%v (%s), want %v", c.Name, r.Valid, r.Reason, c.valid)
		}
		if c.valid && !r.CanonicalEqualsBody {
			t.Errorf("%s: python's json.dumps(json.loads(body), sort_keys=True, separators=(\",\", \":\")) differs from the bytes we sent", c.Name)
		}
		// Our own Verify agrees with the Python receiver.
		raw, _ := base64.StdEncoding.DecodeString(c.BodyB64)
		hdr := map[string][]string{"X-Timestamp": {c.Timestamp}, "X-Signature": {c.Signature}}
		_, err := webhook.Verify(hdr, raw, testKey, testSecret, 300*time.Second, now)
		if (err == nil) != c.valid {
			t.Errorf("%s: Verify = %v, python valid=%v", c.Name, err, r.Valid)
		}
	}
}
