package signature

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// loadJavaVectors reads testdata/java_vectors.json: bodies signed by
// DollarPe's Java snippet, as run by testdata/Sign.java with Jackson. The
// first 13 cases are those of vectors.json (signatures.md §2.1), in order.
func loadJavaVectors(t testing.TB) vectorFile {
	t.Helper()
	vf := readVectorFile(t, "java_vectors.json")
	table := loadVectors(t)
	if len(vf.Cases) <= len(table.Cases) {
		t.Fatalf("java_vectors.json has %d cases, want the 13 of §2.1 and more", len(vf.Cases))
	}
	for i, c := range table.Cases {
		if vf.Cases[i].Name != c.Name || vf.Cases[i].Wire != c.Wire {
			t.Fatalf("java_vectors.json case %d is %s, want §2.1's %s with the same wire", i, vf.Cases[i].Name, c.Name)
		}
	}
	if vf.APIKey != table.APIKey || vf.APISecret != table.APISecret || vf.Timestamp != table.Timestamp {
		t.Fatal("java_vectors.json and vectors.json sign with different credentials")
	}
	for _, c := range vf.Cases {
		if len(c.Signers) != 1 || c.Signers[0].Signer != signerJavaDocs || c.Signers[0].Strict == "" || c.Signers[0].AllowJS == "" || c.Signers[0].Signature == "" {
			t.Fatalf("java_vectors.json case %s: want one java_docs signer with signature and expected outcomes, got %+v", c.Name, c.Signers)
		}
	}
	return vf
}

// safeForms are the forms Verify tries with the JS replacer refused.
var safeForms = []Form{FormCompactASCII, FormCompactUTF8, FormPythonDefault, FormJavaTreeMap}

// TestJavaVectors: every body signed by the real Java snippet verifies, as
// the form recorded in java_vectors.json, and Canonicalize reproduces
// Jackson's string byte for byte. The form reported is java_treemap exactly
// when no earlier form renders the same string.
func TestJavaVectors(t *testing.T) {
	vf := loadJavaVectors(t)
	tally := map[string]int{}
	for _, c := range vf.Cases {
		s := c.signer(t, signerJavaDocs)
		tally[s.Strict]++
		t.Run(c.Name, func(t *testing.T) {
			// Our HMAC is javax.crypto's.
			if got := Sign(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(s.Signs)); got != s.Signature {
				t.Fatalf("Sign = %s, Java signed %s", got, s.Signature)
			}
			for _, allow := range []bool{false, true} {
				want := s.Strict
				if allow {
					want = s.AllowJS
				}
				if got := outcome(Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(s.Sends), s.Signature, allow)); got != want {
					t.Errorf("allowJSReplacer=%v: Verify = %s, want %s", allow, got, want)
				}
			}
			canon, err := Canonicalize([]byte(s.Sends), FormJavaTreeMap)
			if s.Strict == "malformed" {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("Canonicalize: %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || string(canon) != s.Signs {
				t.Fatalf("Canonicalize(java_treemap, %q)\n got %q, %v\nwant %q", s.Sends, canon, err, s.Signs)
			}
			// The reported form is the first in verifyOrder whose rendering
			// is Jackson's string: java_treemap only when none other is.
			for _, form := range safeForms {
				other, _ := Canonicalize([]byte(s.Sends), form)
				if bytes.Equal(other, canon) {
					if string(form) != s.Strict {
						t.Errorf("%s renders the Java string, so it should be reported; vectors say %s", form, s.Strict)
					}
					break
				}
			}
		})
	}
	// The 13 §2.1 cases give 5 java_treemap (nested_object,
	// nested_key_collision, array_of_objects, top_level_array, and escapes
	// for its uppercase \u001F), 3 compact UTF-8, 4 compact ASCII and the
	// duplicate key; the 11 Java cases add 9 java_treemap, 1 and 1.
	want := map[string]int{
		string(FormJavaTreeMap): 14, string(FormCompactUTF8): 4, string(FormCompactASCII): 5, "malformed": 1,
	}
	for k, n := range want {
		if tally[k] != n {
			t.Errorf("%s: %d cases, want %d (tally %v)", k, tally[k], n, tally)
		}
	}
}

