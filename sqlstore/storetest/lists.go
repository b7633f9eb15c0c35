package storetest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// listTests are the subtests of list pages (offramp.Page): maintained and
// capped counts, keyset pages from a cursor, Peek, pages past the end.
var listTests = []struct {
	name string
	fn   func(t *testing.T, s offramp.Store)
}{
	{"ListCounts", testListCounts},
	{"ListCountsConcurrent", testListCountsConcurrent},
	{"ListKeysetPayouts", testListKeysetPayouts},
	{"ListKeysetCustomers", testListKeysetCustomers},
	{"ListKeysetDeliveries", testListKeysetDeliveries},
	{"ListKeysetBankAccounts", testListKeysetBankAccounts},
	{"ListPastTheEnd", testListPastTheEnd},
}

// RunCountCap checks the count of filtered lists against countCap, the
// number of matching rows the store counts at most (sqlstore lowers its
// cap of 10,000 for this): up to the cap a filtered count is exact, above
// it the count is the cap, and the rows past the cap are still listed;
// unfiltered counts are exact whatever their size. open is as Run's.
func RunCountCap(t *testing.T, open func(t *testing.T) offramp.Store, countCap int) {
	t.Run("CountCap", func(t *testing.T) { testCountCap(t, open(t), countCap) })
}

// row is a listed row's sort key.
type row struct {
	at time.Time
	id uuid.UUID
}

// lister reads one page of a list, with its count.
type lister func(tx offramp.ReadTx, page offramp.Page) ([]row, int, error)

func payoutLister(t *testing.T, orgID uuid.UUID, f offramp.PayoutFilter) lister {
	return func(tx offramp.ReadTx, page offramp.Page) ([]row, int, error) {
		ps, n, err := tx.ListPayouts(t.Context(), orgID, f, page)
		var rows []row
		for _, p := range ps {
			rows = append(rows, row{p.CreatedAt, p.ID})
		}
		return rows, n, err
	}
}

func customerLister(t *testing.T, orgID uuid.UUID) lister {
	return func(tx offramp.ReadTx, page offramp.Page) ([]row, int, error) {
		cs, n, err := tx.ListCustomers(t.Context(), orgID, page)
		var rows []row
		for _, c := range cs {
			rows = append(rows, row{c.CreatedAt, c.ID})
		}
		return rows, n, err
	}
}

func deliveryLister(t *testing.T, orgID uuid.UUID, f offramp.DeliveryFilter) lister {
	return func(tx offramp.ReadTx, page offramp.Page) ([]row, int, error) {
		ds, n, err := tx.ListDeliveries(t.Context(), orgID, f, page)
		var rows []row
		for _, d := range ds {
			if d.Event.ID != d.Delivery.EventID {
				return nil, 0, fmt.Errorf("delivery of event %s listed with event %s", d.Delivery.EventID, d.Event.ID)
			}
			rows = append(rows, row{d.Delivery.CreatedAt, d.Delivery.EventID})
		}
		return rows, n, err
	}
}

func bankLister(t *testing.T, orgID, customerID uuid.UUID) lister {
	return func(tx offramp.ReadTx, page offramp.Page) ([]row, int, error) {
		bs, n, err := tx.ListBankAccounts(t.Context(), orgID, customerID, page)
		var rows []row
		for _, b := range bs {
			rows = append(rows, row{b.CreatedAt, b.ID})
		}
		return rows, n, err
	}
}

func readPage(t *testing.T, s offramp.Store, list lister, page offramp.Page) ([]row, int) {
	t.Helper()
	var rows []row
	var n int
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		rows, n, err = list(tx, page)
		return err
	})
	return rows, n
}

// sortedRows is want in list order: newest first, by (created_at, id)
// descending, ids compared as the engines do (bytes).
func sortedRows(want []row) []row {
	out := slices.Clone(want)
	slices.SortFunc(out, func(a, b row) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return slices.Compare(b.id[:], a.id[:])
	})
	return out
}

