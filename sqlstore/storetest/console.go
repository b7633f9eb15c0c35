package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// RunConsole runs the part of the suite about the operator console:
// operators, their sessions, two-person proposals and the hash-chained
// audit log. An engine runs both Run and RunConsole; they are apart so
// that `go test -run 'Operator|Audit'` selects this part alone. open is as
// for Run.
func RunConsole(t *testing.T, open func(t *testing.T) offramp.Store) {
	for _, tc := range consoleTests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var consoleTests = []struct {
	name string
	fn   func(t *testing.T, s offramp.Store)
}{
	{"Operators", testOperators},
	{"OperatorSessions", testOperatorSessions},
	{"Proposals", testProposals},
	{"AuditChain", testAuditChain},
	{"ConcurrentAuditAppends", testConcurrentAuditAppends},
}

func makeOperator(email string, role offramp.Role) offramp.Operator {
	return offramp.Operator{
		ID: uuid.New(), Email: email, Role: role,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		CreatedAt:    t0, UpdatedAt: t0,
	}
}

func newOperator(t *testing.T, s offramp.Store, email string, role offramp.Role) offramp.Operator {
	t.Helper()
	o := makeOperator(email, role)
	update(t, s, func(tx offramp.Tx) error { return tx.CreateOperator(t.Context(), o) })
	return o
}

func getOperator(t *testing.T, s offramp.Store, id uuid.UUID) (offramp.Operator, error) {
	t.Helper()
	var o offramp.Operator
	err := s.View(t.Context(), func(tx offramp.ReadTx) error {
		var err error
		o, err = tx.Operator(t.Context(), id)
		return err
	})
	return o, err
}

// testOperators: an operator reads back as written (TOTP secret opened,
// e-mail lower-cased), is found by e-mail in any case, is listed by
// e-mail; UpdateOperator writes the mutable fields and leaves the e-mail;
// a taken e-mail, in any case, is a conflict on "email".
func testOperators(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	asha := makeOperator("Asha@Ops.Example", offramp.RoleAdmin)
	asha.TOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	update(t, s, func(tx offramp.Tx) error { return tx.CreateOperator(ctx, asha) })
	asha.Email = "asha@ops.example"
	got, err := getOperator(t, s, asha.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "operator read back", got, asha)
	view(t, s, func(tx offramp.ReadTx) error {
		got, err = tx.OperatorByEmail(ctx, " ASHA@ops.example")
		return err
	})
	wantEqual(t, "operator by e-mail, any case", got, asha)
	err = s.View(ctx, func(tx offramp.ReadTx) error {
		_, err := tx.OperatorByEmail(ctx, "nobody@ops.example")
		return err
	})
	wantIs(t, "unknown e-mail", err, offramp.ErrNotFound)
	_, err = getOperator(t, s, uuid.New())
	wantIs(t, "unknown id", err, offramp.ErrNotFound)

	// No second factor reads back as "".
	vikram := newOperator(t, s, "vikram@ops.example", offramp.RoleViewer)
	bela := newOperator(t, s, "bela@ops.example", offramp.RoleOperator)
	var list []offramp.Operator
	view(t, s, func(tx offramp.ReadTx) error {
		list, err = tx.ListOperators(ctx)
		return err
	})
	wantEqual(t, "operators by e-mail", list, []offramp.Operator{asha, bela, vikram})

	// The mutable fields change; e-mail and creation time do not.
	changed := vikram
	changed.Email = "someone-else@ops.example"
	changed.CreatedAt = t0.Add(time.Hour)
	changed.Role = offramp.RoleApprover
	changed.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNobmV3aGFzaG5ldw"
	changed.TOTPSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	changed.Disabled = true
	changed.FailedLogins = 3
	changed.LockedUntil = t0.Add(5*time.Minute + 123456789*time.Nanosecond)
	changed.UpdatedAt = t0.Add(time.Minute)
	update(t, s, func(tx offramp.Tx) error { return tx.UpdateOperator(ctx, changed) })
	want := changed
	want.Email, want.CreatedAt = vikram.Email, vikram.CreatedAt
	want.LockedUntil = want.LockedUntil.Truncate(time.Microsecond)
	got, err = getOperator(t, s, vikram.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "operator after UpdateOperator", got, want)
	// The lock lifted and the second factor removed read back as zero.
	want.LockedUntil, want.TOTPSecret, want.FailedLogins, want.Disabled = time.Time{}, "", 0, false
	update(t, s, func(tx offramp.Tx) error { return tx.UpdateOperator(ctx, want) })
	got, _ = getOperator(t, s, vikram.ID)
	wantEqual(t, "operator unlocked", got, want)

	ghost := makeOperator("ghost@ops.example", offramp.RoleViewer)
	wantIs(t, "update of an unknown operator",
		updateErr(t, s, func(tx offramp.Tx) error { return tx.UpdateOperator(ctx, ghost) }), offramp.ErrNotFound)

	// A taken e-mail, whatever its case.
	dup := makeOperator("ASHA@ops.example", offramp.RoleViewer)
	err = updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateOperator(ctx, dup) })
	wantCode(t, "a second operator with one e-mail", err, offramp.CodeConflict)
	var e *offramp.Error
	if errors.As(err, &e) && len(e.Fields["email"]) == 0 {
		t.Fatalf("conflict not on email: %+v", e)
	}

	// What the schema would refuse is refused first.
	for what, edit := range map[string]func(*offramp.Operator){
		"no e-mail":        func(o *offramp.Operator) { o.Email = "" },
		"an unknown role":  func(o *offramp.Operator) { o.Role = "root" },
		"no password hash": func(o *offramp.Operator) { o.PasswordHash = "" },
		"negative failures": func(o *offramp.Operator) {
			o.FailedLogins = -1
		},
	} {
		bad := makeOperator(fmt.Sprintf("bad-%d@ops.example", len(what)), offramp.RoleViewer)
		edit(&bad)
		wantCode(t, "an operator with "+what,
			updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateOperator(ctx, bad) }), offramp.CodeInvalid)
	}
	// A zero ID and zero times are filled in.
	auto := offramp.Operator{Email: "auto@ops.example", Role: offramp.RoleViewer, PasswordHash: "h"}
	update(t, s, func(tx offramp.Tx) error { return tx.CreateOperator(ctx, auto) })
	view(t, s, func(tx offramp.ReadTx) error {
		got, err = tx.OperatorByEmail(ctx, auto.Email)
		return err
	})
	if got.ID == uuid.Nil || got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Fatalf("operator without id and times: %+v", got)
	}
}

