package signature

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// crossExtras are bodies beyond §2.1 fed to the real vendor snippets, to
// check the JS-replacer quirks and the escaping/ordering rules against node
// and python3 themselves rather than against our reading of them.
var crossExtras = []struct {
	name string
	wire string
	// keysDifferInUTF16 marks bodies whose code-point key order differs from
	// the UTF-16 one, which python_compact_utf8 cannot match (§2.4).
	keysDifferInUTF16 bool
}{
	{name: "proto_inherited", wire: `{"__proto__":1,"x":{"a":1},"y":[{}]}`},
	{name: "proto_own_nested", wire: `{"__proto__":{"z":1},"x":{"__proto__":5}}`},
	{name: "inherited_functions", wire: `{"toString":1,"constructor":2,"x":{"a":1,"toString":{"k":3}}}`},
	{name: "array_index_whitelist", wire: `[1,2,3,4,5,6,7,8,9,10,11,{"10":1,"2":2,"0":0,"x":9,"11":3}]`},
	{name: "nested_mix", wire: `{"a":{"b":{"a":1,"b":2,"c":3}},"b":[{"a":[{"b":1,"z":2}]}],"c":[[{"c":{}}]]}`},
	{name: "integer_keys_nested", wire: `{"m":{"10":1,"9":2,"a":3,"01":4,"-1":5,"1.5":6}}`},
	{name: "escapes_all", wire: `{"k":"\u0000\u0001\b\f\n\r\t\u001f \u007f\u0080\u00ff\u2028\u2029\ufeff\uffff\ud83d\ude00<>&'\/\\\"","\u2028":"x"}`},
	{name: "keys_utf16_nested", wire: `{"o":{"ﬁ":1,"😀":2,"\ue000":3,"é":4,"":5}}`, keysDifferInUTF16: true},
	{name: "numbers_more", wire: `{"n":[0,-0,1E2,1e-7,0.00001,1e15,1e20,2.50,123456789012345678901234567890,0.1e1,-1.5E-10]}`},
	{name: "whitespace_wire", wire: " { \"b\" : [ 1 , 2 ] ,\n\t\"a\" : { } } \n"},
	{name: "top_string", wire: `"top-level é"`},
	{name: "top_number", wire: `42`},
	{name: "top_null_array", wire: `[null,true,false,[],{}]`},
}

type crossResult struct {
	Case      string `json:"case"`
	Signer    string `json:"signer"`
	Sends     string `json:"sends"`
	Signs     string `json:"signs"`
	Signature string `json:"signature"`
}

// requireTool finds a tool the cross-language tests run: in CI its absence
// is a failure, elsewhere the test is skipped and the checked-in vectors
// are all that is checked.
func requireTool(t *testing.T, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", tool, err)
		}
		t.Skipf("%s not on PATH: %v", tool, err)
	}
	return path
}

// runSigner runs a vendor-snippet script over the wire bodies, passed as
// base64 of their exact bytes so nothing re-encodes them on the way.
func runSigner(t *testing.T, tool, script string, vf vectorFile, wires [][2]string) []crossResult {
	t.Helper()
	path := requireTool(t, tool)
	cmd := exec.Command(path, filepath.Join("testdata", script), vf.APIKey, vf.APISecret, vf.Timestamp)
	return runSignerCmd(t, cmd, script, wires, 2)
}

// runSignerCmd feeds the wires to cmd, a signer script taking the
// protocol of sign.py, which prints perCase results for each wire.
func runSignerCmd(t *testing.T, cmd *exec.Cmd, script string, wires [][2]string, perCase int) []crossResult {
	t.Helper()
	var in bytes.Buffer
	for _, w := range wires {
		in.WriteString(w[0] + "\t" + base64.StdEncoding.EncodeToString([]byte(w[1])) + "\n")
	}
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	var res []crossResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r crossResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s output %q: %v", script, sc.Text(), err)
		}
		for _, f := range []*string{&r.Sends, &r.Signs} {
			b, err := base64.StdEncoding.DecodeString(*f)
			if err != nil {
				t.Fatal(err)
			}
			*f = string(b)
		}
		res = append(res, r)
	}
	if want := perCase * len(wires); len(res) != want {
		t.Fatalf("%s: %d results, want %d", script, len(res), want)
	}
	return res
}

