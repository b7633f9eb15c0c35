package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// payoutTests are the subtests of quotations, payouts, limits, EDD,
// idempotency and the ledger; Run runs them after the others.
var payoutTests = []struct {
	name string
	fn   func(t *testing.T, s offramp.Store)
}{
	{"QuotationRoundTrip", testQuotationRoundTrip},
	{"LinkQuotation", testLinkQuotation},
	{"ConcurrentLinkQuotation", testConcurrentLinkQuotation},
	{"DanglingReferences", testDanglingReferences},
	{"PayoutRoundTrip", testPayoutRoundTrip},
	{"PayoutConflicts", testPayoutConflicts},
	{"UpdatePayout", testUpdatePayout},
	{"ListPayouts", testListPayouts},
	{"PayoutsByExchangeOrder", testPayoutsByExchangeOrder},
	{"UnlinkedPayouts", testUnlinkedPayouts},
	{"DecimalExactness", testDecimalExactness},
	{"LimitUsage", testLimitUsage},
	{"EDD", testEDD},
	{"Idempotency", testIdempotency},
	{"Journals", testJournals},
	{"ForEachJournal", testForEachJournal},
	{"PayoutOrgScoping", testPayoutOrgScoping},
	{"PayoutRollback", testPayoutRollback},
}

// --- helpers ---

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var (
	decimalType = reflect.TypeFor[decimal.Decimal]()
	timeType    = reflect.TypeFor[time.Time]()
)

// wantSame is wantEqual for values holding decimals: amounts are compared
// with Decimal.Equal (a store may normalise the representation), all else
// as reflect.DeepEqual does, including nil versus empty slices and maps.
func wantSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff("", reflect.ValueOf(got), reflect.ValueOf(want)); d != "" {
		t.Fatalf("%s: differs at %s\n got  %+v\n want %+v", what, d, got, want)
	}
}

func diff(path string, a, b reflect.Value) string {
	if !a.IsValid() || !b.IsValid() {
		if a.IsValid() != b.IsValid() {
			return path + " (one is invalid)"
		}
		return ""
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: type %v != %v", path, a.Type(), b.Type())
	}
	switch a.Type() {
	case decimalType:
		da, db := a.Interface().(decimal.Decimal), b.Interface().(decimal.Decimal)
		if !da.Equal(db) {
			return fmt.Sprintf("%s: %s != %s", path, da, db)
		}
		return ""
	case timeType:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return fmt.Sprintf("%s: %v != %v", path, a.Interface(), b.Interface())
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if d := diff(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: nil %v != nil %v", path, a.IsNil(), b.IsNil())
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: length %d != %d", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := diff(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: nil %v != nil %v", path, a.IsNil(), b.IsNil())
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: length %d != %d", path, a.Len(), b.Len())
		}
		for _, k := range a.MapKeys() {
			if d := diff(fmt.Sprintf("%s[%v]", path, k), a.MapIndex(k), b.MapIndex(k)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": one pointer is nil"
			}
			return ""
		}
		return diff(path, a.Elem(), b.Elem())
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: %#v != %#v", path, a.Interface(), b.Interface())
	}
	return ""
}

// wantPlaces checks that an amount kept the digits after its point: the
// documented behaviour, which PostgreSQL's numeric shares.
func wantPlaces(t *testing.T, what string, got, want decimal.Decimal) {
	t.Helper()
	if !got.Equal(want) || (want.Exponent() <= 0 && got.Exponent() != want.Exponent()) {
		t.Fatalf("%s: got %s (exponent %d), want %s (exponent %d)", what, got, got.Exponent(), want, want.Exponent())
	}
}

// newPayee creates a customer with a bank account.
func newPayee(t *testing.T, s offramp.Store, org offramp.Org, n int) (offramp.Customer, offramp.BankAccount) {
	t.Helper()
	c := makeCustomer(org, n)
	c.Status = offramp.CustomerVerified
	b := makeBank(c, n)
	b.Status = offramp.BankVerified
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateCustomer(t.Context(), c); err != nil {
			return err
		}
		return tx.CreateBankAccount(t.Context(), b)
	})
	return c, b
}

func makeFees() offramp.Fees {
	return offramp.Fees{
		ClientFeeFiat:      dec("44.46"),
		ClientFeeCrypto:    dec("0.500000"),
		ClientGSTFiat:      dec("8.0028"),
		ClientGSTCrypto:    dec("0.090000"),
		PlatformFee:        dec("22.23"),
		PlatformGST:        dec("4.0014"),
		PGFee:              dec("11.115"),
		PGGST:              dec("2.0007"),
		TDS:                dec("44.46"),
		Rounding:           dec("0.000001"),
		GrossEffectiveRate: dec("82.892000"),
	}
}

func makeQuotation(c offramp.Customer, b offramp.BankAccount, n int) offramp.Quotation {
	created := t0.Add(time.Duration(n) * time.Second)
	return offramp.Quotation{
		ID:              uuid.New(),
		OrgID:           c.OrgID,
		CustomerID:      c.ID,
		BankID:          b.ID,
		Asset:           "USDT",
		Fiat:            "INR",
		PaymentMethod:   "IMPS",
		SendingAmount:   dec("50.000000"),
		Rate:            dec("88.92"),
		GrossFiat:       dec("4446.0000"),
		ReceivingAmount: dec("4144.60"),
		Fees:            makeFees(),
		Risk: offramp.RiskParameters{
			IPAddress:                  "203.0.113.77",
			DeviceID:                   fmt.Sprintf("device-%d", n),
			SuspiciousActivityReport:   n%2 == 0,
			LawEnforcementAgencyReport: true,
		},
		Status:    offramp.QuotationUnlinked,
		CreatedAt: created,
		ExpiresAt: created.Add(30 * time.Second),
	}
}

func makePayout(q offramp.Quotation, n int) offramp.Payout {
	created := t0.Add(time.Duration(n) * time.Second)
	return offramp.Payout{
		ID:                uuid.New(),
		OrgID:             q.OrgID,
		CustomerID:        q.CustomerID,
		BankID:            q.BankID,
		QuotationID:       q.ID,
		ClientReferenceID: fmt.Sprintf("payout-ref-%d", n),
		ExchangeOrderID:   fmt.Sprintf("order-%d", n),
		Asset:             q.Asset,
		Fiat:              q.Fiat,
		PaymentMethod:     q.PaymentMethod,
		SendingAmount:     q.SendingAmount,
		Rate:              q.Rate,
		GrossFiat:         q.GrossFiat,
		ReceivingAmount:   q.ReceivingAmount,
		Fees:              q.Fees,
		Status:            offramp.PayoutProcessing,
		Phase:             offramp.PhaseQueued,
		RailReference:     "OFR" + uuid.NewString(),
		LimitDay:          created.In(time.FixedZone("IST", 5*3600+1800)).Format(time.DateOnly),
		CreatedAt:         created,
		UpdatedAt:         created,
	}
}

// inStatus makes p a payout in wire status st that the schema accepts:
// the status's first phase in the state machine, and what the CHECKs of
// migration 00004 require with it (a UTR and a payment time for SUCCESS, a
// failure reason for FAILED and REFUNDED, a review reason for IN_REVIEW,
// none of them otherwise).
func inStatus(p *offramp.Payout, st offramp.PayoutStatus) {
	p.Status = st
	p.UTR, p.FailureReason, p.PaidAt, p.ReviewReason = "", "", time.Time{}, ""
	switch st {
	case offramp.PayoutProcessing:
		p.Phase = offramp.PhaseQueued
	case offramp.PayoutSuccess:
		p.Phase, p.UTR, p.PaidAt = offramp.PhasePaid, "UTR"+p.ID.String()[:8], p.CreatedAt.Add(time.Minute)
	case offramp.PayoutFailed:
		p.Phase, p.FailureReason = offramp.PhaseRejected, offramp.ReasonBeneficiaryBankRejected
	case offramp.PayoutRefunded:
		p.Phase, p.FailureReason = offramp.PhaseCryptoReturned, offramp.ReasonBeneficiaryBankRejected
	case offramp.PayoutInReview:
		p.Phase, p.ReviewReason = offramp.PhaseManualReview, offramp.ReviewOutcomeUnknown
	}
}

// createPayout writes a quotation and a payout of it, linked, the way the
// service does: all in one transaction.
func createPayout(t *testing.T, s offramp.Store, q offramp.Quotation, p offramp.Payout) (offramp.Quotation, offramp.Payout) {
	t.Helper()
	ctx := t.Context()
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateQuotation(ctx, q); err != nil {
			return err
		}
		if err := tx.CreatePayout(ctx, p); err != nil {
			return err
		}
		return tx.LinkQuotation(ctx, q.OrgID, q.ID, p.ID)
	})
	q.Status, q.PayoutID = offramp.QuotationLinked, p.ID
	return q, p
}

