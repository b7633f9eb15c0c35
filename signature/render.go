package signature

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

const (
	hexDigits      = "0123456789abcdef" // both Python and JS write lowercase hex
	upperHexDigits = "0123456789ABCDEF" // Jackson writes uppercase (\u001F)
)

// renderer writes one parsed value in one Form.
type renderer struct {
	buf      []byte
	itemSep  string // between members and elements
	keySep   string // between a key and its value
	asciiEsc bool   // Python ensure_ascii escaping instead of JSON.stringify's
	utf16    bool   // sort keys by UTF-16 code units instead of code points

	// Java TreeMap: Jackson escaping, and nested objects in wire order.
	// depth counts the containers around the value being rendered (kept
	// for every form, read only for this one), so the top-level object, at
	// depth 0, is the only one sorted.
	jackson bool
	depth   int

	// JS replacer only.
	replacer       bool
	wlIndex        map[string]int // top-level object: position of each key in the whitelist
	protoPos       int            // position of "__proto__" in the whitelist, or -1
	indexWhitelist bool           // top-level array: the whitelist is "0".."indexLimit-1"
	indexLimit     int
	scratchPos     []memberPos
}

type memberPos struct {
	pos int // position in the whitelist
	idx int // index into members, or -1 for the inherited __proto__
}

// render appends root, rendered in form, to buf.
func render(root *value, form Form, buf []byte) []byte {
	r := renderer{buf: buf, itemSep: ",", keySep: ":", protoPos: -1}
	switch form {
	case FormPythonDefault:
		r.itemSep, r.keySep, r.asciiEsc = ", ", ": ", true
	case FormCompactASCII:
		r.asciiEsc = true
	case FormCompactUTF8:
		r.utf16 = true
	case FormJSReplacer:
		r.utf16, r.replacer = true, true
		r.initWhitelist(root)
	case FormJavaTreeMap:
		// TreeMap<String, ?> orders by String.compareTo, which compares
		// UTF-16 code units, as JS's sort does.
		r.utf16, r.jackson = true, true
	}
	r.value(root)
	return r.buf
}

// initWhitelist prepares Object.keys(body).sort(). For a top-level object
// that is its keys in UTF-16 order, kept as key → position. For a top-level
// array it is the indices "0".."n-1" sorted as strings ("10" before "2");
// those are recognised arithmetically rather than materialised, because a
// long array of scalars has no object to filter. For a top-level scalar
// there are no objects, so the list does not matter.
func (r *renderer) initWhitelist(root *value) {
	switch root.kind {
	case kindObject:
		r.wlIndex = make(map[string]int, len(root.c.members))
		for i := range root.c.members {
			k := root.c.members[r.order(root.c, i)].key
			r.wlIndex[k] = i
			if k == "__proto__" {
				r.protoPos = i
			}
		}
	case kindArray:
		r.indexWhitelist = true
		r.indexLimit = len(root.c.elems)
	}
}

// isIndex reports whether key is strconv.Itoa(i) for some 0 <= i < n.
func isIndex(key string, n int) bool {
	if key == "" || len(key) > 19 || (key[0] == '0' && len(key) > 1) {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < '0' || key[i] > '9' {
			return false
		}
	}
	v, err := strconv.Atoi(key)
	return err == nil && v < n
}

// order returns the index of the i-th member in this renderer's key order.
func (r *renderer) order(v *composite, i int) int {
	if r.jackson && r.depth > 0 {
		// Below the TreeMap, Jackson writes each map in its own
		// iteration order, which is the order the client sent it in.
		if v.wire != nil {
			return v.wire[i]
		}
		return i // wire order was code-point order
	}
	if r.utf16 && v.utf16 != nil {
		return v.utf16[i]
	}
	return i
}

func (r *renderer) value(v *value) {
	switch v.kind {
	case kindString:
		r.string(v.text)
	case kindNumber, kindLiteral:
		r.buf = append(r.buf, v.text...)
	case kindArray:
		r.buf = append(r.buf, '[')
		r.depth++
		for i := range v.c.elems {
			if i > 0 {
				r.buf = append(r.buf, r.itemSep...)
			}
			r.value(&v.c.elems[i])
		}
		r.depth--
		r.buf = append(r.buf, ']')
	case kindObject:
		if r.replacer {
			r.replacerObject(v)
			return
		}
		r.buf = append(r.buf, '{')
		for i := range v.c.members {
			if i > 0 {
				r.buf = append(r.buf, r.itemSep...)
			}
			m := &v.c.members[r.order(v.c, i)]
			r.string(m.key)
			r.buf = append(r.buf, r.keySep...)
			r.depth++
			r.value(&m.val)
			r.depth--
		}
		r.buf = append(r.buf, '}')
	}
}