// TestCrossLanguage signs every vector body with the real vendor snippets
// (python3 and node) and checks that our Verify gives the matrix of
// vectors.json, that the strings they sign are the ones recorded there, and
// that Canonicalize reproduces them byte for byte.
func TestCrossLanguage(t *testing.T) {
	vf := loadVectors(t)
	var wires [][2]string
	vectors := map[string]vectorCase{}
	for _, c := range vf.Cases {
		wires = append(wires, [2]string{c.Name, c.Wire})
		vectors[c.Name] = c
	}
	extras := map[string]bool{}
	for _, x := range crossExtras {
		wires = append(wires, [2]string{x.name, x.wire})
		extras[x.name] = x.keysDifferInUTF16
	}

	results := append(runSigner(t, "python3", "sign.py", vf, wires), runSigner(t, "node", "sign.js", vf, wires)...)
	counts := map[string]int{}
	for _, r := range results {
		t.Run(r.Case+"/"+r.Signer, func(t *testing.T) {
			// Our Sign is the same HMAC as theirs.
			if got := Sign(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(r.Signs)); got != r.Signature {
				t.Fatalf("Sign = %s, script signed %s", got, r.Signature)
			}
			if c, ok := vectors[r.Case]; ok {
				counts[r.Signer]++
				v := c.signer(t, r.Signer)
				if r.Signs != v.Signs {
					t.Errorf("signed string changed:\n script  %q\n vectors %q", r.Signs, v.Signs)
				}
				sends := r.Sends
				if c.Name == "duplicate_keys" {
					// A client cannot emit a duplicate key from a parsed
					// dict; the raw body is the attack being tested.
					sends = c.Wire
				}
				if sends != v.Sends {
					t.Errorf("wire changed:\n script  %q\n vectors %q", sends, v.Sends)
				}
				for _, allow := range []bool{false, true} {
					want := v.Strict
					if allow {
						want = v.AllowJS
					}
					got := outcome(Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(sends), r.Signature, allow))
					if got != want {
						t.Errorf("allowJSReplacer=%v: Verify = %s, want %s", allow, got, want)
					}
				}
				return
			}

			// Extras: Canonicalize must reproduce the snippet exactly.
			form := map[string]Form{
				signerPythonDocs:    FormPythonDefault,
				signerJSDocs:        FormJSReplacer,
				signerJSFixed:       FormCompactUTF8,
				signerPythonCompact: FormCompactUTF8,
			}[r.Signer]
			canon, err := Canonicalize([]byte(r.Sends), form)
			if err != nil {
				t.Fatalf("Canonicalize(%s): %v", form, err)
			}
			skipCompare := r.Signer == signerPythonCompact && extras[r.Case]
			if !skipCompare && string(canon) != r.Signs {
				t.Errorf("Canonicalize(%s, %q)\n got %q\nwant %q", form, r.Sends, canon, r.Signs)
			}
			// And Verify accepts it when the replacer is allowed, except
			// the documented python_compact key-order miss.
			got := outcome(Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(r.Sends), r.Signature, true))
			if skipCompare {
				if got != "mismatch" {
					t.Errorf("python_compact with UTF-16-sensitive keys: Verify = %s, want mismatch", got)
				}
			} else if !isAccept(got) {
				t.Errorf("Verify(allowJSReplacer) = %s, want accepted", got)
			}
			// With the replacer refused, js_docs is accepted exactly when it
			// dropped nothing.
			if r.Signer == signerJSDocs {
				compact, _ := Canonicalize([]byte(r.Sends), FormCompactUTF8)
				want := string(FormCompactUTF8)
				if !bytes.Equal(compact, canon) {
					want = "nested_unsigned"
				}
				got := outcome(Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(r.Sends), r.Signature, false))
				if got != want && !(want == string(FormCompactUTF8) && got == string(FormCompactASCII)) {
					t.Errorf("js_docs strict: Verify = %s, want %s", got, want)
				}
			}
		})
	}
	for _, s := range []string{signerPythonDocs, signerPythonCompact, signerJSDocs, signerJSFixed} {
		if counts[s] != len(vf.Cases) {
			t.Errorf("%s: %d vector results, want %d", s, counts[s], len(vf.Cases))
		}
	}
	if t.Failed() {
		t.Log("vendor tool versions may differ from those of signatures.md (node v20, Python 3.11):",
			strings.TrimSpace(toolVersion("node", "--version")), strings.TrimSpace(toolVersion("python3", "--version")))
	}
}

