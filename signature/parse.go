package signature

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds nesting. Real bodies nest two or three levels; the bound
// keeps the recursive parser and renderer cheap on hostile input (10,000
// nested '[' fail after 65 bytes).
const maxDepth = 64

type kind uint8

const (
	kindObject kind = iota
	kindArray
	kindString
	kindNumber  // text is the exact wire literal
	kindLiteral // text is "true", "false" or "null"
)

// value is one parsed JSON value. Numbers and literals keep their wire text,
// strings hold the decoded (valid UTF-8) contents. Containers live behind a
// pointer so that a value is 32 bytes: a 1 MiB body of "0,0,0,..." then
// costs ~16 MiB of tree rather than ~50.
type value struct {
	kind kind
	// wirePos is, for an object member's value, the member's position on
	// the wire. It is kept through the key sort so that composite.wire can
	// be built without another pass, and it sits in the padding after
	// kind, so value stays 32 bytes. (2^32 members would take a body of
	// over 16 GiB.)
	wirePos uint32
	text    string
	c       *composite // objects and arrays only
}

type composite struct {
	members []member // object members, sorted by code point (Python order)
	// utf16 holds member indices in UTF-16 code-unit order (JS order). It is
	// nil when that order equals the code-point order, which is the case
	// unless a key has a character at or above U+E000.
	utf16 []int
	// wire holds member indices in the order the keys came on the wire,
	// which is the order Jackson writes a nested map in (FormJavaTreeMap).
	// It is nil when the wire order is the code-point order, and always
	// for the top-level object, which no form writes in wire order.
	wire  []int
	elems []value // array elements
}

type member struct {
	key string
	val value
}

type parser struct {
	nestedObjects bool

	// data is the body copied once into a string, so that keys, numbers
	// and escape-free strings are substrings of it instead of allocations.
	data  string
	pos   int
	depth int
}

// document is a parsed body.
type document struct {
	root value
	// nestedObjects is set when an object appears below the top level.
	// Without one, FormJSReplacer drops nothing and equals FormCompactUTF8.
	nestedObjects bool
}

// parse parses the whole body. Empty or whitespace-only means {}.
func parse(body []byte) (document, error) {
	p := parser{data: string(body)}
	p.skipSpace()
	if p.pos == len(p.data) {
		return document{root: value{kind: kindObject, c: &composite{}}}, nil
	}
	v, err := p.value()
	if err != nil {
		return document{}, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return document{}, p.errorf("trailing data after JSON value")
	}
	return document{root: v, nestedObjects: p.nestedObjects}, nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, fmt.Sprintf(format, args...), p.pos)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (value, error) {
	if p.pos >= len(p.data) {
		return value{}, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.string()
		return value{kind: kindString, text: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		return value{}, p.errorf("unexpected character %q", rune(c))
	}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("nesting deeper than %d", maxDepth)
	}
	return nil
}

func (p *parser) object() (value, error) {
	if err := p.enter(); err != nil {
		return value{}, err
	}
	if p.depth > 1 {
		p.nestedObjects = true
	}
	p.pos++ // '{'
	c := &composite{}
	v := value{kind: kindObject, c: c}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return v, nil
	}
	needUTF16 := false
	inOrder := true // keys so far came in strictly increasing code-point order
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return value{}, p.errorf("expected object key")
		}
		key, err := p.string()
		if err != nil {
			return value{}, err
		}
		if !needUTF16 && differsInUTF16(key) {
			needUTF16 = true
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return value{}, p.errorf("expected ':' after object key")
		}
		p.pos++
		p.skipSpace()
		val, err := p.value()
		if err != nil {
			return value{}, err
		}
		if n := len(c.members); n > 0 && inOrder && key <= c.members[n-1].key {
			inOrder = false
		}
		val.wirePos = uint32(len(c.members))
		c.members = append(c.members, member{key: key, val: val})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return value{}, p.errorf("unterminated object")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] == '}' {
			p.pos++
			break
		}
		return value{}, p.errorf("expected ',' or '}' in object")
	}
	p.depth--

	// Sorting once here serves two purposes: every form emits sorted keys,
	// and duplicates become adjacent. Duplicates are rejected because JS,
	// Python and Go all keep the last value while a first-wins proxy would
	// act on another amount than the one verified.
	slices.SortFunc(c.members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	for i := 1; i < len(c.members); i++ {
		if c.members[i].key == c.members[i-1].key {
			return value{}, fmt.Errorf("%w: duplicate object key %s", ErrMalformed, quoteForError(c.members[i].key))
		}
	}
	if !inOrder && p.depth > 0 {
		// Only nested objects: FormJavaTreeMap sorts the top level (the
		// TreeMap) and every other form sorts all levels.
		c.wire = make([]int, len(c.members))
		for i := range c.members {
			c.wire[c.members[i].val.wirePos] = i
		}
	}
	if needUTF16 {
		c.utf16 = make([]int, len(c.members))
		for i := range c.utf16 {
			c.utf16[i] = i
		}
		slices.SortFunc(c.utf16, func(a, b int) int { return compareUTF16(c.members[a].key, c.members[b].key) })
	}
	return v, nil
}

