package signature

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

var allForms = []Form{FormPythonDefault, FormCompactUTF8, FormCompactASCII, FormJSReplacer, FormJavaTreeMap}

func FuzzCanonicalize(f *testing.F) {
	for _, c := range loadVectors(f).Cases {
		f.Add([]byte(c.Wire))
		for _, s := range c.Signers {
			f.Add([]byte(s.Sends))
		}
	}
	// The Java vectors add wires with unsorted nested keys in Jackson's
	// own output (uppercase \u00XX, 1.0E21), which the Java form keeps in
	// wire order.
	for _, c := range loadJavaVectors(f).Cases {
		f.Add([]byte(c.Wire))
		for _, s := range c.Signers {
			f.Add([]byte(s.Sends))
		}
	}
	for _, x := range crossExtras {
		f.Add([]byte(x.wire))
	}
	for _, s := range []string{
		"", " ", zCafeBody, quotationBody, `{"a":"\ud800"}`, `[[[[`, `{"a":1,"a":2}`,
		`{"a":{"b":1,"b":2}}`, "{\"\xff\":1}", `{"x":"\u00e9","\u00e9":"x"}`, `{"a":1}}`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		outs := map[Form][]byte{}
		for _, form := range allForms {
			out, err := Canonicalize(body, form)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s: error does not wrap ErrMalformed: %v", form, err)
				}
				// Parsing does not depend on the form.
				if len(outs) > 0 {
					t.Fatalf("%s failed (%v) where another form succeeded", form, err)
				}
				continue
			}
			outs[form] = out
		}
		dup, goValid := goDuplicateKeys(body)
		if len(outs) == 0 {
			return
		}
		if len(outs) != len(allForms) {
			t.Fatalf("only %d of %d forms succeeded", len(outs), len(allForms))
		}
		// Duplicate keys, as encoding/json sees them, are always rejected.
		if dup {
			t.Fatalf("accepted a body with duplicate keys: %q", body)
		}

		// Canonical forms are fixed points of their own canonicalization.
		for _, form := range allForms {
			again, err := Canonicalize(outs[form], form)
			if err != nil || !bytes.Equal(again, outs[form]) {
				t.Fatalf("%s not idempotent:\n once  %q\n twice %q, %v", form, outs[form], again, err)
			}
		}
		// The Java form differs from compact UTF-8 only in nested key order
		// and the case of \u00XX hex, so re-sorting it gives compact UTF-8:
		// it covers every key and value, unlike the JS replacer.
		if again, err := Canonicalize(outs[FormJavaTreeMap], FormCompactUTF8); err != nil || !bytes.Equal(again, outs[FormCompactUTF8]) {
			t.Fatalf("java_treemap re-sorted is not compact UTF-8:\n java   %q\n sorted %q\n want   %q, %v", outs[FormJavaTreeMap], again, outs[FormCompactUTF8], err)
		}
		// ensure_ascii forms are printable ASCII only.
		for _, form := range []Form{FormPythonDefault, FormCompactASCII} {
			for _, c := range outs[form] {
				if c < 0x20 || c > 0x7E {
					t.Fatalf("%s emitted byte %#x: %q", form, c, outs[form])
				}
			}
		}

		// Everything we accept, encoding/json accepts too, as the same
		// value (empty bodies aside, which mean {} here).
		if len(bytes.TrimLeft(body, " \t\r\n")) == 0 {
			return
		}
		if !goValid {
			t.Fatalf("accepted a body encoding/json rejects: %q", body)
		}
		want := decodeGo(t, body)
		for _, form := range []Form{FormPythonDefault, FormCompactUTF8, FormCompactASCII, FormJavaTreeMap} {
			if got := decodeGo(t, outs[form]); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s changed the value:\n in  %q\n out %q", form, body, outs[form])
			}
			if d, _ := goDuplicateKeys(outs[form]); d {
				t.Fatalf("%s output has duplicate keys: %q", form, outs[form])
			}
		}
	})
}

func decodeGo(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json cannot decode %q: %v", b, err)
	}
	return v
}

// goDuplicateKeys reports, using encoding/json as an independent parser,
// whether b holds an object with a repeated key, and whether b is one valid
// JSON value at all.
func goDuplicateKeys(b []byte) (dup, valid bool) {
	if !json.Valid(b) {
		return false, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return dup, true
		}
		if err != nil {
			return dup, false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.expectKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					dup = true
				}
				top.keys[k] = true
				top.expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value was completed: the enclosing object expects a key next.
		if len(stack) > 0 && stack[len(stack)-1].keys != nil {
			stack[len(stack)-1].expectKey = true
		}
	}
}
