package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
)

// page is a decoded DRF page.
type page struct {
	Count    int              `json:"count"`
	Next     *string          `json:"next"`
	Previous *string          `json:"previous"`
	Results  []map[string]any `json:"results"`
}

func (c *client) page(target string) page {
	c.e.t.Helper()
	r := c.do("GET", target, nil)
	expectOK(c.e.t, r, 200)
	var p page
	if err := json.Unmarshal(r.Data, &p); err != nil {
		c.e.t.Fatalf("%s: not a page: %s", target, r.Raw)
	}
	return p
}

// pageTarget turns an absolute link of a page into the path and query to
// request, checking it points at this server and path.
func pageTarget(t *testing.T, e *env, link, path string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	base, _ := url.Parse(e.URL)
	if u.Host != base.Host || u.Path != path {
		t.Fatalf("link %q leaves %s%s", link, base.Host, path)
	}
	return u.RequestURI()
}

func pageIDs(p page) []string {
	var out []string
	for _, r := range p.Results {
		out = append(out, r["id"].(string))
	}
	return out
}

// walkPages follows next links from first (or previous links, with back) until
// there is none, and returns the ids in the order read and the pages.
func walkPages(t *testing.T, c *client, path, first string, back bool) ([]string, []page) {
	t.Helper()
	var got []string
	var pages []page
	for link := first; ; {
		p := c.page(link)
		pages = append(pages, p)
		if back {
			got = append(pageIDs(p), got...)
		} else {
			got = append(got, pageIDs(p)...)
		}
		next := p.Next
		if back {
			next = p.Previous
		}
		if next == nil {
			return got, pages
		}
		if len(pages) > 100 {
			t.Fatalf("more than 100 pages")
		}
		link = pageTarget(t, c.e, *next, path)
	}
}