func toolVersion(tool, flag string) string {
	out, _ := exec.Command(tool, flag).CombinedOutput()
	return string(out)
}

// jacksonJars are the jars Sign.java needs, where Debian's
// libjackson2-databind-java (and the core and annotations packages it
// pulls in) installs them.
var jacksonJars = []string{
	"/usr/share/java/jackson-databind.jar",
	"/usr/share/java/jackson-core.jar",
	"/usr/share/java/jackson-annotations.jar",
}

// TestCrossLanguageJava runs DollarPe's Java snippet (testdata/Sign.java,
// with the real Jackson) over the wires of java_vectors.json and the
// extras, and checks that it still sends and signs what java_vectors.json
// records, that Verify gives the recorded outcome, and that Canonicalize
// reproduces Jackson's string for the extras. Like TestCrossLanguage it
// needs its tools (java and the Jackson jars) in CI and skips without them
// elsewhere; TestJavaVectors checks the recorded vectors either way.
func TestCrossLanguageJava(t *testing.T) {
	java := requireTool(t, "java")
	for _, jar := range jacksonJars {
		if _, err := os.Stat(jar); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("Jackson is required in CI (apt-get install libjackson2-databind-java): %v", err)
			}
			t.Skipf("Jackson not installed (apt-get install libjackson2-databind-java): %v", err)
		}
	}
	vf := loadJavaVectors(t)
	var wires [][2]string
	vectors := map[string]vectorSigner{}
	for _, c := range vf.Cases {
		wires = append(wires, [2]string{c.Name, c.Wire})
		vectors[c.Name] = c.signer(t, signerJavaDocs)
	}
	for _, x := range crossExtras {
		wires = append(wires, [2]string{x.name, x.wire})
	}
	// Run as a single source file (JDK 11+): nothing is compiled into
	// the tree.
	cmd := exec.Command(java, "-cp", strings.Join(jacksonJars, string(os.PathListSeparator)),
		filepath.Join("testdata", "Sign.java"), vf.APIKey, vf.APISecret, vf.Timestamp)
	results := runSignerCmd(t, cmd, "Sign.java", wires, 1)

	seenVectors := 0
	for _, r := range results {
		t.Run(r.Case, func(t *testing.T) {
			if r.Signer != signerJavaDocs {
				t.Fatalf("signer %q, want %s", r.Signer, signerJavaDocs)
			}
			if got := Sign(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(r.Signs)); got != r.Signature {
				t.Fatalf("Sign = %s, Java signed %s", got, r.Signature)
			}
			if v, ok := vectors[r.Case]; ok {
				seenVectors++
				if r.Sends != v.Sends || r.Signs != v.Signs || r.Signature != v.Signature {
					t.Errorf("Jackson's output changed (regenerate with Sign.java --write):\n sends %q\n  want %q\n signs %q\n  want %q",
						r.Sends, v.Sends, r.Signs, v.Signs)
				}
				for _, allow := range []bool{false, true} {
					want := v.Strict
					if allow {
						want = v.AllowJS
					}
					if got := outcome(Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(r.Sends), r.Signature, allow)); got != want {
						t.Errorf("allowJSReplacer=%v: Verify = %s, want %s", allow, got, want)
					}
				}
				return
			}
			canon, err := Canonicalize([]byte(r.Sends), FormJavaTreeMap)
			if err != nil || string(canon) != r.Signs {
				t.Errorf("Canonicalize(java_treemap, %q)\n got %q, %v\nwant %q", r.Sends, canon, err, r.Signs)
			}
			if got := outcome(Verify(vf.APIKey, vf.APISecret, vf.Timestamp, []byte(r.Sends), r.Signature, false)); !isAccept(got) || got == string(FormJSReplacer) {
				t.Errorf("Verify = %s, want a safe form", got)
			}
		})
	}
	if seenVectors != len(vf.Cases) {
		t.Errorf("%d vector results, want %d", seenVectors, len(vf.Cases))
	}
	if t.Failed() {
		t.Log("Java and Jackson versions may differ from those the vectors were made with (OpenJDK 17, Jackson 2.14):",
			strings.TrimSpace(toolVersion("java", "-version")))
	}
}