// newPayout creates payout number n (with its quotation) for c, adjusted by
// edit before it is written.
func newPayout(t *testing.T, s offramp.Store, c offramp.Customer, b offramp.BankAccount, n int, edit func(*offramp.Payout)) offramp.Payout {
	t.Helper()
	q := makeQuotation(c, b, n)
	p := makePayout(q, n)
	if edit != nil {
		edit(&p)
	}
	_, p = createPayout(t, s, q, p)
	return p
}

func getQuotation(t *testing.T, s offramp.Store, orgID, id uuid.UUID) (offramp.Quotation, error) {
	t.Helper()
	var q offramp.Quotation
	err := s.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		q, err = tx.Quotation(t.Context(), orgID, id)
		return err
	})
	return q, err
}

func getPayout(t *testing.T, s offramp.Store, orgID, id uuid.UUID) (offramp.Payout, error) {
	t.Helper()
	var p offramp.Payout
	err := s.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		p, err = tx.Payout(t.Context(), orgID, id)
		return err
	})
	return p, err
}

func listPayouts(t *testing.T, s offramp.Store, orgID uuid.UUID, f offramp.PayoutFilter, page offramp.Page) ([]offramp.Payout, int) {
	t.Helper()
	var ps []offramp.Payout
	var total int
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		ps, total, err = tx.ListPayouts(t.Context(), orgID, f, page)
		return err
	})
	return ps, total
}

func payoutIDs(ps []offramp.Payout) []uuid.UUID {
	ids := []uuid.UUID{}
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

func idsOf(ps ...offramp.Payout) []uuid.UUID { return payoutIDs(ps) }

// --- quotations ---

func testQuotationRoundTrip(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	q := makeQuotation(c, b, 1)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q) })
	got, err := getQuotation(t, s, org.ID, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "Quotation", got, q)
	wantEqual(t, "unlinked PayoutID", got.PayoutID, uuid.Nil)
	wantPlaces(t, "ReceivingAmount", got.ReceivingAmount, dec("4144.60"))
	wantPlaces(t, "Fees.Rounding", got.Fees.Rounding, dec("0.000001"))
	wantPlaces(t, "Fees.GrossEffectiveRate", got.Fees.GrossEffectiveRate, dec("82.892000"))

	// Zero amounts and risk parameters survive as zero.
	q2 := makeQuotation(c, b, 2)
	q2.Fees = offramp.Fees{PlatformFee: dec("1.5")}
	q2.Risk = offramp.RiskParameters{}
	q2.GrossFiat = decimal.Decimal{}
	update(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q2) })
	got, err = getQuotation(t, s, org.ID, q2.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "Quotation with zero fees", got, q2)
	if !got.Fees.TDS.IsZero() || !got.GrossFiat.IsZero() {
		t.Fatalf("zero amounts read back as %s and %s", got.Fees.TDS, got.GrossFiat)
	}

	_, err = getQuotation(t, s, org.ID, uuid.New())
	wantIs(t, "Quotation(unknown)", err, offramp.ErrNotFound)

	// A quotation needs the customer's own bank account.
	other, otherBank := newPayee(t, s, org, 3)
	bad := makeQuotation(c, otherBank, 4)
	if err := updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, bad) }); err == nil {
		t.Fatal("quotation with another customer's bank account was created")
	}
	bad = makeQuotation(other, otherBank, 5)
	bad.CustomerID = uuid.New()
	if err := updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, bad) }); err == nil {
		t.Fatal("quotation for a missing customer was created")
	}
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q) })
	if offramp.ErrorCode(err) != offramp.CodeConflict {
		t.Fatalf("duplicate quotation id: got %v, want a conflict", err)
	}
}

func testLinkQuotation(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	q := makeQuotation(c, b, 1)
	p := makePayout(q, 1)
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateQuotation(ctx, q); err != nil {
			return err
		}
		// Linking first and creating the payout after is fine too: the
		// reference is checked at commit.
		if err := tx.LinkQuotation(ctx, org.ID, q.ID, p.ID); err != nil {
			return err
		}
		got, err := tx.Quotation(ctx, org.ID, q.ID)
		if err != nil {
			return err
		}
		wantEqual(t, "status within the transaction", got.Status, offramp.QuotationLinked)
		return tx.CreatePayout(ctx, p)
	})
	got, err := getQuotation(t, s, org.ID, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	q.Status, q.PayoutID = offramp.QuotationLinked, p.ID
	wantSame(t, "linked quotation", got, q)

	// Single use: the second link loses, even to the same payout.
	p2 := makePayout(q, 2)
	p2.QuotationID = q.ID
	err = updateErr(t, s, func(tx offramp.Tx) error {
		if err := tx.CreatePayout(ctx, p2); err != nil {
			return err
		}
		return tx.LinkQuotation(ctx, org.ID, q.ID, p2.ID)
	})
	wantIs(t, "second LinkQuotation", err, offramp.ErrStale)
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.LinkQuotation(ctx, org.ID, q.ID, p.ID) })
	wantIs(t, "LinkQuotation again to the same payout", err, offramp.ErrStale)
	_, err = getPayout(t, s, org.ID, p2.ID)
	wantIs(t, "the losing payout was rolled back", err, offramp.ErrNotFound)
	got, err = getQuotation(t, s, org.ID, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "link kept after stale attempts", got.PayoutID, p.ID)

	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.LinkQuotation(ctx, org.ID, uuid.New(), p.ID) })
	wantIs(t, "LinkQuotation(unknown)", err, offramp.ErrNotFound)

	// A quotation recorded as EXPIRED cannot be linked.
	e := makeQuotation(c, b, 3)
	e.Status = offramp.QuotationExpired
	update(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, e) })
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.LinkQuotation(ctx, org.ID, e.ID, uuid.New()) })
	wantIs(t, "LinkQuotation(EXPIRED)", err, offramp.ErrStale)

	// Expiry by time is the service's check: the store links a quotation
	// whose ExpiresAt has passed if it is still UNLINKED.
	old := makeQuotation(c, b, 4)
	old.ExpiresAt = t0.Add(-time.Hour)
	op := makePayout(old, 4)
	_, _ = createPayout(t, s, old, op)
}

func testConcurrentLinkQuotation(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	q := makeQuotation(c, b, 1)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q) })

	const racers = 8
	start := make(chan struct{})
	errs := make([]error, racers)
	payouts := make([]offramp.Payout, racers)
	var wg sync.WaitGroup
	for i := range racers {
		payouts[i] = makePayout(q, 10+i)
		wg.Go(func() {
			<-start
			errs[i] = s.Update(ctx, func(tx offramp.Tx) error {
				if err := tx.CreatePayout(ctx, payouts[i]); err != nil {
					return err
				}
				return tx.LinkQuotation(ctx, org.ID, q.ID, payouts[i].ID)
			})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("LinkQuotation succeeded twice: racers %d and %d", winner, i)
			}
			winner = i
		case !errors.Is(err, offramp.ErrStale):
			t.Fatalf("racer %d: got %v, want nil or ErrStale", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no LinkQuotation succeeded")
	}
	got, err := getQuotation(t, s, org.ID, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "linked to the winner", got.PayoutID, payouts[winner].ID)
	ps, total := listPayouts(t, s, org.ID, offramp.PayoutFilter{}, offramp.Page{Number: 1, Size: 20})
	wantEqual(t, "payouts left", total, 1)
	wantEqual(t, "the winner's payout", payoutIDs(ps), idsOf(payouts[winner]))
}

// testDanglingReferences: references to a payout may be written before the
// payout in the same transaction, but a payout that never comes makes the
// commit fail; and the store stays usable.
func testDanglingReferences(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	q := makeQuotation(c, b, 1)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q) })
	ghost := uuid.New()
	for name, write := range map[string]func(tx offramp.Tx) error{
		"quotation linked to a missing payout": func(tx offramp.Tx) error {
			return tx.LinkQuotation(ctx, org.ID, q.ID, ghost)
		},
		"idempotency record of a missing payout": func(tx offramp.Tx) error {
			return tx.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: org.ID, Key: "k", RequestHash: "h", PayoutID: ghost})
		},
		"journal of a missing payout": func(tx offramp.Tx) error {
			return tx.AppendJournal(ctx, balancedJournal(org.ID, ghost, "payout_initiated", t0))
		},
	} {
		if err := updateErr(t, s, write); err == nil {
			t.Fatalf("%s: committed", name)
		}
	}
	got, err := getQuotation(t, s, org.ID, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "quotation after the failed link", got, q)
	view(t, s, func(tx offramp.ReadTx) error {
		_, err := tx.Idempotency(ctx, org.ID, "k")
		wantIs(t, "idempotency record after the failed commit", err, offramp.ErrNotFound)
		js, err := tx.PayoutJournals(ctx, org.ID, ghost)
		wantEqual(t, "journals after the failed commit", len(js), 0)
		return err
	})
	// The writer is free and clean: the real payout links.
	p := makePayout(q, 1)
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreatePayout(ctx, p); err != nil {
			return err
		}
		return tx.LinkQuotation(ctx, org.ID, q.ID, p.ID)
	})
}