// testOperatorSessions: a session reads back by its token hash; touching
// moves LastSeenAt only; deleting one is idempotent; deleting an
// operator's sessions leaves the others'.
func testOperatorSessions(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	asha := newOperator(t, s, "asha@ops.example", offramp.RoleAdmin)
	bela := newOperator(t, s, "bela@ops.example", offramp.RoleViewer)
	session := func(o offramp.Operator, n int) offramp.OperatorSession {
		return offramp.OperatorSession{
			TokenHash: fmt.Sprintf("%064x", n), OperatorID: o.ID, CSRF: fmt.Sprintf("csrf-%d", n),
			CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(12 * time.Hour),
		}
	}
	get := func(hash string) (offramp.OperatorSession, error) {
		var got offramp.OperatorSession
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			got, err = tx.OperatorSession(ctx, hash)
			return err
		})
		return got, err
	}
	a1, a2, b1 := session(asha, 1), session(asha, 2), session(bela, 3)
	update(t, s, func(tx offramp.Tx) error {
		for _, x := range []offramp.OperatorSession{a1, a2, b1} {
			if err := tx.PutOperatorSession(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := get(a1.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "session read back", got, a1)
	_, err = get("unknown")
	wantIs(t, "unknown session", err, offramp.ErrNotFound)

	wantCode(t, "a second session with one token",
		updateErr(t, s, func(tx offramp.Tx) error { return tx.PutOperatorSession(ctx, a1) }), offramp.CodeConflict)
	orphan := session(offramp.Operator{ID: uuid.New()}, 4)
	wantIs(t, "a session of no operator",
		updateErr(t, s, func(tx offramp.Tx) error { return tx.PutOperatorSession(ctx, orphan) }), offramp.ErrNotFound)
	noCSRF := session(asha, 5)
	noCSRF.CSRF = ""
	wantCode(t, "a session without CSRF token",
		updateErr(t, s, func(tx offramp.Tx) error { return tx.PutOperatorSession(ctx, noCSRF) }), offramp.CodeInvalid)

	seen := t0.Add(7*time.Minute + 999*time.Nanosecond)
	update(t, s, func(tx offramp.Tx) error { return tx.TouchOperatorSession(ctx, a1.TokenHash, seen) })
	want := a1
	want.LastSeenAt = seen.Truncate(time.Microsecond)
	got, _ = get(a1.TokenHash)
	wantEqual(t, "session touched", got, want)
	wantIs(t, "touch of an unknown session",
		updateErr(t, s, func(tx offramp.Tx) error { return tx.TouchOperatorSession(ctx, "unknown", seen) }), offramp.ErrNotFound)

	update(t, s, func(tx offramp.Tx) error { return tx.DeleteOperatorSession(ctx, a1.TokenHash) })
	_, err = get(a1.TokenHash)
	wantIs(t, "deleted session", err, offramp.ErrNotFound)
	update(t, s, func(tx offramp.Tx) error { return tx.DeleteOperatorSession(ctx, a1.TokenHash) })

	update(t, s, func(tx offramp.Tx) error { return tx.DeleteOperatorSessions(ctx, asha.ID) })
	_, err = get(a2.TokenHash)
	wantIs(t, "asha's other session after DeleteOperatorSessions", err, offramp.ErrNotFound)
	if got, err = get(b1.TokenHash); err != nil {
		t.Fatalf("bela's session after asha's were deleted: %v", err)
	}
	wantEqual(t, "bela's session", got, b1)
}

// testProposals: a proposal reads back with its params and reason; the
// listing is newest first, by status; a decision is a compare-and-set
// from PENDING; the schema refuses a decider who proposed.
func testProposals(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	get := func(id uuid.UUID) (offramp.Proposal, error) {
		var p offramp.Proposal
		err := s.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			p, err = tx.Proposal(ctx, id)
			return err
		})
		return p, err
	}
	list := func(status offramp.ProposalStatus, limit int) []uuid.UUID {
		t.Helper()
		var ps []offramp.Proposal
		view(t, s, func(tx offramp.ReadTx) error {
			var err error
			ps, err = tx.ListProposals(ctx, status, limit)
			return err
		})
		var ids []uuid.UUID
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		return ids
	}
	var ps []offramp.Proposal
	for i, k := range []offramp.ProposalKind{offramp.ProposalResolvePaid, offramp.ProposalRefund, offramp.ProposalKYCDecide} {
		p := offramp.Proposal{
			ID: uuid.New(), OrgID: org.ID, Kind: k, ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(),
			Params: map[string]string{"utr": fmt.Sprintf("UTR%04d", i)}, Reason: fmt.Sprintf("R. Kumar's bank statement %d", i),
			ProposedBy: "asha@ops.example", Status: offramp.ProposalPending, CreatedAt: t0.Add(time.Duration(i) * time.Minute),
		}
		ps = append(ps, p)
	}
	ps[2].Params, ps[2].ObjectType = nil, offramp.ObjectCustomer
	update(t, s, func(tx offramp.Tx) error {
		for _, p := range ps {
			if err := tx.CreateProposal(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := get(ps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "proposal read back", got, ps[0])
	got, _ = get(ps[2].ID)
	wantEqual(t, "proposal without params", got, ps[2])
	_, err = get(uuid.New())
	wantIs(t, "unknown proposal", err, offramp.ErrNotFound)

	wantEqual(t, "all, newest first", list("", 10), []uuid.UUID{ps[2].ID, ps[1].ID, ps[0].ID})
	wantEqual(t, "pending, at most 2", list(offramp.ProposalPending, 2), []uuid.UUID{ps[2].ID, ps[1].ID})

	// The proposer cannot decide: the schema refuses it, and the proposal
	// stays pending.
	err = updateErr(t, s, func(tx offramp.Tx) error {
		return tx.DecideProposal(ctx, ps[0].ID, offramp.ProposalApproved, "asha@ops.example", t0.Add(time.Hour))
	})
	if err == nil || errors.Is(err, offramp.ErrStale) || !strings.Contains(err.Error(), "proposals_decider_check") {
		t.Fatalf("a proposer deciding: got %v, want proposals_decider_check to refuse it", err)
	}
	got, _ = get(ps[0].ID)
	wantEqual(t, "still pending", got.Status, offramp.ProposalPending)

	at := t0.Add(time.Hour + 456*time.Nanosecond)
	update(t, s, func(tx offramp.Tx) error {
		return tx.DecideProposal(ctx, ps[0].ID, offramp.ProposalApproved, "vikram@ops.example", at)
	})
	want := ps[0]
	want.Status, want.DecidedBy, want.DecidedAt = offramp.ProposalApproved, "vikram@ops.example", at.Truncate(time.Microsecond)
	got, _ = get(ps[0].ID)
	wantEqual(t, "approved", got, want)
	update(t, s, func(tx offramp.Tx) error {
		return tx.DecideProposal(ctx, ps[1].ID, offramp.ProposalRejected, "vikram@ops.example", at)
	})

	// A second decision, in either direction, is stale.
	for _, to := range []offramp.ProposalStatus{offramp.ProposalApproved, offramp.ProposalRejected} {
		wantIs(t, "a second decision to "+string(to), updateErr(t, s, func(tx offramp.Tx) error {
			return tx.DecideProposal(ctx, ps[0].ID, to, "bela@ops.example", at)
		}), offramp.ErrStale)
	}
	got, _ = get(ps[0].ID)
	wantEqual(t, "the first decision stands", got, want)
	wantIs(t, "deciding an unknown proposal", updateErr(t, s, func(tx offramp.Tx) error {
		return tx.DecideProposal(ctx, uuid.New(), offramp.ProposalApproved, "bela@ops.example", at)
	}), offramp.ErrNotFound)
	wantCode(t, "deciding to PENDING", updateErr(t, s, func(tx offramp.Tx) error {
		return tx.DecideProposal(ctx, ps[2].ID, offramp.ProposalPending, "bela@ops.example", at)
	}), offramp.CodeInvalid)

	wantEqual(t, "pending", list(offramp.ProposalPending, 10), []uuid.UUID{ps[2].ID})
	wantEqual(t, "approved", list(offramp.ProposalApproved, 10), []uuid.UUID{ps[0].ID})
	wantEqual(t, "rejected", list(offramp.ProposalRejected, 10), []uuid.UUID{ps[1].ID})

	for what, edit := range map[string]func(*offramp.Proposal){
		"an unknown kind": func(p *offramp.Proposal) { p.Kind = "payout.pay_twice" },
		"no reason":       func(p *offramp.Proposal) { p.Reason = "" },
		"no proposer":     func(p *offramp.Proposal) { p.ProposedBy = "" },
		"a decided state": func(p *offramp.Proposal) { p.Status = offramp.ProposalApproved },
	} {
		bad := ps[0]
		bad.ID = uuid.New()
		edit(&bad)
		wantCode(t, "a proposal with "+what,
			updateErr(t, s, func(tx offramp.Tx) error { return tx.CreateProposal(ctx, bad) }), offramp.CodeInvalid)
	}
}

// walkAudit reads the whole chain with ForEachAudit.
func walkAudit(t *testing.T, s offramp.Store) []offramp.AuditEntry {
	t.Helper()
	var out []offramp.AuditEntry
	view(t, s, func(tx offramp.ReadTx) error {
		out = nil
		return tx.ForEachAudit(t.Context(), func(a offramp.AuditEntry) error {
			out = append(out, a)
			return nil
		})
	})
	return out
}

// wantChain asserts that entries are links 1..n of one chain, each hash
// recomputed from what was read back.
func wantChain(t *testing.T, entries []offramp.AuditEntry, n int) {
	t.Helper()
	if len(entries) != n {
		t.Fatalf("%d entries in the chain, want %d", len(entries), n)
	}
	prev := ""
	for i, a := range entries {
		if a.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, a.Seq)
		}
		if a.PrevHash != prev {
			t.Fatalf("entry %d: prev hash %q, want the previous entry's %q", a.Seq, a.PrevHash, prev)
		}
		if h := offramp.AuditHash(a.PrevHash, a); a.Hash != h || len(h) != 64 {
			t.Fatalf("entry %d: hash %q, recomputed %q", a.Seq, a.Hash, h)
		}
		prev = a.Hash
	}
}

// testAuditChain: 20 appends, in one transaction and in several, make
// links 1..20; every hash recomputes from the entry as read back (times
// with nanoseconds and in another zone included); ListAudit filters and
// lists newest first.
func testAuditChain(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	org := newOrg(t, s)
	ist := time.FixedZone("IST", 5*3600+1800)
	var entries []offramp.AuditEntry
	for i := range 22 {
		a := offramp.AuditEntry{
			OrgID: org.ID, Actor: []string{"asha@ops.example", "vikram@ops.example"}[i%2],
			Action:     []string{"payout.resolve_paid", "payout.reinquire", "operator.create"}[i%3],
			ObjectType: offramp.ObjectPayout, ObjectID: uuid.New(), Reason: fmt.Sprintf("reason %d", i),
			// Nanoseconds and a zone other than UTC: the store keeps
			// microseconds in UTC, and hashes what it keeps.
			CreatedAt: t0.Add(time.Duration(i)*time.Second + 999*time.Nanosecond).In(ist),
		}
		if i%4 != 0 {
			a.Details = map[string]string{"n": fmt.Sprint(i), "utr": fmt.Sprintf("UTR%d", i)}
		}
		if i == 7 {
			a.CreatedAt = time.Time{} // from the clock
		}
		entries = append(entries, a)
	}
	entry := func(i int) offramp.AuditEntry { return entries[i] }
	wantChain(t, walkAudit(t, s), 0)
	update(t, s, func(tx offramp.Tx) error {
		for i := range 5 {
			if err := tx.AppendAudit(ctx, entry(i)); err != nil {
				return err
			}
		}
		return nil
	})
	for i := 5; i < 20; i++ {
		update(t, s, func(tx offramp.Tx) error { return tx.AppendAudit(ctx, entry(i)) })
	}
	chain := walkAudit(t, s)
	wantChain(t, chain, 20)
	for i, a := range chain {
		w := entry(i)
		if a.Reason != w.Reason || a.Actor != w.Actor || a.Action != w.Action || a.ObjectID != w.ObjectID {
			t.Fatalf("link %d is not entry %d: %+v", a.Seq, i, a)
		}
		if (i != 7 && !a.CreatedAt.Equal(w.CreatedAt.Truncate(time.Microsecond))) || a.CreatedAt.Location() != time.UTC {
			t.Fatalf("link %d created at %v, want %v in UTC", a.Seq, a.CreatedAt, w.CreatedAt)
		}
	}

	// The walk stops at fn's error.
	stop := errors.New("stop")
	n := 0
	err := s.View(ctx, func(tx offramp.ReadTx) error {
		return tx.ForEachAudit(ctx, func(offramp.AuditEntry) error {
			if n++; n == 3 {
				return stop
			}
			return nil
		})
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("ForEachAudit after fn failed: %v after %d entries", err, n)
	}

	seqs := func(actor, action string, limit int) []int64 {
		t.Helper()
		var as []offramp.AuditEntry
		view(t, s, func(tx offramp.ReadTx) error {
			var err error
			as, err = tx.ListAudit(ctx, actor, action, limit)
			return err
		})
		var out []int64
		for _, a := range as {
			if want := chain[a.Seq-1]; !equalEntries(a, want) {
				t.Fatalf("ListAudit entry %d differs from the walk's:\n%+v\n%+v", a.Seq, a, want)
			}
			out = append(out, a.Seq)
		}
		return out
	}
	wantEqual(t, "newest 3", seqs("", "", 3), []int64{20, 19, 18})
	wantEqual(t, "by vikram, newest 4", seqs("vikram@ops.example", "", 4), []int64{20, 18, 16, 14})
	wantEqual(t, "resolve_paid", seqs("", "payout.resolve_paid", 100), []int64{19, 16, 13, 10, 7, 4, 1})
	wantEqual(t, "asha's reinquire", seqs("asha@ops.example", "payout.reinquire", 100), []int64{17, 11, 5})
	wantEqual(t, "nobody's", len(seqs("nobody", "", 100)), 0)

	// AuditEntries of one object carries the chain fields too.
	var one []offramp.AuditEntry
	view(t, s, func(tx offramp.ReadTx) error {
		var err error
		one, err = tx.AuditEntries(ctx, offramp.ObjectPayout, chain[12].ObjectID)
		return err
	})
	if len(one) != 1 || !equalEntries(one[0], chain[12]) {
		t.Fatalf("AuditEntries of link 13: %+v", one)
	}

	// A transaction that rolls back leaves no link behind: the next
	// append is 21, chained to 20.
	boom := errors.New("boom")
	err = updateErr(t, s, func(tx offramp.Tx) error {
		if err := tx.AppendAudit(ctx, entry(20)); err != nil {
			return err
		}
		return boom
	})
	wantIs(t, "rolled back append", err, boom)
	update(t, s, func(tx offramp.Tx) error { return tx.AppendAudit(ctx, entry(21)) })
	wantChain(t, walkAudit(t, s), 21)
}

func equalEntries(a, b offramp.AuditEntry) bool {
	return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b)
}

// testConcurrentAuditAppends: 8 writers appending 10 entries each, at
// once, make one gapless chain of 80 links holding every entry once. On
// PostgreSQL writers that read the same last link collide on the seq
// index and run again.
func testConcurrentAuditAppends(t *testing.T, s offramp.Store) {
	ctx := t.Context()
	const writers, each = 8, 10
	start := make(chan struct{})
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				err := s.Update(ctx, func(tx offramp.Tx) error {
					return tx.AppendAudit(ctx, offramp.AuditEntry{
						Actor: fmt.Sprintf("writer-%d", w), Action: "test.append", ObjectType: offramp.ObjectPayout,
						ObjectID: uuid.New(), Reason: fmt.Sprintf("entry %d of writer %d", i, w),
						Details: map[string]string{"i": fmt.Sprint(i)}, CreatedAt: t0,
					})
				})
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	chain := walkAudit(t, s)
	wantChain(t, chain, writers*each)
	seen := map[string]bool{}
	for _, a := range chain {
		seen[a.Reason] = true
	}
	wantEqual(t, "distinct entries", len(seen), writers*each)
}