// TestJavaNestedReorderFails: the Java form signs nested keys in wire
// order, so a body whose nested keys were reordered after signing (a proxy
// that re-serialises it, say) no longer verifies, while reordering the top
// level, which the TreeMap sorts, does not matter.
func TestJavaNestedReorderFails(t *testing.T) {
	vf := loadJavaVectors(t)
	cases := map[string]vectorCase{}
	for _, c := range vf.Cases {
		cases[c.Name] = c
	}
	verify := func(body, sig string) string {
		t.Helper()
		strict := outcome(Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(body), sig, false))
		if allowed := outcome(Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(body), sig, true)); allowed != strict {
			t.Errorf("allowJSReplacer changes the outcome: %s vs %s", strict, allowed)
		}
		return strict
	}

	q := cases["java_quotation_risk_parameters"].signer(t, signerJavaDocs)
	const risk = `"ip_address":"127.0.0.1","device_id":"d-7f3a"`
	if !strings.Contains(q.Sends, risk) || !strings.HasPrefix(q.Sends, `{"asset":"usdt",`) {
		t.Fatalf("quotation vector changed: %s", q.Sends)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"as sent", q.Sends, string(FormJavaTreeMap)},
		{"risk_parameters reordered", strings.Replace(q.Sends, risk, `"device_id":"d-7f3a","ip_address":"127.0.0.1"`, 1), "mismatch"},
		{"nested value changed", strings.Replace(q.Sends, `"d-7f3a"`, `"d-7f3b"`, 1), "mismatch"},
		{"top level reordered", `{"fiat":"inr",` + strings.TrimPrefix(strings.TrimSuffix(q.Sends, "}"), `{"asset":"usdt","fiat":"inr",`) + `,"asset":"usdt"}`, string(FormJavaTreeMap)},
		{"pretty-printed", strings.NewReplacer(`{`, "{\n  ", `,`, ",\n  ", `:`, ": ").Replace(q.Sends), string(FormJavaTreeMap)},
	} {
		if got := verify(tc.body, q.Signature); got != tc.want {
			t.Errorf("quotation %s: Verify = %s, want %s\n%s", tc.name, got, tc.want, tc.body)
		}
	}

	// Every Java-form vector, re-serialised with its nested keys sorted,
	// fails unless sorting left the Java string unchanged (escapes, whose
	// nested order was already sorted and whose difference is hex case).
	reordered := 0
	for _, c := range vf.Cases {
		s := c.signer(t, signerJavaDocs)
		if s.Strict != string(FormJavaTreeMap) {
			continue
		}
		sorted, err := Canonicalize([]byte(s.Sends), FormCompactUTF8)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := Canonicalize(sorted, FormJavaTreeMap); string(again) == s.Signs {
			if got := verify(string(sorted), s.Signature); got != string(FormJavaTreeMap) {
				t.Errorf("%s: same content and order, Verify = %s", c.Name, got)
			}
			continue
		}
		reordered++
		if got := verify(string(sorted), s.Signature); got != "mismatch" {
			t.Errorf("%s with nested keys sorted: Verify = %s, want mismatch\n%s", c.Name, got, sorted)
		}
	}
	if reordered < 10 {
		t.Errorf("only %d vectors had nested keys to reorder", reordered)
	}
}