// --- payouts ---

func testPayoutRoundTrip(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	q := makeQuotation(c, b, 1)
	p := makePayout(q, 1)
	inStatus(&p, offramp.PayoutSuccess)
	p.ExchangeTransferID = "tr-1"
	p.UTR = "UTR0001"
	p.Inquiries = 2
	p.Submissions = 3
	p.SubmittedAt = p.CreatedAt.Add(10 * time.Second)
	p.PaidAt = p.CreatedAt.Add(50 * time.Second)
	p.LastBankAnswer = "PAID utr=UTR0001"
	// A payout settled after a review keeps why it was in review.
	p.ReviewReason = offramp.ReviewSettlementOverdue
	p.UpdatedAt = p.CreatedAt.Add(time.Minute)
	createPayout(t, s, q, p)
	got, err := getPayout(t, s, org.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "Payout", got, p)
	wantPlaces(t, "ReceivingAmount", got.ReceivingAmount, dec("4144.60"))
	wantPlaces(t, "SendingAmount", got.SendingAmount, dec("50.000000"))

	view(t, s, func(tx offramp.ReadTx) error {
		id, err := tx.PayoutIDByClientReference(ctx, org.ID, p.ClientReferenceID)
		if err != nil {
			return err
		}
		wantEqual(t, "PayoutIDByClientReference", id, p.ID)
		_, err = tx.PayoutIDByClientReference(ctx, org.ID, "nope")
		wantIs(t, "PayoutIDByClientReference(unknown)", err, offramp.ErrNotFound)
		_, err = tx.PayoutIDByClientReference(ctx, org.ID, "")
		wantIs(t, "PayoutIDByClientReference(empty)", err, offramp.ErrNotFound)
		_, err = tx.PayoutIDByClientReference(ctx, org.ID, c.ClientReferenceID)
		wantIs(t, "PayoutIDByClientReference(a customer's reference)", err, offramp.ErrNotFound)
		_, err = tx.Payout(ctx, org.ID, uuid.New())
		wantIs(t, "Payout(unknown)", err, offramp.ErrNotFound)
		return nil
	})

	// A zero UpdatedAt is the creation time; zero CreatedAt comes from the
	// clock.
	q2 := makeQuotation(c, b, 2)
	p2 := makePayout(q2, 2)
	p2.CreatedAt, p2.UpdatedAt = time.Time{}, time.Time{}
	createPayout(t, s, q2, p2)
	got, err = getPayout(t, s, org.ID, p2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt != got.CreatedAt {
		t.Fatalf("filled times: created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}

	// A payout needs its quotation, customer and the customer's account.
	for name, edit := range map[string]func(*offramp.Payout){
		"missing quotation":       func(p *offramp.Payout) { p.QuotationID = uuid.New() },
		"missing customer":        func(p *offramp.Payout) { p.CustomerID = uuid.New() },
		"missing bank account":    func(p *offramp.Payout) { p.BankID = uuid.New() },
		"another customer's bank": func(p *offramp.Payout) { _, ob := newPayee(t, s, org, 9); p.BankID = ob.ID },
		"empty rail reference":    func(p *offramp.Payout) { p.RailReference = "" },
		"another organization":    func(p *offramp.Payout) { p.OrgID = newOrg(t, s).ID },
	} {
		bad := makePayout(q2, 3)
		edit(&bad)
		if err := updateErr(t, s, func(tx offramp.Tx) error { return tx.CreatePayout(ctx, bad) }); err == nil {
			t.Fatalf("payout with %s was created", name)
		}
	}
}

func testPayoutConflicts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	p := newPayout(t, s, c, b, 1, nil)

	q2 := makeQuotation(c, b, 2)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q2) })
	create := func(d offramp.Payout) error {
		return updateErr(t, s, func(tx offramp.Tx) error { return tx.CreatePayout(ctx, d) })
	}
	d := makePayout(q2, 2)
	d.ClientReferenceID = p.ClientReferenceID
	wantConflict(t, "duplicate client reference", create(d), "client_reference_id", offramp.MsgClientRefExists)

	d = makePayout(q2, 2)
	d.RailReference = p.RailReference
	if err := create(d); offramp.ErrorCode(err) != offramp.CodeConflict {
		t.Fatalf("duplicate rail reference: got %v, want a conflict", err)
	}

	// Empty client references do not collide; a customer's reference is
	// not a payout's.
	for i := 3; i <= 4; i++ {
		d := makePayout(q2, i)
		d.ClientReferenceID = ""
		if err := create(d); err != nil {
			t.Fatalf("payout %d without client reference: %v", i, err)
		}
	}
	d = makePayout(q2, 5)
	d.ClientReferenceID = c.ClientReferenceID
	if err := create(d); err != nil {
		t.Fatalf("payout reusing a customer's reference: %v", err)
	}

	// Client references are per organization; rail references are global.
	org2 := newOrg(t, s)
	c2, b2 := newPayee(t, s, org2, 1)
	newPayout(t, s, c2, b2, 1, func(x *offramp.Payout) { x.ClientReferenceID = p.ClientReferenceID })
	q3 := makeQuotation(c2, b2, 3)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateQuotation(ctx, q3) })
	d = makePayout(q3, 3)
	d.RailReference = p.RailReference
	if err := create(d); offramp.ErrorCode(err) != offramp.CodeConflict {
		t.Fatalf("rail reference reused by another organization: got %v, want a conflict", err)
	}
}

func testUpdatePayout(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	p := newPayout(t, s, c, b, 1, nil)
	orig := p

	upd := func(p offramp.Payout, from offramp.PayoutStatus, fromPhase offramp.PayoutPhase) error {
		return updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdatePayout(ctx, p, from, fromPhase) })
	}
	p.Phase = offramp.PhaseSubmitting
	p.UpdatedAt = t0.Add(time.Hour)
	if err := upd(p, offramp.PayoutProcessing, offramp.PhaseQueued); err != nil {
		t.Fatal(err)
	}
	got, err := getPayout(t, s, org.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "after UpdatePayout", got, p)

	// Every mutable field changes; the rest is not written.
	next := p
	next.Status = offramp.PayoutSuccess
	next.Phase = offramp.PhasePaid
	next.UTR = "UTR123456789"
	next.ExchangeTransferID = "transfer-9"
	next.Inquiries = 3
	next.Submissions = 2
	next.SubmittedAt = t0.Add(90 * time.Minute)
	next.PaidAt = t0.Add(2 * time.Hour)
	next.LastBankAnswer = "PAID"
	next.ReviewReason = offramp.ReviewOutcomeUnknown
	next.UpdatedAt = t0.Add(2 * time.Hour)
	sneaky := next
	sneaky.ReceivingAmount = dec("999999")
	sneaky.RailReference = "OTHER"
	sneaky.ClientReferenceID = "other-ref"
	sneaky.CreatedAt = t0.Add(24 * time.Hour)
	if err := upd(sneaky, offramp.PayoutProcessing, offramp.PhaseSubmitting); err != nil {
		t.Fatal(err)
	}
	got, err = getPayout(t, s, org.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "after full UpdatePayout", got, next)

	// Compare-and-set on status and on phase.
	stale := next
	stale.Status = offramp.PayoutFailed
	wantIs(t, "UpdatePayout from wrong status", upd(stale, offramp.PayoutProcessing, offramp.PhasePaid), offramp.ErrStale)
	wantIs(t, "UpdatePayout from wrong phase", upd(stale, offramp.PayoutSuccess, offramp.PhaseSubmitted), offramp.ErrStale)
	got, err = getPayout(t, s, org.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "after stale updates", got, next)

	// The bank reverses the credit: the reason is written, the UTR kept,
	// and zero times are written as zero.
	reversed := next
	reversed.Status, reversed.Phase = offramp.PayoutFailed, offramp.PhaseReversed
	reversed.FailureReason = offramp.ReasonReversedByBank
	reversed.SubmittedAt, reversed.PaidAt = time.Time{}, time.Time{}
	reversed.LastBankAnswer = "REVERSED"
	reversed.UpdatedAt = t0.Add(3 * time.Hour)
	if err := upd(reversed, offramp.PayoutSuccess, offramp.PhasePaid); err != nil {
		t.Fatal(err)
	}
	got, err = getPayout(t, s, org.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "after the reversal", got, reversed)

	missing := orig
	missing.ID = uuid.New()
	wantIs(t, "UpdatePayout(unknown)", upd(missing, offramp.PayoutProcessing, offramp.PhaseQueued), offramp.ErrNotFound)

	// Zero UpdatedAt comes from the clock.
	p3 := newPayout(t, s, c, b, 3, nil)
	p3.Phase = offramp.PhaseSubmitted
	p3.UpdatedAt = time.Time{}
	if err := upd(p3, offramp.PayoutProcessing, offramp.PhaseQueued); err != nil {
		t.Fatal(err)
	}
	got, err = getPayout(t, s, org.ID, p3.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UpdatedAt.IsZero() || got.UpdatedAt == p3.CreatedAt {
		t.Fatalf("UpdatedAt not filled from the clock: %v", got.UpdatedAt)
	}
}

