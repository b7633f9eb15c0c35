package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/offramp/offramp"
)

const (
	defaultPageSize = 10
	maxPageSize     = 100
)

// pageParams reads DRF's "page" and "page_size" query parameters.
func pageParams(r *http.Request) (offramp.Page, error) {
	p := offramp.Page{Number: 1, Size: defaultPageSize}
	var v offramp.Validation
	q := r.URL.Query()
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			v.Add("page", "Invalid page.")
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
	return p, v.Err()
}

// pageOf builds the DRF page around results, with absolute next and previous
// links that keep the request's other query parameters.
func pageOf(r *http.Request, p offramp.Page, total int, results any) pageJSON {
	link := func(n int) *string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			u.Scheme = "https"
		}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		if p.Size != defaultPageSize {
			q.Set("page_size", strconv.Itoa(p.Size))
		}
		u.RawQuery = q.Encode()
		s := u.String()
		return &s
	}
	out := pageJSON{Count: total, Results: results}
	if p.Number*p.Size < total {
		out.Next = link(p.Number + 1)
	}
	if p.Number > 1 {
		out.Previous = link(p.Number - 1)
	}
	return out
}
