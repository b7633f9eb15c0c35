package signature

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// vectorFile is testdata/vectors.json: the 13 cases of signatures.md §2.1.
// Per signer, Sends is the body that client puts on the wire (its own
// re-serialisation of the parsed table body, except for duplicate_keys,
// where it is the raw table body), Signs is the string it signs, and
// Strict / AllowJS are the expected Verify outcomes with allowJSReplacer
// false / true.
type vectorFile struct {
	APIKey    string       `json:"api_key"`
	APISecret string       `json:"api_secret"`
	Timestamp string       `json:"timestamp"`
	Cases     []vectorCase `json:"cases"`
}

type vectorCase struct {
	Name    string         `json:"name"`
	Wire    string         `json:"wire"`
	Note    string         `json:"note"`
	Signers []vectorSigner `json:"signers"`
}

type vectorSigner struct {
	Signer string `json:"signer"`
	Sends  string `json:"sends"`
	Signs  string `json:"signs"`
	// Signature is the signer's own HMAC, recorded in java_vectors.json
	// only (javax.crypto's, to check Sign against it).
	Signature string `json:"signature,omitempty"`
	Strict    string `json:"strict"`
	AllowJS   string `json:"allow_js_replacer"`
}

const (
	signerPythonDocs    = "python_docs"
	signerJSDocs        = "js_docs"
	signerJSFixed       = "js_fixed"
	signerPythonCompact = "python_compact_utf8"
	// signerJavaDocs is DollarPe's Java snippet (testdata/Sign.java), whose
	// vectors are in java_vectors.json.
	signerJavaDocs = "java_docs"
)

func readVectorFile(t testing.TB, name string) vectorFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return vf
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	vf := readVectorFile(t, "vectors.json")
	if len(vf.Cases) != 13 {
		t.Fatalf("vectors.json has %d cases, want the 13 of §2.1", len(vf.Cases))
	}
	return vf
}

func (c vectorCase) signer(t testing.TB, name string) vectorSigner {
	t.Helper()
	for _, s := range c.Signers {
		if s.Signer == name {
			return s
		}
	}
	t.Fatalf("case %s: no signer %s", c.Name, name)
	return vectorSigner{}
}

// outcome renders a Verify result the way vectors.json spells it.
func outcome(form Form, err error) string {
	switch {
	case err == nil:
		return string(form)
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrNestedUnsigned):
		return "nested_unsigned"
	case errors.Is(err, ErrMismatch):
		return "mismatch"
	default:
		return "unexpected error: " + err.Error()
	}
}

func isAccept(o string) bool {
	switch Form(o) {
	case FormPythonDefault, FormCompactUTF8, FormCompactASCII, FormJSReplacer, FormJavaTreeMap:
		return true
	}
	return false
}

// TestVectorsMatrix is test-plan row SIG-VECTORS: every §2.1 body, signed
// the way each client signs it, against the accept/reject matrix.
func TestVectorsMatrix(t *testing.T) {
	vf := loadVectors(t)
	type tally struct{ accept, mismatch, nested, malformed int }
	got := map[string]map[bool]*tally{}

	for _, c := range vf.Cases {
		for _, s := range c.Signers {
			sig := Sign(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(s.Signs))
			for _, allow := range []bool{false, true} {
				want := s.Strict
				if allow {
					want = s.AllowJS
				}
				o := outcome(Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(s.Sends), sig, allow))
				if o != want {
					t.Errorf("%s/%s allowJSReplacer=%v: got %s, want %s", c.Name, s.Signer, allow, o, want)
				}
				if got[s.Signer] == nil {
					got[s.Signer] = map[bool]*tally{false: {}, true: {}}
				}
				n := got[s.Signer][allow]
				switch {
				case isAccept(o):
					n.accept++
				case o == "mismatch":
					n.mismatch++
				case o == "nested_unsigned":
					n.nested++
				case o == "malformed":
					n.malformed++
				}
			}
		}
	}

	// The matrix of §2.3/§2.4, with one refinement: the spec's prototype
	// counted duplicate_keys as a match for every signer and separately
	// rejected the raw duplicate body. Here that case is the malformed one,
	// so "13/13" is 12 accepted + 1 malformed, and so on.
	want := map[string]map[bool]tally{
		signerPythonDocs:    {false: {accept: 12, malformed: 1}, true: {accept: 12, malformed: 1}},
		signerJSFixed:       {false: {accept: 12, malformed: 1}, true: {accept: 12, malformed: 1}},
		signerPythonCompact: {false: {accept: 11, mismatch: 1, malformed: 1}, true: {accept: 11, mismatch: 1, malformed: 1}},
		signerJSDocs:        {false: {accept: 9, nested: 3, malformed: 1}, true: {accept: 12, malformed: 1}},
	}
	for signer, byAllow := range want {
		for allow, w := range byAllow {
			g := got[signer][allow]
			if g == nil || *g != w {
				t.Errorf("%s allowJSReplacer=%v: tally %+v, want %+v", signer, allow, g, w)
			}
		}
	}
}

// TestVectorsCanonicalStrings checks Canonicalize byte for byte against the
// measured strings of §2.1 (and the two other signers' strings).
func TestVectorsCanonicalStrings(t *testing.T) {
	vf := loadVectors(t)
	check := func(t *testing.T, what string, body []byte, form Form, want string) {
		t.Helper()
		got, err := Canonicalize(body, form)
		if err != nil {
			t.Errorf("%s: Canonicalize(%s): %v", what, form, err)
			return
		}
		if string(got) != want {
			t.Errorf("%s: Canonicalize(%s)\n got %q\nwant %q", what, form, got, want)
		}
	}
	for _, c := range vf.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Name == "duplicate_keys" {
				for _, form := range []Form{FormPythonDefault, FormCompactUTF8, FormCompactASCII, FormJSReplacer} {
					if _, err := Canonicalize([]byte(c.Wire), form); !errors.Is(err, ErrMalformed) {
						t.Errorf("%s: got %v, want ErrMalformed", form, err)
					}
				}
				return
			}
			py := c.signer(t, signerPythonDocs)
			js := c.signer(t, signerJSDocs)
			// From what each client actually sends.
			check(t, "python_docs sends", []byte(py.Sends), FormPythonDefault, py.Signs)
			check(t, "js_docs sends", []byte(js.Sends), FormJSReplacer, js.Signs)
			fixed := c.signer(t, signerJSFixed)
			check(t, "js_fixed sends", []byte(fixed.Sends), FormCompactUTF8, fixed.Signs)
			if c.Name != "key_order" { // code-point order, see §2.4
				pc := c.signer(t, signerPythonCompact)
				check(t, "python_compact sends", []byte(pc.Sends), FormCompactUTF8, pc.Signs)
			}

			// From the table's wire column. Numbers are kept as wire
			// literals, so for "numbers" no single wire reproduces both
			// clients: each client's own wire carries its own formatting.
			if c.Name == "numbers" {
				for _, x := range []struct {
					form Form
					s    vectorSigner
				}{{FormPythonDefault, py}, {FormJSReplacer, js}} {
					got, err := Canonicalize([]byte(c.Wire), x.form)
					if err != nil || string(got) == x.s.Signs {
						t.Errorf("numbers: table wire in %s = %q, %v; expected a different string", x.form, got, err)
					}
				}
				return
			}
			check(t, "table wire", []byte(c.Wire), FormPythonDefault, py.Signs)
			check(t, "table wire", []byte(c.Wire), FormJSReplacer, js.Signs)
		})
	}
}