func testListPayouts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	other := newOrg(t, s)
	c1, b1 := newPayee(t, s, org, 1)
	c2, b2 := newPayee(t, s, org, 2)
	oc, ob := newPayee(t, s, other, 1)
	statuses := []offramp.PayoutStatus{
		offramp.PayoutSuccess, offramp.PayoutFailed, offramp.PayoutSuccess,
		offramp.PayoutProcessing, offramp.PayoutSuccess, offramp.PayoutInReview,
	}
	var ps []offramp.Payout // ps[i] created at t0 + (i+1)s
	for i, st := range statuses {
		c, b := c1, b1
		if i%2 == 1 {
			c, b = c2, b2
		}
		ps = append(ps, newPayout(t, s, c, b, i+1, func(p *offramp.Payout) { inStatus(p, st) }))
	}
	newPayout(t, s, oc, ob, 1, nil)
	page := offramp.Page{Number: 1, Size: 50}

	got, total := listPayouts(t, s, org.ID, offramp.PayoutFilter{}, page)
	wantEqual(t, "total", total, 6)
	wantEqual(t, "newest first", payoutIDs(got), idsOf(ps[5], ps[4], ps[3], ps[2], ps[1], ps[0]))
	wantSame(t, "listed payout", got[0], ps[5])

	got, total = listPayouts(t, s, org.ID, offramp.PayoutFilter{}, offramp.Page{Number: 2, Size: 4})
	wantEqual(t, "page 2 total", total, 6)
	wantEqual(t, "page 2", payoutIDs(got), idsOf(ps[1], ps[0]))
	got, total = listPayouts(t, s, org.ID, offramp.PayoutFilter{}, offramp.Page{Number: 3, Size: 4})
	wantEqual(t, "past the end total", total, 6)
	wantEqual(t, "past the end", len(got), 0)

	for _, tc := range []struct {
		name string
		f    offramp.PayoutFilter
		want []offramp.Payout
	}{
		{"status", offramp.PayoutFilter{Status: offramp.PayoutSuccess}, []offramp.Payout{ps[4], ps[2], ps[0]}},
		{"status without match", offramp.PayoutFilter{Status: offramp.PayoutRefunded}, nil},
		{"customer", offramp.PayoutFilter{CustomerID: c2.ID}, []offramp.Payout{ps[5], ps[3], ps[1]}},
		{"unknown customer", offramp.PayoutFilter{CustomerID: uuid.New()}, nil},
		// From is inclusive, To exclusive.
		{"range", offramp.PayoutFilter{From: ps[1].CreatedAt, To: ps[4].CreatedAt}, []offramp.Payout{ps[3], ps[2], ps[1]}},
		{"from only", offramp.PayoutFilter{From: ps[4].CreatedAt}, []offramp.Payout{ps[5], ps[4]}},
		{"to only", offramp.PayoutFilter{To: ps[1].CreatedAt}, []offramp.Payout{ps[0]}},
		// Bounds finer than a microsecond are exact too.
		{"from just after", offramp.PayoutFilter{From: ps[4].CreatedAt.Add(time.Nanosecond)}, []offramp.Payout{ps[5]}},
		{"to just after", offramp.PayoutFilter{To: ps[1].CreatedAt.Add(time.Nanosecond)}, []offramp.Payout{ps[1], ps[0]}},
		{"bounds in another zone", offramp.PayoutFilter{
			From: ps[1].CreatedAt.In(time.FixedZone("IST", 5*3600+1800)),
			To:   ps[2].CreatedAt.In(time.FixedZone("PST", -8*3600)),
		}, []offramp.Payout{ps[1]}},
		{"empty range", offramp.PayoutFilter{From: ps[2].CreatedAt, To: ps[2].CreatedAt}, nil},
		{"all filters", offramp.PayoutFilter{Status: offramp.PayoutSuccess, CustomerID: c1.ID, From: ps[1].CreatedAt, To: ps[5].CreatedAt}, []offramp.Payout{ps[4], ps[2]}},
	} {
		got, total := listPayouts(t, s, org.ID, tc.f, page)
		wantEqual(t, tc.name+": total", total, len(tc.want))
		wantEqual(t, tc.name, payoutIDs(got), payoutIDs(tc.want))
	}
	// The filtered total counts past the page.
	got, total = listPayouts(t, s, org.ID, offramp.PayoutFilter{Status: offramp.PayoutSuccess}, offramp.Page{Number: 1, Size: 1})
	wantEqual(t, "filtered total with a small page", total, 3)
	wantEqual(t, "filtered first page", payoutIDs(got), idsOf(ps[4]))

	// Equal times: id descending.
	same := []offramp.Payout{
		newPayout(t, s, c1, b1, 100, nil),
		newPayout(t, s, c1, b1, 100, func(p *offramp.Payout) { p.ClientReferenceID, p.ExchangeOrderID = "x", "order-x" }),
	}
	got, _ = listPayouts(t, s, org.ID, offramp.PayoutFilter{From: same[0].CreatedAt}, page)
	if len(got) != 2 || got[0].ID.String() < got[1].ID.String() {
		t.Fatalf("equal times not ordered by id descending: %v", payoutIDs(got))
	}

	err := s.View(ctx, func(tx offramp.ReadTx) error {
		_, _, err := tx.ListPayouts(ctx, org.ID, offramp.PayoutFilter{}, offramp.Page{Number: 1, Size: 0})
		return err
	})
	if offramp.ErrorCode(err) != offramp.CodeInvalid {
		t.Fatalf("page size 0: got %v, want CodeInvalid", err)
	}
	got, total = listPayouts(t, s, other.ID, offramp.PayoutFilter{CustomerID: c1.ID}, page)
	wantEqual(t, "other org with this org's customer", total, 0)
	wantEqual(t, "other org with this org's customer", len(got), 0)
}

func testPayoutsByExchangeOrder(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	first := newPayout(t, s, c, b, 1, func(p *offramp.Payout) {
		p.ExchangeOrderID = "order-A"
		inStatus(p, offramp.PayoutFailed)
	})
	retry := newPayout(t, s, c, b, 2, func(p *offramp.Payout) { p.ExchangeOrderID = "order-A" })
	newPayout(t, s, c, b, 3, func(p *offramp.Payout) { p.ExchangeOrderID = "order-B" })
	newPayout(t, s, c, b, 4, func(p *offramp.Payout) { p.ExchangeOrderID = "" })
	newPayout(t, s, c, b, 5, func(p *offramp.Payout) { p.ExchangeOrderID = "" })
	view(t, s, func(tx offramp.ReadTx) error {
		got, err := tx.PayoutsByExchangeOrder(ctx, org.ID, "order-A")
		if err != nil {
			return err
		}
		wantEqual(t, "newest first", payoutIDs(got), idsOf(retry, first))
		wantSame(t, "listed payout", got[1], first)
		got, err = tx.PayoutsByExchangeOrder(ctx, org.ID, "order-Z")
		if err != nil {
			return err
		}
		wantEqual(t, "unknown order", len(got), 0)
		got, err = tx.PayoutsByExchangeOrder(ctx, org.ID, "")
		if err != nil {
			return err
		}
		wantEqual(t, "empty order id", len(got), 0)
		return nil
	})
}