// TestJavaFormLeavesJSReplacerPolicy: adding the Java form accepts no
// JS-snippet signature that was refused before. The three §2.1 bodies the
// JS replacer empties still fail with ErrNestedUnsigned unless the form is
// allowed, and the same bodies signed by the Java snippet verify.
func TestJavaFormLeavesJSReplacerPolicy(t *testing.T) {
	vf := loadVectors(t)
	java := map[string]vectorSigner{}
	for _, c := range loadJavaVectors(t).Cases {
		java[c.Name] = c.signer(t, signerJavaDocs)
	}
	refused := 0
	for _, c := range vf.Cases {
		js := c.signer(t, signerJSDocs)
		if js.Strict != "nested_unsigned" {
			continue
		}
		refused++
		sig := Sign(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(js.Signs))
		if form, err := Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(js.Sends), sig, false); !errors.Is(err, ErrNestedUnsigned) || form != "" {
			t.Errorf("%s: JS snippet, not allowed: (%q, %v), want ErrNestedUnsigned", c.Name, form, err)
		}
		if form, err := Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(js.Sends), sig, true); err != nil || form != FormJSReplacer {
			t.Errorf("%s: JS snippet, allowed: (%q, %v), want js_replacer", c.Name, form, err)
		}
		if jc, _ := Canonicalize([]byte(js.Sends), FormJavaTreeMap); string(jc) == js.Signs {
			t.Errorf("%s: the Java form renders the JS replacer's string %q", c.Name, js.Signs)
		}
		j := java[c.Name]
		if form, err := Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(j.Sends), j.Signature, false); err != nil || form != FormJavaTreeMap {
			t.Errorf("%s: Java snippet: (%q, %v), want java_treemap", c.Name, form, err)
		}
	}
	if refused != 3 {
		t.Errorf("%d JS vectors refused as nested_unsigned, want the 3 of §2.3", refused)
	}
}

// TestCanonicalizeJava pins the Java form's rules on small bodies: top
// level sorted by UTF-16 code units, everything below it (objects in
// arrays included) in wire order, Jackson's escaping, literals verbatim.
func TestCanonicalizeJava(t *testing.T) {
	const del, ls = "\x7f", "\u2028"
	tests := []struct{ name, body, want string }{
		{"top sorted, nested in wire order",
			`{"b":{"z":1,"a":{"y":1,"x":2}},"a":[{"d":1,"c":2}]}`,
			`{"a":[{"d":1,"c":2}],"b":{"z":1,"a":{"y":1,"x":2}}}`},
		{"top level by UTF-16 code units (String.compareTo)",
			`{"ﬁ":1,"😀":2,"` + "\ue000" + `":3,"é":4,"Z":5,"a":6,"10":7,"9":8}`,
			`{"10":7,"9":8,"Z":5,"a":6,"é":4,"😀":2,"` + "\ue000" + `":3,"ﬁ":1}`},
		{"top-level array: every object in wire order",
			`[{"b":1,"a":2},[{"d":{"f":1,"e":2}}]]`,
			`[{"b":1,"a":2},[{"d":{"f":1,"e":2}}]]`},
		{"keys escaped like values",
			`{"\u001f":{"\u000b":1,"\n":2}}`,
			`{"\u001F":{"\u000B":1,"\n":2}}`},
		{"Jackson escaping",
			`{"s":"\u0000\u000e\u001f\b\f\n\r\t\"\\\/<>&'\u007f\u2028é😀"}`,
			`{"s":"\u0000\u000E\u001F\b\f\n\r\t\"\\/<>&'` + del + ls + `é😀"}`},
		{"Jackson's doubles kept as sent",
			`{"n":{"z":1.0E21,"a":100.0,"m":-0.0,"b":2.82879384806159008E17}}`,
			`{"n":{"z":1.0E21,"a":100.0,"m":-0.0,"b":2.82879384806159008E17}}`},
		{"whitespace dropped",
			" { \"b\" : { \"y\" : [ 1 , 2 ] , \"x\" : { } } ,\n\t\"a\" : 1 } ",
			`{"a":1,"b":{"y":[1,2],"x":{}}}`},
		{"empty body", "", `{}`},
	}
	for _, tc := range tests {
		got, err := Canonicalize([]byte(tc.body), FormJavaTreeMap)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s:\n got %q, %v\nwant %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := Canonicalize([]byte(`{"a":{"x":1,"y":2,"x":3}}`), FormJavaTreeMap); !errors.Is(err, ErrMalformed) {
		t.Errorf("nested duplicate key: %v, want ErrMalformed", err)
	}
}