func (p *parser) array() (value, error) {
	if err := p.enter(); err != nil {
		return value{}, err
	}
	p.pos++ // '['
	c := &composite{}
	v := value{kind: kindArray, c: c}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return v, nil
	}
	for {
		p.skipSpace()
		el, err := p.value()
		if err != nil {
			return value{}, err
		}
		c.elems = append(c.elems, el)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return value{}, p.errorf("unterminated array")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] == ']' {
			p.pos++
			break
		}
		return value{}, p.errorf("expected ',' or ']' in array")
	}
	p.depth--
	return v, nil
}

func (p *parser) literal(word string) (value, error) {
	if !strings.HasPrefix(p.data[p.pos:], word) {
		return value{}, p.errorf("invalid literal")
	}
	p.pos += len(word)
	return value{kind: kindLiteral, text: word}, nil
}

// number validates the RFC 8259 number grammar and keeps the literal as
// sent: re-formatting through float64 would change 12345678901234567890,
// 1e21, -0.0 or 100.0, and each client signs the literal it put on the wire.
func (p *parser) number() (value, error) {
	start := p.pos
	d := p.data
	if p.pos < len(d) && d[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case p.pos < len(d) && d[p.pos] >= '1' && d[p.pos] <= '9':
		p.skipDigits()
	default:
		return value{}, p.errorf("invalid number")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if p.skipDigits() == 0 {
			return value{}, p.errorf("invalid number: no digits after '.'")
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if p.skipDigits() == 0 {
			return value{}, p.errorf("invalid number: no digits in exponent")
		}
	}
	return value{kind: kindNumber, text: d[start:p.pos]}, nil
}

func (p *parser) skipDigits() int {
	n := 0
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
		n++
	}
	return n
}

// string decodes a JSON string starting at the opening quote. It rejects
// raw control characters, invalid UTF-8 and lone surrogate escapes: JS and
// Python would re-emit "\ud800" while Go would turn it into U+FFFD, so no
// rendering could be trusted to match what the client signed.
func (p *parser) string() (string, error) {
	p.pos++ // opening quote
	d := p.data
	start := p.pos
	// Fast path: no escapes, copy the bytes once.
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			s := d[start:p.pos]
			p.pos++
			return s, nil
		case c == '\\':
			return p.stringSlow(start)
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRuneInString(d[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", p.errorf("invalid UTF-8")
			}
			p.pos += size
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *parser) stringSlow(start int) (string, error) {
	d := p.data
	var b strings.Builder
	b.Grow(p.pos - start + 16)
	b.WriteString(d[start:p.pos])
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\':
			if p.pos+1 >= len(d) {
				return "", p.errorf("unterminated escape")
			}
			e := d[p.pos+1]
			p.pos += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, err := p.unicodeEscape()
				if err != nil {
					return "", err
				}
				b.WriteRune(r)
			default:
				p.pos -= 2
				return "", p.errorf("invalid escape \\%c", rune(e))
			}
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			p.pos++
		default:
			r, size := utf8.DecodeRuneInString(d[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", p.errorf("invalid UTF-8")
			}
			b.WriteString(d[p.pos : p.pos+size])
			p.pos += size
		}
	}
	return "", p.errorf("unterminated string")
}

// unicodeEscape decodes the XXXX of a \uXXXX escape (p.pos is just after
// the 'u'), combining a surrogate pair into one rune.
func (p *parser) unicodeEscape() (rune, error) {
	hi, ok := p.hex4()
	if !ok {
		return 0, p.errorf("invalid \\u escape")
	}
	switch {
	case hi >= 0xDC00 && hi <= 0xDFFF:
		return 0, p.errorf("lone surrogate \\u%04x", hi)
	case hi < 0xD800 || hi > 0xDBFF:
		return hi, nil
	}
	if p.pos+1 >= len(p.data) || p.data[p.pos] != '\\' || p.data[p.pos+1] != 'u' {
		return 0, p.errorf("lone surrogate \\u%04x", hi)
	}
	p.pos += 2
	lo, ok := p.hex4()
	if !ok {
		return 0, p.errorf("invalid \\u escape")
	}
	if lo < 0xDC00 || lo > 0xDFFF {
		return 0, p.errorf("lone surrogate \\u%04x", hi)
	}
	return 0x10000 + (hi-0xD800)<<10 + (lo - 0xDC00), nil
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.data[p.pos : p.pos+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

// differsInUTF16 reports whether key contains a character whose UTF-16
// ordering differs from its code-point ordering: U+E000..U+FFFF sort after
// astral characters in UTF-16 (whose first unit is a D800..DBFF surrogate)
// but before them by code point. Such characters are encoded in UTF-8 with
// a lead byte of 0xEE or above.
func differsInUTF16(key string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= 0xEE {
			return true
		}
	}
	return false
}

// compareUTF16 orders valid UTF-8 strings by their UTF-16 code units, as
// JavaScript's default Array.prototype.sort does.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return utf16Rank(ra) - utf16Rank(rb)
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// utf16Rank maps a code point to a value that orders like its first UTF-16
// code unit (ties only between equal code points or among astral code
// points, whose surrogate pairs order like the code points themselves).
func utf16Rank(r rune) int {
	if r >= 0xE000 && r <= 0xFFFF {
		return int(r) + 0x110000 // above every astral code point
	}
	return int(r)
}

// quoteForError quotes a key for an error message, cut to a sane length so a
// hostile key cannot blow up logs.
func quoteForError(s string) string {
	const maxLen = 64
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