// wantWalks checks a list against want (its rows in any order): a single
// page holds it all in list order; pages of size read forward from page 1
// by cursor (following the Peek row) give it exactly once, as do pages
// read backward by cursor from the last page (reached by number); each
// page has size rows but the last forward one, and Peek reads one row
// more exactly when the list goes on.
func wantWalks(t *testing.T, s offramp.Store, what string, list lister, want []row, size int) {
	t.Helper()
	want = sortedRows(want)
	all, n := readPage(t, s, list, offramp.Page{Number: 1, Size: len(want) + 1})
	if n != len(want) || !slices.Equal(all, want) {
		t.Fatalf("%s: one page holds %d of count %d, want %d in list order:\n got  %v\n want %v", what, len(all), n, len(want), all, want)
	}

	// Forward, by cursor.
	var got []row
	page := offramp.Page{Number: 1, Size: size, Peek: true}
	for {
		rows, n := readPage(t, s, list, page)
		if n != len(want) {
			t.Fatalf("%s: page %d count %d, want %d", what, page.Number, n, len(want))
		}
		more := len(rows) > size
		if more {
			if len(rows) != size+1 {
				t.Fatalf("%s: page %d has %d rows with Peek, want at most %d", what, page.Number, len(rows), size+1)
			}
			rows = rows[:size]
		}
		got = append(got, rows...)
		if !more {
			break
		}
		if len(got) > len(want) {
			t.Fatalf("%s: forward walk read %d rows of %d", what, len(got), len(want))
		}
		last := rows[len(rows)-1]
		page = offramp.Page{Number: page.Number + 1, Size: size, Peek: true, Cursor: &offramp.PageCursor{CreatedAt: last.at, ID: last.id}}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: forward walk by cursor:\n got  %v\n want %v", what, got, want)
	}
	if pages := (len(want) + size - 1) / size; page.Number != max(pages, 1) {
		t.Fatalf("%s: forward walk took %d pages, want %d", what, page.Number, pages)
	}
	if len(want) == 0 {
		return
	}

	// Backward, by cursor, from the last page.
	lastN := (len(want) + size - 1) / size
	rows, _ := readPage(t, s, list, offramp.Page{Number: lastN, Size: size, Peek: true})
	if wantLast := want[(lastN-1)*size:]; !slices.Equal(rows, wantLast) {
		t.Fatalf("%s: last page %d by number:\n got  %v\n want %v", what, lastN, rows, wantLast)
	}
	back := slices.Clone(rows)
	for n := lastN - 1; n >= 1; n-- {
		first := rows[0]
		rows, _ = readPage(t, s, list, offramp.Page{Number: n, Size: size, Peek: true,
			Cursor: &offramp.PageCursor{CreatedAt: first.at, ID: first.id, Before: true}})
		more := len(rows) > size
		if more {
			rows = rows[:size]
		}
		if more != (n > 1) {
			t.Fatalf("%s: backward page %d reads newer rows beyond it: %v, want %v", what, n, more, n > 1)
		}
		if wantPage := want[(n-1)*size : n*size]; !slices.Equal(rows, wantPage) {
			t.Fatalf("%s: backward page %d:\n got  %v\n want %v", what, n, rows, wantPage)
		}
		back = append(slices.Clone(rows), back...)
	}
	if !slices.Equal(back, want) {
		t.Fatalf("%s: backward walk by cursor:\n got  %v\n want %v", what, back, want)
	}
}

// counts reads the unfiltered counts of org's payouts, customers and
// deliveries.
func counts(t *testing.T, s offramp.Store, orgID uuid.UUID) [3]int {
	t.Helper()
	var out [3]int
	page := offramp.Page{Number: 1, Size: 1}
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		if _, out[0], err = tx.ListPayouts(t.Context(), orgID, offramp.PayoutFilter{}, page); err != nil {
			return err
		}
		if _, out[1], err = tx.ListCustomers(t.Context(), orgID, page); err != nil {
			return err
		}
		_, out[2], err = tx.ListDeliveries(t.Context(), orgID, offramp.DeliveryFilter{}, page)
		return err
	})
	return out
}