func testUnlinkedPayouts(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	orgA, orgB := newOrg(t, s), newOrg(t, s)
	ca, ba := newPayee(t, s, orgA, 1)
	cb, bb := newPayee(t, s, orgB, 1)
	view(t, s, func(tx offramp.ReadTx) error {
		got, err := tx.UnlinkedPayouts(ctx)
		wantEqual(t, "UnlinkedPayouts on an empty store", len(got), 0)
		return err
	})
	a1 := newPayout(t, s, ca, ba, 1, nil)
	newPayout(t, s, ca, ba, 2, func(p *offramp.Payout) { p.ExchangeTransferID = "tr-2" })
	newPayout(t, s, ca, ba, 3, func(p *offramp.Payout) { inStatus(p, offramp.PayoutFailed) })
	newPayout(t, s, ca, ba, 4, func(p *offramp.Payout) { inStatus(p, offramp.PayoutRefunded) })
	a5 := newPayout(t, s, ca, ba, 5, func(p *offramp.Payout) { inStatus(p, offramp.PayoutSuccess) })
	b6 := newPayout(t, s, cb, bb, 6, func(p *offramp.Payout) { inStatus(p, offramp.PayoutInReview) })
	b7 := newPayout(t, s, cb, bb, 7, nil)
	var got []offramp.Payout
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		got, err = tx.UnlinkedPayouts(ctx)
		return err
	})
	wantEqual(t, "UnlinkedPayouts across orgs, newest first", payoutIDs(got), idsOf(b7, b6, a5, a1))
	wantSame(t, "unlinked payout", got[3], a1)

	// Linking the transfer takes it off the list.
	linked := b7
	linked.ExchangeTransferID = "tr-7"
	update(t, s, func(tx offramp.Tx) error { return tx.UpdatePayout(ctx, linked, b7.Status, b7.Phase) })
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		got, err = tx.UnlinkedPayouts(ctx)
		return err
	})
	wantEqual(t, "UnlinkedPayouts after linking", payoutIDs(got), idsOf(b6, a5, a1))
}

// testDecimalExactness: amounts come back Equal to what was written, with
// their decimal places, through every decimal column.
func testDecimalExactness(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	values := []string{
		"0.000001", "12345678901.23", "4144.60", "0", "0.00", "1", "-0.5",
		"100000000000000000000.000000000000000001",
		"0.1", "0.2", "0.3", // 0.1 + 0.2 != 0.3 in floating point
		"88.123456789012345678",
	}
	for i, v := range values {
		d := dec(v)
		if d.IsNegative() {
			continue // not an amount a payout carries; see the postings below
		}
		q := makeQuotation(c, b, i+1)
		q.SendingAmount, q.Rate, q.GrossFiat, q.ReceivingAmount = d, d, d, d
		q.Fees.TDS, q.Fees.Rounding = d, d
		p := makePayout(q, i+1)
		createPayout(t, s, q, p)
		gq, err := getQuotation(t, s, org.ID, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		gp, err := getPayout(t, s, org.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]decimal.Decimal{
			"quotation sending": gq.SendingAmount, "quotation rate": gq.Rate, "quotation gross": gq.GrossFiat,
			"quotation receiving": gq.ReceivingAmount, "quotation TDS": gq.Fees.TDS, "quotation rounding": gq.Fees.Rounding,
			"payout sending": gp.SendingAmount, "payout rate": gp.Rate, "payout gross": gp.GrossFiat,
			"payout receiving": gp.ReceivingAmount, "payout TDS": gp.Fees.TDS, "payout rounding": gp.Fees.Rounding,
		} {
			wantPlaces(t, name+" "+v, got, d)
		}
	}
	// Exponent notation and positive exponents read back Equal.
	for _, d := range []decimal.Decimal{dec("1e3"), dec("1.5E-7"), decimal.New(15, 2), decimal.New(-7, -9)} {
		var postings []offramp.Posting
		postings = append(postings, offramp.Posting{Account: offramp.AccountBankFloat, Currency: "INR", Amount: d})
		postings = append(postings, offramp.Posting{Account: offramp.AccountCustomerPayable, Currency: "INR", Amount: d.Neg()})
		p := newPayout(t, s, c, b, 100+len(values), func(p *offramp.Payout) { p.ClientReferenceID, p.ExchangeOrderID = "", "" })
		j := offramp.Journal{ID: uuid.New(), OrgID: org.ID, PayoutID: p.ID, Kind: "payout_paid", Postings: postings, CreatedAt: t0}
		update(t, s, func(tx offramp.Tx) error { return tx.AppendJournal(ctx, j) })
		view(t, s, func(tx offramp.ReadTx) error {
			js, err := tx.PayoutJournals(ctx, org.ID, p.ID)
			if err != nil {
				return err
			}
			wantSame(t, "journal with "+d.String(), js, []offramp.Journal{j})
			return nil
		})
	}
	// The sum of stored parts is exact.
	sum := decimal.Zero
	for _, v := range []string{"0.1", "0.2"} {
		sum = sum.Add(dec(v))
	}
	update(t, s, func(tx offramp.Tx) error {
		for _, v := range []string{"0.1", "0.2"} {
			if err := tx.AddLimitUsage(ctx, org.ID, c.ID, "2025-03-14", dec(v)); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx offramp.ReadTx) error {
		got, err := tx.LimitUsage(ctx, org.ID, c.ID, "2025-03-14")
		if err == nil && !got.Equal(dec("0.3")) {
			t.Fatalf("0.1 + 0.2 stored as %s", got)
		}
		return err
	})
}

// --- limits ---

func testLimitUsage(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, _ := newPayee(t, s, org, 1)
	c2, _ := newPayee(t, s, org, 2)
	const day, nextDay = "2025-03-14", "2025-03-15"
	usage := func(orgID, customerID uuid.UUID, day string) decimal.Decimal {
		t.Helper()
		var d decimal.Decimal
		view(t, s, func(tx offramp.ReadTx) error {
			var err error
			d, err = tx.LimitUsage(ctx, orgID, customerID, day)
			return err
		})
		return d
	}
	add := func(customerID uuid.UUID, day, delta string) error {
		return updateErr(t, s, func(tx offramp.Tx) error { return tx.AddLimitUsage(ctx, org.ID, customerID, day, dec(delta)) })
	}
	if got := usage(org.ID, c.ID, day); !got.IsZero() {
		t.Fatalf("usage with no row: %s", got)
	}
	for _, delta := range []string{"4144.60", "12345678901.23", "0.000001"} {
		if err := add(c.ID, day, delta); err != nil {
			t.Fatal(err)
		}
	}
	want := dec("12345683045.830001")
	wantPlaces(t, "usage after adds", usage(org.ID, c.ID, day), want)
	if got := usage(org.ID, c.ID, nextDay); !got.IsZero() {
		t.Fatalf("next day's usage: %s", got)
	}
	if got := usage(org.ID, c2.ID, day); !got.IsZero() {
		t.Fatalf("another customer's usage: %s", got)
	}

	// Giving back (a failed payout).
	if err := add(c.ID, day, "-12345678901.23"); err != nil {
		t.Fatal(err)
	}
	wantPlaces(t, "usage after give back", usage(org.ID, c.ID, day), dec("4144.600001"))

	// Below zero is a bug and is refused, leaving the counter alone.
	if err := add(c.ID, day, "-4144.600002"); err == nil {
		t.Fatal("usage below zero accepted")
	}
	if err := add(c2.ID, day, "-1"); err == nil {
		t.Fatal("negative usage of an unused day accepted")
	}
	wantPlaces(t, "usage after refused give back", usage(org.ID, c.ID, day), dec("4144.600001"))
	if got := usage(org.ID, c2.ID, day); !got.IsZero() {
		t.Fatalf("refused give back wrote %s", got)
	}
	// Exactly to zero is fine.
	if err := add(c.ID, day, "-4144.600001"); err != nil {
		t.Fatal(err)
	}
	if got := usage(org.ID, c.ID, day); !got.IsZero() {
		t.Fatalf("usage after giving back everything: %s", got)
	}

	// Several adds in one transaction see each other.
	update(t, s, func(tx offramp.Tx) error {
		for range 3 {
			if err := tx.AddLimitUsage(ctx, org.ID, c2.ID, nextDay, dec("0.10")); err != nil {
				return err
			}
		}
		got, err := tx.LimitUsage(ctx, org.ID, c2.ID, nextDay)
		if err == nil && !got.Equal(dec("0.3")) {
			t.Errorf("usage within the transaction: %s", got)
		}
		return err
	})

	// Org scoping: another organization sees nothing and cannot add to
	// this organization's customer.
	orgB := newOrg(t, s)
	if got := usage(orgB.ID, c2.ID, nextDay); !got.IsZero() {
		t.Fatalf("org B reads org A's usage: %s", got)
	}
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.AddLimitUsage(ctx, orgB.ID, c2.ID, nextDay, dec("1")) })
	if err == nil {
		t.Fatal("org B added to org A's customer's usage")
	}
	wantPlaces(t, "org A's usage untouched", usage(org.ID, c2.ID, nextDay), dec("0.30"))

	// A malformed day is an error, not an unused day.
	for _, bad := range []string{"", "14-03-2025", "2025-3-14", "2025-03-14T00:00:00Z"} {
		err := s.View(ctx, func(tx offramp.ReadTx) error { _, err := tx.LimitUsage(ctx, org.ID, c.ID, bad); return err })
		if err == nil {
			t.Fatalf("LimitUsage(day %q) succeeded", bad)
		}
		if err := add(c.ID, bad, "1"); err == nil {
			t.Fatalf("AddLimitUsage(day %q) succeeded", bad)
		}
	}
}

// --- EDD ---