// replacerObject reproduces SerializeJSONObject with a PropertyList: keys
// are emitted in whitelist order, and only those the object has.
//
// It iterates over the object's members rather than over the whitelist, so
// a body with many top-level keys and many nested objects costs
// O(n log n), not O(keys × objects).
//
// One more JS quirk is reproduced: when "__proto__" is whitelisted and an
// object has no own "__proto__" key, [[Get]] finds Object.prototype, which
// serialises (through the same whitelist) as {"__proto__":null}.
func (r *renderer) replacerObject(v *value) {
	members := v.c.members
	if r.indexWhitelist {
		// Members are in code-point order, which for the ASCII-digit keys
		// that pass the filter is the whitelist's string order.
		r.buf = append(r.buf, '{')
		n := 0
		for i := range members {
			if !isIndex(members[i].key, r.indexLimit) {
				continue
			}
			if n > 0 {
				r.buf = append(r.buf, ',')
			}
			n++
			r.string(members[i].key)
			r.buf = append(r.buf, ':')
			r.value(&members[i].val)
		}
		r.buf = append(r.buf, '}')
		return
	}
	start := len(r.scratchPos)
	hasProto := false
	for i := range members {
		if members[i].key == "__proto__" {
			hasProto = true
		}
		if pos, ok := r.wlIndex[members[i].key]; ok {
			r.scratchPos = append(r.scratchPos, memberPos{pos: pos, idx: i})
		}
	}
	if r.protoPos >= 0 && !hasProto {
		r.scratchPos = append(r.scratchPos, memberPos{pos: r.protoPos, idx: -1})
	}
	list := r.scratchPos[start:]
	slices.SortFunc(list, func(a, b memberPos) int { return a.pos - b.pos })

	r.buf = append(r.buf, '{')
	for n := start; n < len(r.scratchPos); n++ {
		// Index r.scratchPos afresh: nested calls may grow (and move) it.
		mp := r.scratchPos[n]
		if n > start {
			r.buf = append(r.buf, ',')
		}
		if mp.idx < 0 {
			r.buf = append(r.buf, `"__proto__":{"__proto__":null}`...)
			continue
		}
		m := &members[mp.idx]
		r.string(m.key)
		r.buf = append(r.buf, ':')
		r.value(&m.val)
	}
	r.buf = append(r.buf, '}')
	r.scratchPos = r.scratchPos[:start]
}

func (r *renderer) string(s string) {
	switch {
	case r.asciiEsc:
		r.buf = appendPythonASCII(r.buf, s)
	case r.jackson:
		r.buf = appendJackson(r.buf, s)
	default:
		r.buf = appendJS(r.buf, s)
	}
}

// shortEscape returns the two-character escape both Python and JS use for
// c, or 0.
func shortEscape(c byte) byte {
	switch c {
	case '"':
		return '"'
	case '\\':
		return '\\'
	case '\n':
		return 'n'
	case '\r':
		return 'r'
	case '\t':
		return 't'
	case '\b':
		return 'b'
	case '\f':
		return 'f'
	}
	return 0
}

func appendU4(buf []byte, u rune) []byte {
	return append(buf, '\\', 'u', hexDigits[u>>12&0xF], hexDigits[u>>8&0xF], hexDigits[u>>4&0xF], hexDigits[u&0xF])
}

// appendPythonASCII quotes s as Python's json.dumps with ensure_ascii=True:
// only U+0020..U+007E are written raw; everything else (DEL, U+2028 and all
// non-ASCII included) becomes lowercase \uXXXX, astral characters as a
// surrogate pair.
func appendPythonASCII(buf []byte, s string) []byte {
	buf = append(buf, '"')
	i, run := 0, 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c <= 0x7E && c != '"' && c != '\\' {
			i++
			continue
		}
		buf = append(buf, s[run:i]...)
		if e := shortEscape(c); e != 0 {
			buf = append(buf, '\\', e)
			i++
		} else if c < utf8.RuneSelf {
			buf = appendU4(buf, rune(c))
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r > 0xFFFF {
				r -= 0x10000
				buf = appendU4(buf, 0xD800+(r>>10))
				buf = appendU4(buf, 0xDC00+(r&0x3FF))
			} else {
				buf = appendU4(buf, r)
			}
			i += size
		}
		run = i
	}
	buf = append(buf, s[run:]...)
	return append(buf, '"')
}

// appendJS quotes s as JSON.stringify does: raw UTF-8 (DEL, U+2028 and
// U+2029 included), the short escapes, and other control characters as
// lowercase \u00XX. Lone surrogates, which JS would escape, cannot occur:
// the parser rejects them.
func appendJS(buf []byte, s string) []byte { return appendRawUTF8(buf, s, hexDigits) }

// appendJackson quotes s as Jackson's default ObjectMapper does (measured
// with jackson-core 2.14.1 on OpenJDK 17, see testdata/Sign.java): the
// short escapes \" \\ \b \t \n \f \r, every other control character as
// \u00XX with UPPERCASE hex (\u000B, \u001F), and everything else raw:
// DEL, U+2028/U+2029, '/', '<', '>', '&', the apostrophe and all non-ASCII
// (the client encodes the String as UTF-8). Only the case of the hex digits
// separates it from JSON.stringify. Lone surrogates, which Java's UTF-8
// encoder turns into '?', cannot occur: the parser rejects them.
func appendJackson(buf []byte, s string) []byte { return appendRawUTF8(buf, s, upperHexDigits) }

// appendRawUTF8 quotes s with raw UTF-8, the short escapes, and the other
// control characters as \u00XX in the given hex digits: JSON.stringify's
// and Jackson's escaping, which differ only in the digits' case.
func appendRawUTF8(buf []byte, s, hex string) []byte {
	buf = append(buf, '"')
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[run:i]...)
		if e := shortEscape(c); e != 0 {
			buf = append(buf, '\\', e)
		} else {
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		run = i + 1
	}
	buf = append(buf, s[run:]...)
	return append(buf, '"')
}