// addDeliveries appends n deliverable events of org with their outbox
// rows, created at at(i), in one Update.
func addDeliveries(t *testing.T, s offramp.Store, orgID uuid.UUID, n int, at func(i int) time.Time, state func(i int) offramp.DeliveryState) []row {
	t.Helper()
	var rows []row
	update(t, s, func(tx offramp.Tx) error {
		rows = nil
		for i := range n {
			e, err := tx.AppendEvent(t.Context(), offramp.Event{OrgID: orgID, ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(),
				Event: "SUCCESS", CreatedAt: at(i)})
			if err != nil {
				return err
			}
			st := offramp.DeliveryPending
			if state != nil {
				st = state(i)
			}
			d := offramp.Delivery{EventID: e.ID, OrgID: orgID, State: st, NextAttemptAt: e.CreatedAt, CreatedAt: e.CreatedAt, UpdatedAt: e.CreatedAt}
			if st == offramp.DeliveryDelivered {
				d.Attempts, d.LastStatusCode, d.DeliveredAt, d.NextAttemptAt = 1, 200, e.CreatedAt, time.Time{}
			}
			if err := tx.CreateDelivery(t.Context(), d); err != nil {
				return err
			}
			rows = append(rows, row{normalize(e.CreatedAt), e.ID})
		}
		return nil
	})
	return rows
}

func normalize(at time.Time) time.Time { return at.UTC().Truncate(time.Microsecond) }

// testListCounts: the unfiltered counts of payouts, customers and
// deliveries follow every insert exactly, per organization, and a rolled
// back insert counts nothing; filtered counts below the cap are exact.
func testListCounts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org, other := newOrg(t, s), newOrg(t, s)
	wantEqual(t, "counts of a new organization", counts(t, s, org.ID), [3]int{})

	c, b := newPayee(t, s, org, 1)
	oc, ob := newPayee(t, s, other, 1)
	wantEqual(t, "counts after a customer", counts(t, s, org.ID), [3]int{0, 1, 0})
	for i := range 7 {
		newPayout(t, s, c, b, i+1, func(p *offramp.Payout) {
			if i%3 == 0 {
				inStatus(p, offramp.PayoutSuccess)
			}
		})
	}
	newPayout(t, s, oc, ob, 1, nil)
	addDeliveries(t, s, org.ID, 4, func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }, nil)
	update(t, s, func(tx offramp.Tx) error {
		for n := 2; n <= 5; n++ {
			if err := tx.CreateCustomer(ctx, makeCustomer(org, n)); err != nil {
				return err
			}
		}
		return nil
	})
	wantEqual(t, "counts", counts(t, s, org.ID), [3]int{7, 5, 4})
	wantEqual(t, "the other organization's counts", counts(t, s, other.ID), [3]int{1, 1, 0})

	// Rolled back: nothing counted.
	errRollback := errors.New("roll back")
	err := s.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(ctx, makeCustomer(org, 6)); err != nil {
			return err
		}
		q := makeQuotation(c, b, 100)
		if err := tx.CreateQuotation(ctx, q); err != nil {
			return err
		}
		if err := tx.CreatePayout(ctx, makePayout(q, 100)); err != nil {
			return err
		}
		return errRollback
	})
	wantIs(t, "rolled back Update", err, errRollback)
	addDeliveries(t, s, other.ID, 2, func(i int) time.Time { return t0 }, nil)
	wantEqual(t, "counts after a rollback", counts(t, s, org.ID), [3]int{7, 5, 4})
	wantEqual(t, "the other organization's counts", counts(t, s, other.ID), [3]int{1, 1, 2})

	// Filtered counts, below the cap: exact.
	_, n := listPayouts(t, s, org.ID, offramp.PayoutFilter{Status: offramp.PayoutSuccess}, offramp.Page{Number: 1, Size: 1})
	wantEqual(t, "count by status", n, 3)
	_, n = listPayouts(t, s, org.ID, offramp.PayoutFilter{Status: offramp.PayoutProcessing, CustomerID: c.ID, From: t0.Add(2 * time.Second)}, offramp.Page{Number: 1, Size: 1})
	wantEqual(t, "count by status, customer and time", n, 4)
	view(t, s, func(tx offramp.ReadTx) error {
		_, n, err := tx.ListDeliveries(ctx, org.ID, offramp.DeliveryFilter{Since: t0.Add(2 * time.Minute)}, offramp.Page{Number: 1, Size: 1})
		wantEqual(t, "deliveries since", n, 2)
		return err
	})
}