func makeEDD(c offramp.Customer, n int) offramp.EDD {
	at := t0.Add(time.Duration(n) * time.Second)
	return offramp.EDD{
		ID:                     uuid.New(),
		OrgID:                  c.OrgID,
		CustomerID:             c.ID,
		Status:                 offramp.EDDProcessing,
		SourceOfIncome:         "Salary from employment",
		BankStatementURLs:      []string{"https://docs.example/bs-1.pdf?sig=abc", "https://docs.example/bs-2.pdf"},
		BankStatementPasswords: []string{"hunter2", ""},
		ITRReportURLs:          []string{"https://docs.example/itr.pdf"},
		ITRReportPasswords:     []string{"PAN1234"},
		Declaration:            true,
		CreatedAt:              at,
		UpdatedAt:              at,
	}
}

func testEDD(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, _ := newPayee(t, s, org, 1)
	c2, _ := newPayee(t, s, org, 2)
	getEDD := func(orgID, id uuid.UUID) (offramp.EDD, error) {
		var e offramp.EDD
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			e, err = tx.EDD(ctx, orgID, id)
			return err
		})
		return e, err
	}
	latest := func(orgID, customerID uuid.UUID) (offramp.EDD, error) {
		var e offramp.EDD
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			e, err = tx.LatestEDD(ctx, orgID, customerID)
			return err
		})
		return e, err
	}
	_, err := latest(org.ID, c.ID)
	wantIs(t, "LatestEDD without any", err, offramp.ErrNotFound)

	e1 := makeEDD(c, 1)
	e1.Status = offramp.EDDFailed
	e1.FailureReason = "statement unreadable"
	e3 := makeEDD(c, 3)
	e3.ITRReportURLs, e3.ITRReportPasswords = nil, []string{}
	e2 := makeEDD(c, 2) // written last, but not the newest
	other := makeEDD(c2, 9)
	update(t, s, func(tx offramp.Tx) error {
		for _, e := range []offramp.EDD{e1, e3, e2, other} {
			if err := tx.CreateEDD(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := getEDD(org.ID, e1.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "EDD", got, e1)
	got, err = latest(org.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	e3.ITRReportPasswords = nil // empty lists read back as nil
	wantEqual(t, "LatestEDD", got, e3)
	got, err = latest(org.ID, c2.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "LatestEDD of another customer", got, other)
	_, err = getEDD(org.ID, uuid.New())
	wantIs(t, "EDD(unknown)", err, offramp.ErrNotFound)

	// UpdateEDD: compare-and-set on status; only status, reason and
	// updated_at are written.
	v := e3
	v.Status = offramp.EDDVerified
	v.UpdatedAt = t0.Add(time.Hour)
	sneaky := v
	sneaky.SourceOfIncome = "changed"
	sneaky.BankStatementURLs = nil
	update(t, s, func(tx offramp.Tx) error { return tx.UpdateEDD(ctx, sneaky, offramp.EDDProcessing) })
	got, err = getEDD(org.ID, e3.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "after UpdateEDD", got, v)
	stale := v
	stale.Status = offramp.EDDFailed
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdateEDD(ctx, stale, offramp.EDDProcessing) })
	wantIs(t, "UpdateEDD from wrong status", err, offramp.ErrStale)
	got, err = getEDD(org.ID, e3.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "after stale UpdateEDD", got, v)
	missing := makeEDD(c, 5)
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdateEDD(ctx, missing, offramp.EDDProcessing) })
	wantIs(t, "UpdateEDD(unknown)", err, offramp.ErrNotFound)

	// Zero times come from the clock.
	z := makeEDD(c2, 10)
	z.CreatedAt, z.UpdatedAt = time.Time{}, time.Time{}
	update(t, s, func(tx offramp.Tx) error { return tx.CreateEDD(ctx, z) })
	got, err = getEDD(org.ID, z.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt != got.CreatedAt {
		t.Fatalf("filled EDD times: %v %v", got.CreatedAt, got.UpdatedAt)
	}

	// An EDD needs an existing customer of its organization.
	orphan := makeEDD(makeCustomer(org, 99), 1)
	if err := updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateEDD(ctx, orphan) }); err == nil {
		t.Fatal("EDD of a missing customer was created")
	}
}

// --- idempotency ---

func testIdempotency(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	p := newPayout(t, s, c, b, 1, nil)
	ok := offramp.IdempotencyRecord{OrgID: org.ID, Key: "idem-1", RequestHash: "sha256:aaaa", PayoutID: p.ID, CreatedAt: t0}
	refused := offramp.IdempotencyRecord{
		OrgID: org.ID, Key: "idem-2", RequestHash: "sha256:bbbb",
		ErrCode: offramp.CodeInvalid, ErrMessage: "Bad Request",
		ErrFields: map[string][]string{"amount": {"A valid number is required."}, "asset": {"x", "y"}},
		CreatedAt: t0.Add(time.Second),
	}
	emptyFields := offramp.IdempotencyRecord{OrgID: org.ID, Key: "idem-3", RequestHash: "h", ErrCode: offramp.CodeRejected,
		ErrMessage: offramp.MsgLimitExceeded, ErrFields: map[string][]string{}, CreatedAt: t0}
	update(t, s, func(tx offramp.Tx) error {
		for _, r := range []offramp.IdempotencyRecord{ok, refused, emptyFields} {
			if err := tx.PutIdempotency(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	get := func(orgID uuid.UUID, key string) (offramp.IdempotencyRecord, error) {
		var r offramp.IdempotencyRecord
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			r, err = tx.Idempotency(ctx, orgID, key)
			return err
		})
		return r, err
	}
	emptyFields.ErrFields = nil // an empty map reads back as nil
	for _, want := range []offramp.IdempotencyRecord{ok, refused, emptyFields} {
		got, err := get(org.ID, want.Key)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "Idempotency("+want.Key+")", got, want)
	}

	// The first record wins.
	dup := refused
	dup.Key = ok.Key
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.PutIdempotency(ctx, dup) })
	wantIs(t, "duplicate PutIdempotency", err, offramp.ErrStale)
	got, err := get(org.ID, ok.Key)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "record after a duplicate", got, ok)

	_, err = get(org.ID, "idem-unknown")
	wantIs(t, "Idempotency(unknown)", err, offramp.ErrNotFound)
	_, err = get(org.ID, "")
	wantIs(t, "Idempotency(empty key)", err, offramp.ErrNotFound)
	if err := updateErr(t, s, func(tx offramp.Tx) error {
		return tx.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: org.ID, RequestHash: "h"})
	}); err == nil {
		t.Fatal("PutIdempotency with an empty key succeeded")
	}

	// Keys are per organization.
	orgB := newOrg(t, s)
	_, err = get(orgB.ID, ok.Key)
	wantIs(t, "org B reads org A's key", err, offramp.ErrNotFound)
	mine := offramp.IdempotencyRecord{OrgID: orgB.ID, Key: ok.Key, RequestHash: "sha256:cccc", CreatedAt: t0}
	update(t, s, func(tx offramp.Tx) error { return tx.PutIdempotency(ctx, mine) })
	got, err = get(orgB.ID, ok.Key)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "org B's own record under the same key", got, mine)
	// An organization's record cannot point at another's payout.
	err = updateErr(t, s, func(tx offramp.Tx) error {
		return tx.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: orgB.ID, Key: "cross", RequestHash: "h", PayoutID: p.ID})
	})
	if err == nil {
		t.Fatal("org B's idempotency record of org A's payout was stored")
	}

	// Zero CreatedAt comes from the clock.
	update(t, s, func(tx offramp.Tx) error {
		return tx.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: org.ID, Key: "idem-now", RequestHash: "h"})
	})
	got, err = get(org.ID, "idem-now")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() {
		t.Fatal("CreatedAt not filled")
	}
}

// --- ledger ---

// balancedJournal moves a payout's amounts in two currencies.
func balancedJournal(orgID, payoutID uuid.UUID, kind string, at time.Time) offramp.Journal {
	return offramp.Journal{
		ID:       uuid.New(),
		OrgID:    orgID,
		PayoutID: payoutID,
		Kind:     kind,
		Postings: []offramp.Posting{
			{Account: offramp.AccountExchangeReceivable, Currency: "USDT", Amount: dec("50.000000")},
			{Account: offramp.AccountFXConversion, Currency: "USDT", Amount: dec("-50.000000")},
			{Account: offramp.AccountFXConversion, Currency: "INR", Amount: dec("4446.00")},
			{Account: offramp.AccountCustomerPayable, Currency: "INR", Amount: dec("-4144.60")},
			{Account: offramp.AccountPlatformFees, Currency: "INR", Amount: dec("-22.23")},
			{Account: offramp.AccountGSTPayable, Currency: "INR", Amount: dec("-4.001400")},
			{Account: offramp.AccountTDSPayable, Currency: "INR", Amount: dec("-44.46")},
			{Account: offramp.AccountClientFees, Currency: "INR", Amount: dec("-230.708599")},
			{Account: offramp.AccountRounding, Currency: "INR", Amount: dec("-0.000001")},
		},
		CreatedAt: at,
	}
}