func linkQuery(t *testing.T, link *string) url.Values {
	t.Helper()
	if link == nil {
		t.Fatalf("no link")
	}
	u, err := url.Parse(*link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestHistoryPages walks the payout history through the real server:
// next links (which carry a cursor) give every payout exactly once, in the
// order of a single page, also with payouts created at the same instant
// and while the walk goes on; previous links walk back; a page past the
// end, however large its number, answers 200 with the count and no
// results; a malformed, edited or foreign cursor is a 400 on "cursor".
func TestHistoryPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	const path = "/pos/api/v1/payout/history"
	ps := c.readyForPayout("")
	const n = 11
	for i := range n {
		if i%3 == 0 {
			e.Clock.Advance(time.Second) // the others share their instant
		}
		// Amounts differ: requests signed at one instant must differ.
		expectOK(t, c.initiate(c.quote(ps, strconv.Itoa(10+i)), nil), 201)
	}
	all := c.page(path + "?page_size=100")
	want := pageIDs(all)
	if all.Count != n || len(want) != n || all.Next != nil || all.Previous != nil {
		t.Fatalf("one page of %d: count %d, %d results, next %v, previous %v", n, all.Count, len(want), all.Next, all.Previous)
	}

	// Forward by next links.
	got, pages := walkPages(t, c, path, path+"?page_size=3", false)
	if !slices.Equal(got, want) {
		t.Fatalf("next links walked\n %v\nwant\n %v", got, want)
	}
	if len(pages) != 4 {
		t.Fatalf("%d pages of 3 for %d payouts", len(pages), n)
	}
	for i, p := range pages {
		if p.Count != n {
			t.Errorf("page %d: count %d", i+1, p.Count)
		}
		if (p.Previous == nil) != (i == 0) {
			t.Errorf("page %d: previous %v", i+1, p.Previous)
		}
		if p.Next == nil {
			continue
		}
		q := linkQuery(t, p.Next)
		if q.Get("page") != strconv.Itoa(i+2) || q.Get("cursor") == "" || q.Get("page_size") != "3" {
			t.Errorf("page %d: next link %s", i+1, *p.Next)
		}
	}
	if prev := linkQuery(t, pages[1].Previous); prev.Get("page") != "1" || prev.Has("cursor") {
		t.Errorf("page 2: previous link %s, want page 1 without a cursor", *pages[1].Previous)
	}
	if prev := linkQuery(t, pages[3].Previous); prev.Get("page") != "3" || prev.Get("cursor") == "" {
		t.Errorf("page 4: previous link %s, want page 3 with a cursor", *pages[3].Previous)
	}

	// Backward by previous links, from the last page by number.
	back, _ := walkPages(t, c, path, path+"?page_size=3&page=4", true)
	if !slices.Equal(back, want) {
		t.Fatalf("previous links walked\n %v\nwant\n %v", back, want)
	}

	// Payouts created during a walk do not shift it.
	first := c.page(path + "?page_size=4")
	e.Clock.Advance(time.Second)
	expectOK(t, c.initiate(c.quote(ps, "10"), nil), 201)
	rest, _ := walkPages(t, c, path, pageTarget(t, e, *first.Next, path), false)
	if got := append(pageIDs(first), rest...); !slices.Equal(got, want) {
		t.Fatalf("walk with a payout created on the way\n %v\nwant\n %v", got, want)
	}

	// Past the end.
	for _, number := range []string{"3", "922337203685477581", "9223372036854775807", "99999999999999999999"} {
		p := c.page(path + "?page=" + number)
		if p.Count != n+1 || len(p.Results) != 0 || p.Next != nil {
			t.Fatalf("page %s: count %d, %d results, next %v", number, p.Count, len(p.Results), p.Next)
		}
		if prev := linkQuery(t, p.Previous); prev.Get("page") != "2" || prev.Has("cursor") {
			t.Fatalf("page %s: previous %s, want the last page, 2", number, *p.Previous)
		}
		if last := c.page(pageTarget(t, e, *p.Previous, path)); len(last.Results) != 2 || last.Next != nil {
			t.Fatalf("the last page: %d results, next %v", len(last.Results), last.Next)
		}
	}
	// Filtered, past the end.
	p := c.page(path + "?page=922337203685477581&page_size=100&payout_status=PROCESSING&customer_id=" + ps.customer)
	if len(p.Results) != 0 || p.Next != nil || p.Previous == nil {
		t.Fatalf("filtered page past the end: %+v", p)
	}

	// Cursors: malformed, edited, of another list.
	cursor := linkQuery(t, pages[0].Next).Get("cursor")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		t.Fatalf("cursor %q is not base64url: %v", cursor, err)
	}
	edited := func(i int) string {
		b := slices.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	c.newCustomer(nil)
	customers := c.page("/cms/api/v1/customer/list?page_size=1")
	foreign := linkQuery(t, customers.Next).Get("cursor")
	for _, bad := range []string{"abc", "!!!!", cursor + "A", cursor[:len(cursor)-2], edited(5), edited(12), edited(len(raw) - 1), foreign} {
		expectErr(t, c.do("GET", path+"?page=2&cursor="+url.QueryEscape(bad), nil), 400, "cursor",
			"Invalid cursor. Use the next and previous links as they are given.")
	}
	// The page parameters stay as strict as they were.
	for _, bad := range []string{"0", "-1", "abc", "1.5", "-99999999999999999999"} {
		expectErr(t, c.do("GET", path+"?page="+url.QueryEscape(bad), nil), 400, "page", "Invalid page.")
	}
}

// TestCustomerPages walks the customer list by next links, and back.
func TestCustomerPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	const path = "/cms/api/v1/customer/list"
	for i := range 7 {
		if i%2 == 0 {
			e.Clock.Advance(time.Second)
		}
		c.newCustomer(nil)
	}
	want := pageIDs(c.page(path + "?page_size=100"))
	got, pages := walkPages(t, c, path, path+"?page_size=2", false)
	if len(want) != 7 || !slices.Equal(got, want) || len(pages) != 4 {
		t.Fatalf("next links walked %d pages\n %v\nwant\n %v", len(pages), got, want)
	}
	back, _ := walkPages(t, c, path, path+"?page_size=2&page=4", true)
	if !slices.Equal(back, want) {
		t.Fatalf("previous links walked\n %v\nwant\n %v", back, want)
	}
	p := c.page(path + "?page=922337203685477581&page_size=2")
	if p.Count != 7 || len(p.Results) != 0 || p.Next != nil || linkQuery(t, p.Previous).Get("page") != "4" {
		t.Fatalf("past the end: %+v", p)
	}
}