// testListCountsConcurrent: Updates inserting payouts, customers and
// deliveries of one organization at once (on PostgreSQL concurrently,
// SERIALIZABLE, retried on conflicts) leave exact counts.
func testListCountsConcurrent(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	const workers, each = 6, 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		runs int
	)
	errs := make([]error, workers)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range each {
				n := 1000 + w*each + i
				err := s.Update(ctx, func(tx offramp.Tx) error {
					mu.Lock()
					runs++
					mu.Unlock()
					if err := tx.CreateCustomer(ctx, makeCustomer(org, n)); err != nil {
						return err
					}
					q := makeQuotation(c, b, n)
					p := makePayout(q, n)
					if err := tx.CreateQuotation(ctx, q); err != nil {
						return err
					}
					if err := tx.CreatePayout(ctx, p); err != nil {
						return err
					}
					if err := tx.LinkQuotation(ctx, org.ID, q.ID, p.ID); err != nil {
						return err
					}
					e, err := tx.AppendEvent(ctx, offramp.Event{OrgID: org.ID, ObjectType: offramp.ObjectPayout, ObjectID: p.ID,
						Event: string(offramp.PayoutProcessing), CreatedAt: p.CreatedAt})
					if err != nil {
						return err
					}
					return tx.CreateDelivery(ctx, offramp.Delivery{EventID: e.ID, OrgID: org.ID, State: offramp.DeliveryPending,
						NextAttemptAt: e.CreatedAt, CreatedAt: e.CreatedAt, UpdatedAt: e.CreatedAt})
				})
				if err != nil {
					errs[w] = fmt.Errorf("worker %d, insert %d: %w", w, i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d Updates ran %d times", workers*each, runs)
	wantEqual(t, "counts after concurrent inserts", counts(t, s, org.ID), [3]int{workers * each, workers*each + 1, workers * each})
}

// testListKeysetPayouts walks payout lists page by page, by cursor both
// ways, with rows of equal created_at cut by page boundaries and another
// organization's rows at the same times: unfiltered, and by every filter.
func testListKeysetPayouts(t *testing.T, s offramp.Store) {
	org, other := newOrg(t, s), newOrg(t, s)
	c1, b1 := newPayee(t, s, org, 1)
	c2, b2 := newPayee(t, s, org, 2)
	oc, ob := newPayee(t, s, other, 1)
	statuses := []offramp.PayoutStatus{offramp.PayoutSuccess, offramp.PayoutFailed, offramp.PayoutProcessing}
	var all []offramp.Payout
	for n := 1; n <= 23; n++ {
		c, b := c1, b1
		if n%4 == 0 {
			c, b = c2, b2
		}
		// Four payouts a second: ties on created_at across pages of 3.
		at := t0.Add(time.Duration(n/4) * time.Second)
		all = append(all, newPayout(t, s, c, b, n, func(p *offramp.Payout) {
			p.CreatedAt, p.UpdatedAt = at, at
			inStatus(p, statuses[n%len(statuses)])
			if n%3 == 1 || n == 2 {
				// One exchange order retried: every FAILED payout, and
				// one PROCESSING (its one live payout).
				p.ExchangeOrderID = "order-retried"
			}
		}))
		if n%5 == 0 {
			newPayout(t, s, oc, ob, n, func(p *offramp.Payout) { p.CreatedAt, p.UpdatedAt = at, at })
		}
	}
	rowsOf := func(keep func(offramp.Payout) bool) []row {
		var out []row
		for _, p := range all {
			if keep(p) {
				out = append(out, row{normalize(p.CreatedAt), p.ID})
			}
		}
		return out
	}
	from, to := t0.Add(1*time.Second), t0.Add(4*time.Second)
	for _, tc := range []struct {
		name string
		f    offramp.PayoutFilter
		keep func(offramp.Payout) bool
	}{
		{"all", offramp.PayoutFilter{}, func(offramp.Payout) bool { return true }},
		{"status", offramp.PayoutFilter{Status: offramp.PayoutSuccess}, func(p offramp.Payout) bool { return p.Status == offramp.PayoutSuccess }},
		{"customer", offramp.PayoutFilter{CustomerID: c1.ID}, func(p offramp.Payout) bool { return p.CustomerID == c1.ID }},
		{"range", offramp.PayoutFilter{From: from, To: to}, func(p offramp.Payout) bool {
			return !p.CreatedAt.Before(from) && p.CreatedAt.Before(to)
		}},
		{"from", offramp.PayoutFilter{From: from}, func(p offramp.Payout) bool { return !p.CreatedAt.Before(from) }},
		{"to", offramp.PayoutFilter{To: to}, func(p offramp.Payout) bool { return p.CreatedAt.Before(to) }},
		{"every filter", offramp.PayoutFilter{Status: offramp.PayoutProcessing, CustomerID: c1.ID, From: from, To: to.Add(time.Second)}, func(p offramp.Payout) bool {
			return p.Status == offramp.PayoutProcessing && p.CustomerID == c1.ID && !p.CreatedAt.Before(from) && p.CreatedAt.Before(to.Add(time.Second))
		}},
		// The other organization has an order-5 and a payout-ref-5 too.
		{"exchange order", offramp.PayoutFilter{ExchangeOrderID: "order-retried"}, func(p offramp.Payout) bool { return p.ExchangeOrderID == "order-retried" }},
		{"another exchange order", offramp.PayoutFilter{ExchangeOrderID: "order-5"}, func(p offramp.Payout) bool { return p.ExchangeOrderID == "order-5" }},
		{"exchange order and every filter", offramp.PayoutFilter{ExchangeOrderID: "order-retried", Status: offramp.PayoutFailed, CustomerID: c1.ID, From: from, To: to.Add(time.Second)}, func(p offramp.Payout) bool {
			return p.ExchangeOrderID == "order-retried" && p.Status == offramp.PayoutFailed && p.CustomerID == c1.ID && !p.CreatedAt.Before(from) && p.CreatedAt.Before(to.Add(time.Second))
		}},
		{"client reference", offramp.PayoutFilter{ClientReferenceID: "payout-ref-5"}, func(p offramp.Payout) bool { return p.ClientReferenceID == "payout-ref-5" }},
		{"client reference and exchange order", offramp.PayoutFilter{ClientReferenceID: "payout-ref-7", ExchangeOrderID: "order-retried", Status: offramp.PayoutFailed}, func(p offramp.Payout) bool {
			return p.ClientReferenceID == "payout-ref-7"
		}},
		{"client reference of another order", offramp.PayoutFilter{ClientReferenceID: "payout-ref-7", ExchangeOrderID: "order-5"}, func(p offramp.Payout) bool { return false }},
	} {
		for _, size := range []int{1, 3, 4, 100} {
			wantWalks(t, s, fmt.Sprintf("%s, pages of %d", tc.name, size), payoutLister(t, org.ID, tc.f), rowsOf(tc.keep), size)
		}
	}

	// A cursor outside a date range: the range bounds the page.
	got, n := listPayouts(t, s, org.ID, offramp.PayoutFilter{From: from, To: to},
		offramp.Page{Number: 2, Size: 50, Cursor: &offramp.PageCursor{CreatedAt: t0.Add(time.Hour), ID: uuid.New()}})
	wantEqual(t, "after a key later than the range", payoutIDs(got), rowIDs(sortedRows(rowsOf(func(p offramp.Payout) bool {
		return !p.CreatedAt.Before(from) && p.CreatedAt.Before(to)
	}))))
	wantEqual(t, "its count", n, 12)
	got, _ = listPayouts(t, s, org.ID, offramp.PayoutFilter{From: from, To: to},
		offramp.Page{Number: 2, Size: 50, Cursor: &offramp.PageCursor{CreatedAt: t0.Add(-time.Hour), ID: uuid.New(), Before: true}})
	wantEqual(t, "before a key earlier than the range", len(got), 12)
	got, _ = listPayouts(t, s, org.ID, offramp.PayoutFilter{From: from, To: to},
		offramp.Page{Number: 2, Size: 50, Cursor: &offramp.PageCursor{CreatedAt: t0.Add(-time.Hour), ID: uuid.New()}})
	wantEqual(t, "after a key earlier than the range", len(got), 0)

	// The key's row need not exist: a key between two rows.
	sorted := sortedRows(rowsOf(func(offramp.Payout) bool { return true }))
	i := 5
	for sorted[i].id[15] == 0 {
		i++
	}
	gone := offramp.PageCursor{CreatedAt: sorted[i].at, ID: sorted[i].id}
	gone.ID[15]-- // an id just below the row's, at its time: no row has it
	got, _ = listPayouts(t, s, org.ID, offramp.PayoutFilter{}, offramp.Page{Number: 9, Size: 2, Cursor: &gone})
	wantEqual(t, "after a key without a row", payoutIDs(got), rowIDs(sorted[i+1:i+3]))
	gone.Before = true
	got, _ = listPayouts(t, s, org.ID, offramp.PayoutFilter{}, offramp.Page{Number: 9, Size: 2, Cursor: &gone})
	wantEqual(t, "before a key without a row", payoutIDs(got), rowIDs(sorted[i-1:i+1]))
}

func rowIDs(rows []row) []uuid.UUID {
	ids := []uuid.UUID{}
	for _, r := range rows {
		ids = append(ids, r.id)
	}
	return ids
}

// testListKeysetCustomers walks customers by cursor, ties included.
func testListKeysetCustomers(t *testing.T, s offramp.Store) {
	org, other := newOrg(t, s), newOrg(t, s)
	var want []row
	update(t, s, func(tx offramp.Tx) error {
		want = nil
		for n := 1; n <= 17; n++ {
			c := makeCustomer(org, n)
			c.CreatedAt = t0.Add(time.Duration(n/3) * time.Second)
			if err := tx.CreateCustomer(t.Context(), c); err != nil {
				return err
			}
			want = append(want, row{normalize(c.CreatedAt), c.ID})
			o := makeCustomer(other, n)
			o.CreatedAt = c.CreatedAt
			if err := tx.CreateCustomer(t.Context(), o); err != nil {
				return err
			}
		}
		return nil
	})
	for _, size := range []int{1, 2, 5, 17} {
		wantWalks(t, s, fmt.Sprintf("customers, pages of %d", size), customerLister(t, org.ID), want, size)
	}
}

// testListKeysetDeliveries walks deliveries by cursor, unfiltered and by
// state and start, ties included.
func testListKeysetDeliveries(t *testing.T, s offramp.Store) {
	org, other := newOrg(t, s), newOrg(t, s)
	at := func(i int) time.Time { return t0.Add(time.Duration(i/3) * time.Minute) }
	state := func(i int) offramp.DeliveryState {
		if i%2 == 0 {
			return offramp.DeliveryDelivered
		}
		return offramp.DeliveryPending
	}
	rows := addDeliveries(t, s, org.ID, 19, at, state)
	addDeliveries(t, s, other.ID, 5, at, nil)
	since := t0.Add(2 * time.Minute)
	pick := func(keep func(i int) bool) []row {
		var out []row
		for i, r := range rows {
			if keep(i) {
				out = append(out, r)
			}
		}
		return out
	}
	for _, size := range []int{2, 4, 19} {
		wantWalks(t, s, fmt.Sprintf("deliveries, pages of %d", size), deliveryLister(t, org.ID, offramp.DeliveryFilter{}), rows, size)
		wantWalks(t, s, fmt.Sprintf("pending deliveries, pages of %d", size),
			deliveryLister(t, org.ID, offramp.DeliveryFilter{State: offramp.DeliveryPending}),
			pick(func(i int) bool { return state(i) == offramp.DeliveryPending }), size)
		wantWalks(t, s, fmt.Sprintf("delivered deliveries since, pages of %d", size),
			deliveryLister(t, org.ID, offramp.DeliveryFilter{State: offramp.DeliveryDelivered, Since: since}),
			pick(func(i int) bool { return state(i) == offramp.DeliveryDelivered && !at(i).Before(since) }), size)
	}
}

// testListKeysetBankAccounts walks a customer's bank accounts by cursor.
func testListKeysetBankAccounts(t *testing.T, s offramp.Store) {
	org := newOrg(t, s)
	c, first := newPayee(t, s, org, 1)
	c2, first2 := newPayee(t, s, org, 2)
	var want []row
	update(t, s, func(tx offramp.Tx) error {
		want = nil
		for n := 10; n < 17; n++ {
			b := makeBank(c, n)
			b.CreatedAt = t0.Add(time.Duration(n/2) * time.Second)
			if err := tx.CreateBankAccount(t.Context(), b); err != nil {
				return err
			}
			want = append(want, row{normalize(b.CreatedAt), b.ID})
		}
		return nil
	})
	want = append(want, row{normalize(first.CreatedAt), first.ID}) // newPayee's account
	for _, size := range []int{1, 3} {
		wantWalks(t, s, fmt.Sprintf("bank accounts, pages of %d", size), bankLister(t, org.ID, c.ID), want, size)
	}
	wantWalks(t, s, "another customer's bank accounts", bankLister(t, org.ID, c2.ID), []row{{normalize(first2.CreatedAt), first2.ID}}, 2)
}

// testListPastTheEnd: a page past the end is empty with the list's
// count, filtered or not, however large its number: no overflow wraps it
// round to rows.
func testListPastTheEnd(t *testing.T, s offramp.Store) {
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	for n := 1; n <= 5; n++ {
		newPayout(t, s, c, b, n, nil)
	}
	addDeliveries(t, s, org.ID, 3, func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }, nil)
	numbers := []int{4, 1000, 922337203685477581, math.MaxInt / 2, math.MaxInt - 1, math.MaxInt}
	for _, number := range numbers {
		for _, peek := range []bool{false, true} {
			page := offramp.Page{Number: number, Size: 2, Peek: peek}
			what := fmt.Sprintf("page %d (peek %v)", number, peek)
			view(t, s, func(tx offramp.ReadTx) error {
				ps, n, err := tx.ListPayouts(t.Context(), org.ID, offramp.PayoutFilter{}, page)
				if err != nil {
					return fmt.Errorf("%s: %w", what, err)
				}
				if len(ps) != 0 || n != 5 {
					t.Errorf("%s of payouts: %d rows, count %d; want none, 5", what, len(ps), n)
				}
				ps, n, err = tx.ListPayouts(t.Context(), org.ID, offramp.PayoutFilter{CustomerID: c.ID, Status: offramp.PayoutProcessing}, page)
				if err != nil {
					return fmt.Errorf("%s: %w", what, err)
				}
				if len(ps) != 0 || n != 5 {
					t.Errorf("%s of filtered payouts: %d rows, count %d; want none, 5", what, len(ps), n)
				}
				cs, n, err := tx.ListCustomers(t.Context(), org.ID, page)
				if err != nil {
					return fmt.Errorf("%s: %w", what, err)
				}
				if len(cs) != 0 || n != 1 {
					t.Errorf("%s of customers: %d rows, count %d; want none, 1", what, len(cs), n)
				}
				ds, n, err := tx.ListDeliveries(t.Context(), org.ID, offramp.DeliveryFilter{State: offramp.DeliveryPending}, page)
				if err != nil {
					return fmt.Errorf("%s: %w", what, err)
				}
				if len(ds) != 0 || n != 3 {
					t.Errorf("%s of deliveries: %d rows, count %d; want none, 3", what, len(ds), n)
				}
				bs, n, err := tx.ListBankAccounts(t.Context(), org.ID, c.ID, page)
				if err != nil {
					return fmt.Errorf("%s: %w", what, err)
				}
				if len(bs) != 0 || n != 1 {
					t.Errorf("%s of bank accounts: %d rows, count %d; want none, 1", what, len(bs), n)
				}
				return nil
			})
		}
	}
	// The last page, and Peek on it.
	ps, n := listPayouts(t, s, org.ID, offramp.PayoutFilter{}, offramp.Page{Number: 3, Size: 2, Peek: true})
	if len(ps) != 1 || n != 5 {
		t.Fatalf("last page: %d rows, count %d; want 1, 5", len(ps), n)
	}
	ps, _ = listPayouts(t, s, org.ID, offramp.PayoutFilter{}, offramp.Page{Number: 2, Size: 2, Peek: true})
	wantEqual(t, "page 2 of 3 with Peek", len(ps), 3)
	// Offset never overflows.
	for _, p := range []offramp.Page{{Number: math.MaxInt, Size: 100}, {Number: 922337203685477581, Size: 10}, {Number: math.MaxInt, Size: math.MaxInt}} {
		if off := p.Offset(); off <= 0 {
			t.Errorf("Offset of page %d of %d: %d", p.Number, p.Size, off)
		}
	}
	wantEqual(t, "Offset of page 3 of 10", offramp.Page{Number: 3, Size: 10}.Offset(), 20)
	wantEqual(t, "Offset of page 0", offramp.Page{Number: 0, Size: 10}.Offset(), 0)
}

// testCountCap: with countCap+3 payouts in one status, countCap in
// another and countCap-1 in a third, the filtered counts are countCap
// (the cap: a lower bound), countCap and countCap-1 (exact), the
// unfiltered count exact; the rows past the cap are listed all the same,
// by number and by cursor. Deliveries alike.
func testCountCap(t *testing.T, s offramp.Store, countCap int) {
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	c2, b2 := newPayee(t, s, org, 2)
	groups := []struct {
		st offramp.PayoutStatus
		n  int
	}{{offramp.PayoutSuccess, countCap + 3}, {offramp.PayoutFailed, countCap}, {offramp.PayoutInReview, countCap - 1}}
	n := 0
	for _, g := range groups {
		for range g.n {
			n++
			cc, bb := c, b
			if g.st == offramp.PayoutInReview {
				cc, bb = c2, b2
			}
			newPayout(t, s, cc, bb, n, func(p *offramp.Payout) { inStatus(p, g.st) })
		}
	}
	for _, g := range groups {
		_, got := listPayouts(t, s, org.ID, offramp.PayoutFilter{Status: g.st}, offramp.Page{Number: 1, Size: 1})
		wantEqual(t, fmt.Sprintf("count of %d %s payouts", g.n, g.st), got, min(g.n, countCap))
	}
	_, got := listPayouts(t, s, org.ID, offramp.PayoutFilter{}, offramp.Page{Number: 1, Size: 1})
	wantEqual(t, "unfiltered count", got, n)
	_, got = listPayouts(t, s, org.ID, offramp.PayoutFilter{CustomerID: c.ID}, offramp.Page{Number: 1, Size: 1})
	wantEqual(t, "count of the customer's", got, countCap)
	_, got = listPayouts(t, s, org.ID, offramp.PayoutFilter{CustomerID: c2.ID}, offramp.Page{Number: 1, Size: 1})
	wantEqual(t, "count of the other customer's", got, countCap-1)
	_, got = listPayouts(t, s, org.ID, offramp.PayoutFilter{From: t0}, offramp.Page{Number: 1, Size: 1})
	wantEqual(t, "count since t0", got, countCap)

	// Past the cap, a page by number still lists its rows: the count is a
	// lower bound, not the end.
	size := 2
	beyond := countCap/size + 1 // starts at or past the cap
	ps, total := listPayouts(t, s, org.ID, offramp.PayoutFilter{Status: offramp.PayoutSuccess}, offramp.Page{Number: beyond, Size: size})
	wantEqual(t, "count on a page past the cap", total, countCap)
	if want := min(size, countCap+3-(beyond-1)*size); len(ps) != want {
		t.Fatalf("page %d of %d: %d rows, want %d", beyond, size, len(ps), want)
	}
	var want []row
	for _, p := range func() []offramp.Payout {
		all, _ := listPayouts(t, s, org.ID, offramp.PayoutFilter{Status: offramp.PayoutSuccess}, offramp.Page{Number: 1, Size: 1000})
		return all
	}() {
		want = append(want, row{p.CreatedAt, p.ID})
	}
	wantEqual(t, "SUCCESS payouts listed", len(want), countCap+3)
	// The forward walk reads every row; wantWalks wants the count exact,
	// so walk here.
	var walked []row
	page := offramp.Page{Number: 1, Size: size, Peek: true}
	for {
		rows, total := readPage(t, s, payoutLister(t, org.ID, offramp.PayoutFilter{Status: offramp.PayoutSuccess}), page)
		wantEqual(t, "count while walking", total, countCap)
		more := len(rows) > size
		if more {
			rows = rows[:size]
		}
		walked = append(walked, rows...)
		if !more {
			break
		}
		last := rows[len(rows)-1]
		page = offramp.Page{Number: page.Number + 1, Size: size, Peek: true, Cursor: &offramp.PageCursor{CreatedAt: last.at, ID: last.id}}
	}
	wantEqual(t, "walk past the cap", walked, want)

	// Deliveries: a state over the cap.
	addDeliveries(t, s, org.ID, countCap+2, func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }, nil)
	view(t, s, func(tx offramp.ReadTx) error {
		ds, got, err := tx.ListDeliveries(t.Context(), org.ID, offramp.DeliveryFilter{State: offramp.DeliveryPending}, offramp.Page{Number: 1, Size: 1})
		if err != nil {
			return err
		}
		wantEqual(t, "pending deliveries count", got, countCap)
		wantEqual(t, "pending deliveries page", len(ds), 1)
		_, got, err = tx.ListDeliveries(t.Context(), org.ID, offramp.DeliveryFilter{}, offramp.Page{Number: 1, Size: 1})
		wantEqual(t, "deliveries count", got, countCap+2)
		return err
	})
}