func payoutJournals(t *testing.T, s offramp.Store, orgID, payoutID uuid.UUID) []offramp.Journal {
	t.Helper()
	var js []offramp.Journal
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		js, err = tx.PayoutJournals(t.Context(), orgID, payoutID)
		return err
	})
	return js
}

func testJournals(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	p := newPayout(t, s, c, b, 1, nil)
	p2 := newPayout(t, s, c, b, 2, nil)
	if !balancedJournal(org.ID, p.ID, "x", t0).Balanced() {
		t.Fatal("fixture journal is not balanced")
	}

	j1 := balancedJournal(org.ID, p.ID, "payout_initiated", t0.Add(time.Second))
	paid := offramp.Journal{ID: uuid.New(), OrgID: org.ID, PayoutID: p.ID, Kind: "payout_paid", CreatedAt: t0.Add(2 * time.Second),
		Postings: []offramp.Posting{
			{Account: offramp.AccountCustomerPayable, Currency: "INR", Amount: dec("4144.60")},
			{Account: offramp.AccountBankFloat, Currency: "INR", Amount: dec("-4144.60")},
		}}
	// Appended out of time order: read back in time order.
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.AppendJournal(ctx, paid); err != nil {
			return err
		}
		if err := tx.AppendJournal(ctx, j1); err != nil {
			return err
		}
		return tx.AppendJournal(ctx, balancedJournal(org.ID, p2.ID, "payout_initiated", t0))
	})
	got := payoutJournals(t, s, org.ID, p.ID)
	wantSame(t, "PayoutJournals", got, []offramp.Journal{j1, paid})
	wantPlaces(t, "posting amount", got[0].Postings[3].Amount, dec("-4144.60"))

	// Refused: unbalanced in one currency, balanced only across
	// currencies, and without postings. Nothing is stored.
	short := balancedJournal(org.ID, p.ID, "payout_failed", t0.Add(3*time.Second))
	short.Postings[len(short.Postings)-1].Amount = dec("-0.000002")
	cross := offramp.Journal{ID: uuid.New(), OrgID: org.ID, PayoutID: p.ID, Kind: "payout_failed", CreatedAt: t0.Add(3 * time.Second),
		Postings: []offramp.Posting{
			{Account: offramp.AccountCryptoWallet, Currency: "USDT", Amount: dec("1")},
			{Account: offramp.AccountBankFloat, Currency: "INR", Amount: dec("-1")},
		}}
	empty := offramp.Journal{ID: uuid.New(), OrgID: org.ID, PayoutID: p.ID, Kind: "payout_failed", CreatedAt: t0.Add(3 * time.Second)}
	for name, j := range map[string]offramp.Journal{"unbalanced": short, "balanced across currencies": cross, "empty": empty} {
		var refusal error
		err := updateErr(t, s, func(tx offramp.Tx) error {
			refusal = tx.AppendJournal(ctx, j)
			return nil // commit whatever the call did
		})
		if err != nil {
			t.Fatal(err)
		}
		if refusal == nil {
			t.Fatalf("%s journal accepted", name)
		}
	}
	wantSame(t, "PayoutJournals after refusals", payoutJournals(t, s, org.ID, p.ID), []offramp.Journal{j1, paid})

	// Zero ID and CreatedAt are filled; equal times keep append order.
	var same []offramp.Journal
	for i := range 5 {
		j := balancedJournal(org.ID, p2.ID, fmt.Sprintf("kind-%d", i), t0.Add(time.Hour))
		same = append(same, j)
	}
	zero := balancedJournal(org.ID, p2.ID, "zero", time.Time{})
	zero.ID = uuid.Nil
	update(t, s, func(tx offramp.Tx) error {
		for _, j := range same {
			if err := tx.AppendJournal(ctx, j); err != nil {
				return err
			}
		}
		return tx.AppendJournal(ctx, zero)
	})
	got = payoutJournals(t, s, org.ID, p2.ID)
	if len(got) != 7 {
		t.Fatalf("PayoutJournals(p2): %d journals, want 7", len(got))
	}
	wantSame(t, "equal times in append order", got[1:6], same)
	var z offramp.Journal
	for _, j := range got {
		if j.Kind == "zero" {
			z = j
		}
	}
	if z.ID == uuid.Nil || z.CreatedAt.IsZero() {
		t.Fatalf("zero ID or CreatedAt not filled: %+v", z)
	}
	zero.ID, zero.CreatedAt = z.ID, z.CreatedAt
	wantSame(t, "journal with filled ID", z, zero)

	// A journal of no payout.
	float := offramp.Journal{ID: uuid.New(), OrgID: org.ID, Kind: "float_topup", CreatedAt: t0,
		Postings: []offramp.Posting{
			{Account: offramp.AccountBankFloat, Currency: "INR", Amount: dec("100000")},
			{Account: offramp.AccountCustomerPayable, Currency: "INR", Amount: dec("-100000")},
		}}
	update(t, s, func(tx offramp.Tx) error { return tx.AppendJournal(ctx, float) })
	var walked *offramp.Journal
	view(t, s, func(tx offramp.ReadTx) error {
		return tx.ForEachJournal(ctx, func(j offramp.Journal) error {
			if j.ID == float.ID {
				walked = &j
			}
			return nil
		})
	})
	if walked == nil {
		t.Fatal("journal without payout not walked")
	}
	wantSame(t, "journal without payout", *walked, float)
	wantEqual(t, "PayoutJournals(unknown payout)", len(payoutJournals(t, s, org.ID, uuid.New())), 0)
	wantEqual(t, "PayoutJournals(nil payout)", len(payoutJournals(t, s, org.ID, uuid.Nil)), 0)
}

func testForEachJournal(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	walk := func() []offramp.Journal {
		t.Helper()
		var js []offramp.Journal
		view(t, s, func(tx offramp.ReadTx) error {
			return tx.ForEachJournal(ctx, func(j offramp.Journal) error { js = append(js, j); return nil })
		})
		return js
	}
	wantEqual(t, "ForEachJournal on an empty ledger", len(walk()), 0)

	orgA, orgB := newOrg(t, s), newOrg(t, s)
	ca, ba := newPayee(t, s, orgA, 1)
	cb, bb := newPayee(t, s, orgB, 1)
	pa := newPayout(t, s, ca, ba, 1, nil)
	pb := newPayout(t, s, cb, bb, 2, nil)

	// Many journals, interleaving organizations, with equal times and times
	// out of append order; more than fit in any sensible batch.
	const n = 700
	var want []offramp.Journal
	update(t, s, func(tx offramp.Tx) error {
		for i := range n {
			org, p := orgA.ID, pa.ID
			if i%3 == 0 {
				org, p = orgB.ID, pb.ID
			}
			// Times go 0, 0, 1, 1, ... seconds, except every 7th one is
			// dated an hour earlier.
			at := t0.Add(time.Duration(i/2) * time.Second)
			if i%7 == 0 {
				at = t0.Add(-time.Hour + time.Duration(i/100)*time.Second)
			}
			j := balancedJournal(org, p, fmt.Sprintf("j%d", i), at)
			if err := tx.AppendJournal(ctx, j); err != nil {
				return err
			}
			want = append(want, j)
		}
		return nil
	})
	// Expected: by time, ties in append order (a stable sort).
	slices.SortStableFunc(want, func(a, b offramp.Journal) int { return a.CreatedAt.Compare(b.CreatedAt) })
	got := walk()
	wantEqual(t, "journals walked", len(got), n)
	for i := range got {
		if got[i].ID != want[i].ID {
			t.Fatalf("journal %d: got %s (%s %v), want %s (%s %v)", i, got[i].Kind, got[i].ID, got[i].CreatedAt, want[i].Kind, want[i].ID, want[i].CreatedAt)
		}
	}
	wantSame(t, "walked journals", got, want)

	// fn may read through the transaction; an error from fn stops the walk
	// and comes back unchanged.
	stop := errors.New("stop")
	calls := 0
	err := s.View(ctx, func(tx offramp.ReadTx) error {
		return tx.ForEachJournal(ctx, func(j offramp.Journal) error {
			calls++
			if _, err := tx.Payout(ctx, j.OrgID, j.PayoutID); err != nil {
				return err
			}
			if calls == n-1 {
				return stop
			}
			return nil
		})
	})
	if err != stop {
		t.Fatalf("ForEachJournal returned %v, want fn's error", err)
	}
	wantEqual(t, "calls before the stop", calls, n-1)

	// PayoutJournals is the same order, for one payout.
	var wantA []offramp.Journal
	for _, j := range want {
		if j.PayoutID == pa.ID {
			wantA = append(wantA, j)
		}
	}
	wantSame(t, "PayoutJournals(A)", payoutJournals(t, s, orgA.ID, pa.ID), wantA)
	wantEqual(t, "PayoutJournals of org A's payout through org B", len(payoutJournals(t, s, orgB.ID, pa.ID)), 0)
}

