package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// Page is one page of a list: DRF's {count, next, previous, results}.
// Lists are newest first.
type Page[T any] struct {
	// Count is the number of items in the whole list.
	Count int `json:"count"`
	// Next and Previous are the URLs of the neighbouring pages, "" at
	// either end.
	Next     string `json:"next"`
	Previous string `json:"previous"`
	Results  []T    `json:"results"`
}

// ListOptions selects a page. Zero values take the server's defaults:
// page 1, 10 items (at most 100).
type ListOptions struct {
	Page     int
	PageSize int
	// Cursor is the opaque cursor of a next or previous link (Offramp's
	// extension, with Page): the server then reads the page from that
	// position, at the same cost at any depth. Leave it empty to select
	// a page by number; iterators follow the links' cursors themselves.
	Cursor string
}

func (o ListOptions) values(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(o.PageSize))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// all iterates over every item of a list from page o.Page (default 1),
// fetching each page with get, until a page has no next link. It follows
// the next link's cursor when it has one, so that each page costs the
// server the same however deep.
func all[T any](ctx context.Context, o ListOptions, get func(context.Context, ListOptions) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		o.Page = max(o.Page, 1)
		for {
			p, err := get(ctx, o)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range p.Results {
				if !yield(v, nil) {
					return
				}
			}
			if p.Next == "" || len(p.Results) == 0 {
				return
			}
			o.Page++
			o.Cursor = ""
			if u, err := url.Parse(p.Next); err == nil {
				o.Cursor = u.Query().Get("cursor")
			}
		}
	}
}

// jsonTime reads an RFC 3339 time; null and "" are the zero time.
type jsonTime struct{ time.Time }

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	if s := string(b); s == "null" || s == `""` {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}
