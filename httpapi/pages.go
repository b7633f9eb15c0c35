package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Lists are DRF pages, {count, next, previous, results}, selected with
// ?page= and ?page_size= as DollarPe's are, and cost O(page), not
// O(history):
//
//   - count is exact for an unfiltered list (kept by the store, not
//     counted). With a filter (payout_status, customer_id, a date range,
//     delivery_status, since) it is exact up to 10,000 and 10,000 above,
//     a lower bound: counting further would cost O(matching rows).
//   - next and previous carry, besides page, an opaque cursor: the sort
//     key (created_at, id) of this page's last (or first) row and the
//     direction. A request with a cursor is read by keyset from that key,
//     O(page) at any depth, and is not shifted by payouts created while a
//     client walks the list. Following next is O(page); a request with
//     page alone (a client jumping to page N) skips N-1 pages: O(offset).
//   - A page past the end answers 200 with the count, no results, next
//     null and previous linking to the last page (page 1 for an empty
//     list), so a client that overshot can go back. page must be a whole
//     number from 1; a number beyond any list (even one beyond 64 bits)
//     is past the end, never an overflow.
//   - next is present exactly when the list goes on after this page (the
//     store reads one row more than the page to know), so it is never past
//     the end, even where count is a lower bound.
const (
	defaultPageSize = 10
	maxPageSize     = 100
)

// Field errors of the page parameters.
const (
	msgInvalidPage   = "Invalid page."
	msgInvalidCursor = "Invalid cursor. Use the next and previous links as they are given."
)

// pageParams reads DRF's "page" and "page_size" query parameters and the
// "cursor" of a next or previous link. The page asks the store for one row
// past it (Peek), for pageOf's next link.
func pageParams(r *http.Request) (offramp.Page, error) {
	p := offramp.Page{Number: 1, Size: defaultPageSize, Peek: true}
	var v offramp.Validation
	q := r.URL.Query()
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if errors.Is(err, strconv.ErrRange) && n == math.MaxInt {
			// A whole number too large for an int is past the end of any
			// list: page math.MaxInt is as good.
			err = nil
		}
		if err != nil || n < 1 {
			v.Add("page", msgInvalidPage)
		}
		p.Number = n
	}
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			v.Add("page_size", "Must be a whole number from 1 to "+strconv.Itoa(maxPageSize)+".")
		}
		p.Size = n
	}
	if s := q.Get("cursor"); s != "" {
		c, err := decodeCursor(r.URL.Path, s)
		if err != nil {
			v.Add("cursor", msgInvalidCursor)
		}
		p.Cursor = c
	}
	return p, v.Err()
}

// pageOf builds the DRF page of list (the store's rows, Peek row included)
// and out (their wire form, in the same order), with absolute next and
// previous links that keep the request's other query parameters.
func pageOf[T, W any](r *http.Request, p offramp.Page, total int, list []T, out []W) pageJSON {
	more := len(list) > p.Size
	if more {
		list = list[:p.Size]
	}
	out = out[:min(len(out), len(list))]
	link := func(n int, c *offramp.PageCursor) *string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			u.Scheme = "https"
		}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		if p.Size != defaultPageSize {
			q.Set("page_size", strconv.Itoa(p.Size))
		}
		q.Del("cursor")
		if c != nil {
			q.Set("cursor", encodeCursor(r.URL.Path, *c))
		}
		u.RawQuery = q.Encode()
		s := u.String()
		return &s
	}
	res := pageJSON{Count: total, Results: out}
	if len(list) == 0 {
		// Past the end (or an empty list): back to the last page.
		if p.Number > 1 {
			res.Previous = link(min(p.Number-1, lastPage(total, p.Size)), nil)
		}
		return res
	}
	first, okFirst := pageKey(list[0])
	last, okLast := pageKey(list[len(list)-1])
	back := p.Cursor != nil && p.Cursor.Before
	// Read backwards, the page came from the next one: the list goes on
	// after it. Page math.MaxInt is the last there can be.
	if (more || back) && p.Number < math.MaxInt {
		var c *offramp.PageCursor
		if okLast {
			c = &last
		}
		res.Next = link(p.Number+1, c)
	}
	if p.Number > 1 {
		switch {
		case p.Number == 2 || !okFirst:
			res.Previous = link(p.Number-1, nil)
		case back && !more:
			// Nothing newer: this is the first page, whatever its number.
			res.Previous = link(1, nil)
		default:
			first.Before = true
			res.Previous = link(p.Number-1, &first)
		}
	}
	return res
}

// lastPage is the number of the last page of total rows (1 when empty).
func lastPage(total, size int) int {
	n := total / size
	if total%size != 0 {
		n++
	}
	return max(n, 1)
}

// pageKey is the sort key of a listed row, as the store orders lists:
// (created_at, id), the delivery's for a webhook event.
func pageKey(v any) (offramp.PageCursor, bool) {
	switch x := v.(type) {
	case offramp.Payout:
		return offramp.PageCursor{CreatedAt: x.CreatedAt, ID: x.ID}, true
	case offramp.Customer:
		return offramp.PageCursor{CreatedAt: x.CreatedAt, ID: x.ID}, true
	case offramp.BankAccount:
		return offramp.PageCursor{CreatedAt: x.CreatedAt, ID: x.ID}, true
	case offramp.EventDelivery:
		return offramp.PageCursor{CreatedAt: x.Delivery.CreatedAt, ID: x.Delivery.EventID}, true
	}
	return offramp.PageCursor{}, false
}

// A cursor is base64url (unpadded) of 30 bytes: a version (1), the
// direction ('n' next: rows after the key; 'p' previous: rows before it),
// created_at in Unix microseconds (int64, big-endian), the id (16 bytes),
// and a check: the first 4 bytes of SHA-256 over the list's path and the
// bytes before. The check refuses a cursor that was cut, edited or taken
// from another list (another path); it is no secret, and need not be: a
// forged cursor only places a page of the caller's own list, which every
// query scopes to the organization.
const (
	cursorVersion = 1
	cursorLen     = 1 + 1 + 8 + 16 + 4
)

// cursorMin and cursorMax bound a cursor's time to what both engines
// store.
var cursorMin, cursorMax = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)

func cursorCheck(path string, b []byte) []byte {
	h := sha256.New()
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(b)
	return h.Sum(nil)[:4]
}

func encodeCursor(path string, c offramp.PageCursor) string {
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorVersion)
	if c.Before {
		b = append(b, 'p')
	} else {
		b = append(b, 'n')
	}
	b = binary.BigEndian.AppendUint64(b, uint64(c.CreatedAt.UnixMicro()))
	b = append(b, c.ID[:]...)
	b = append(b, cursorCheck(path, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errors.New("invalid cursor")

func decodeCursor(path, s string) (*offramp.PageCursor, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion || (b[1] != 'n' && b[1] != 'p') {
		return nil, errCursor
	}
	body := b[:cursorLen-4]
	if !bytes.Equal(b[cursorLen-4:], cursorCheck(path, body)) {
		return nil, errCursor
	}
	at := time.UnixMicro(int64(binary.BigEndian.Uint64(body[2:10]))).UTC()
	if at.Before(cursorMin) || at.After(cursorMax) {
		return nil, errCursor
	}
	id, err := uuid.FromBytes(body[10:26])
	if err != nil {
		return nil, errCursor
	}
	return &offramp.PageCursor{CreatedAt: at, ID: id, Before: b[1] == 'p'}, nil
}