// --- scoping and transactions ---

func testPayoutOrgScoping(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s), newOrg(t, s)
	c, bank := newPayee(t, s, a, 1)
	q := makeQuotation(c, bank, 1)
	p := makePayout(q, 1)
	createPayout(t, s, q, p)
	unlinked := makeQuotation(c, bank, 2)
	e := makeEDD(c, 1)
	update(t, s, func(tx offramp.Tx) error {
		if err := tx.CreateQuotation(ctx, unlinked); err != nil {
			return err
		}
		if err := tx.CreateEDD(ctx, e); err != nil {
			return err
		}
		if err := tx.AddLimitUsage(ctx, a.ID, c.ID, p.LimitDay, p.ReceivingAmount); err != nil {
			return err
		}
		if err := tx.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: a.ID, Key: "k1", RequestHash: "h", PayoutID: p.ID}); err != nil {
			return err
		}
		return tx.AppendJournal(ctx, balancedJournal(a.ID, p.ID, "payout_initiated", t0))
	})

	view(t, s, func(tx offramp.ReadTx) error {
		_, err := tx.Quotation(ctx, b.ID, q.ID)
		wantIs(t, "org B reads org A's quotation", err, offramp.ErrNotFound)
		_, err = tx.Payout(ctx, b.ID, p.ID)
		wantIs(t, "org B reads org A's payout", err, offramp.ErrNotFound)
		_, err = tx.PayoutIDByClientReference(ctx, b.ID, p.ClientReferenceID)
		wantIs(t, "org B finds org A's payout by reference", err, offramp.ErrNotFound)
		ps, err := tx.PayoutsByExchangeOrder(ctx, b.ID, p.ExchangeOrderID)
		if err != nil {
			return err
		}
		wantEqual(t, "org B lists org A's payouts by order", len(ps), 0)
		ps, n, err := tx.ListPayouts(ctx, b.ID, offramp.PayoutFilter{}, offramp.Page{Number: 1, Size: 10})
		if err != nil {
			return err
		}
		wantEqual(t, "org B payout count", n, 0)
		wantEqual(t, "org B payouts", len(ps), 0)
		used, err := tx.LimitUsage(ctx, b.ID, c.ID, p.LimitDay)
		if err != nil {
			return err
		}
		if !used.IsZero() {
			t.Fatalf("org B reads org A's limit usage: %s", used)
		}
		_, err = tx.EDD(ctx, b.ID, e.ID)
		wantIs(t, "org B reads org A's EDD", err, offramp.ErrNotFound)
		_, err = tx.LatestEDD(ctx, b.ID, c.ID)
		wantIs(t, "org B reads org A's latest EDD", err, offramp.ErrNotFound)
		_, err = tx.Idempotency(ctx, b.ID, "k1")
		wantIs(t, "org B reads org A's idempotency key", err, offramp.ErrNotFound)
		js, err := tx.PayoutJournals(ctx, b.ID, p.ID)
		if err != nil {
			return err
		}
		wantEqual(t, "org B reads org A's journals", len(js), 0)
		return nil
	})

	// Writes through org B do not touch org A's rows.
	err := updateErr(t, s, func(tx offramp.Tx) error { return tx.LinkQuotation(ctx, b.ID, unlinked.ID, uuid.New()) })
	wantIs(t, "org B links org A's quotation", err, offramp.ErrNotFound)
	hijack := p
	hijack.OrgID = b.ID
	hijack.Status = offramp.PayoutSuccess
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdatePayout(ctx, hijack, p.Status, p.Phase) })
	wantIs(t, "org B updates org A's payout", err, offramp.ErrNotFound)
	he := e
	he.OrgID = b.ID
	he.Status = offramp.EDDVerified
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdateEDD(ctx, he, e.Status) })
	wantIs(t, "org B updates org A's EDD", err, offramp.ErrNotFound)
	gotQ, err := getQuotation(t, s, a.ID, unlinked.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "org A's quotation untouched", gotQ, unlinked)
	gotP, err := getPayout(t, s, a.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "org A's payout untouched", gotP, p)

	// Rows of org B cannot hang off org A's customer, bank, quotation or
	// payout.
	cb, bankB := newPayee(t, s, b, 1)
	for name, write := range map[string]func(tx offramp.Tx) error{
		"quotation for org A's customer": func(tx offramp.Tx) error {
			x := makeQuotation(c, bank, 5)
			x.OrgID = b.ID
			return tx.CreateQuotation(ctx, x)
		},
		"quotation with org A's bank": func(tx offramp.Tx) error {
			x := makeQuotation(cb, bankB, 6)
			x.BankID = bank.ID
			return tx.CreateQuotation(ctx, x)
		},
		"payout of org A's quotation": func(tx offramp.Tx) error {
			x := makePayout(makeQuotation(cb, bankB, 7), 7)
			x.QuotationID = unlinked.ID
			return tx.CreatePayout(ctx, x)
		},
		"org B's quotation linked to org A's payout": func(tx offramp.Tx) error {
			x := makeQuotation(cb, bankB, 8)
			if err := tx.CreateQuotation(ctx, x); err != nil {
				return err
			}
			return tx.LinkQuotation(ctx, b.ID, x.ID, p.ID)
		},
		"EDD for org A's customer": func(tx offramp.Tx) error {
			x := makeEDD(c, 2)
			x.OrgID = b.ID
			return tx.CreateEDD(ctx, x)
		},
		"journal of org A's payout": func(tx offramp.Tx) error {
			return tx.AppendJournal(ctx, balancedJournal(b.ID, p.ID, "payout_initiated", t0))
		},
	} {
		if err := updateErr(t, s, write); err == nil {
			t.Fatalf("%s: written", name)
		}
	}

	// Client references are per organization.
	newPayout(t, s, cb, bankB, 9, func(x *offramp.Payout) { x.ClientReferenceID = p.ClientReferenceID })
	view(t, s, func(tx offramp.ReadTx) error {
		id, err := tx.PayoutIDByClientReference(ctx, a.ID, p.ClientReferenceID)
		if err != nil {
			return err
		}
		wantEqual(t, "org A's reference", id, p.ID)
		return nil
	})
}

func testPayoutRollback(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	c, b := newPayee(t, s, org, 1)
	q := makeQuotation(c, b, 1)
	p := makePayout(q, 1)
	e := makeEDD(c, 1)
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx offramp.Tx) error {
		for _, f := range []func() error{
			func() error { return tx.CreateQuotation(ctx, q) },
			func() error { return tx.CreatePayout(ctx, p) },
			func() error { return tx.LinkQuotation(ctx, org.ID, q.ID, p.ID) },
			func() error { return tx.AddLimitUsage(ctx, org.ID, c.ID, p.LimitDay, p.ReceivingAmount) },
			func() error { return tx.CreateEDD(ctx, e) },
			func() error {
				return tx.PutIdempotency(ctx, offramp.IdempotencyRecord{OrgID: org.ID, Key: "k", RequestHash: "h", PayoutID: p.ID})
			},
			func() error { return tx.AppendJournal(ctx, balancedJournal(org.ID, p.ID, "payout_initiated", t0)) },
		} {
			if err := f(); err != nil {
				return err
			}
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	view(t, s, func(tx offramp.ReadTx) error {
		_, err := tx.Quotation(ctx, org.ID, q.ID)
		wantIs(t, "rolled-back quotation", err, offramp.ErrNotFound)
		_, err = tx.Payout(ctx, org.ID, p.ID)
		wantIs(t, "rolled-back payout", err, offramp.ErrNotFound)
		_, err = tx.EDD(ctx, org.ID, e.ID)
		wantIs(t, "rolled-back EDD", err, offramp.ErrNotFound)
		_, err = tx.Idempotency(ctx, org.ID, "k")
		wantIs(t, "rolled-back idempotency record", err, offramp.ErrNotFound)
		used, err := tx.LimitUsage(ctx, org.ID, c.ID, p.LimitDay)
		if err != nil {
			return err
		}
		if !used.IsZero() {
			t.Errorf("rolled-back limit usage: %s", used)
		}
		n := 0
		if err := tx.ForEachJournal(ctx, func(offramp.Journal) error { n++; return nil }); err != nil {
			return err
		}
		wantEqual(t, "rolled-back journals", n, 0)
		return nil
	})
	// Nothing was left half done: the same writes succeed.
	createPayout(t, s, q, p)
}
