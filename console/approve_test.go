package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/console"
	"github.com/offramp/offramp/engine"
)

// TestApprovalRacesAndStaleness: the approval and its action commit
// together. Two approvers racing on one proposal: one carries it out, the
// other is refused, and the payout is settled once. A proposal whose
// payout was settled meanwhile (from the CLI) cannot be approved: nothing
// is recorded as approved, and the proposal can still be rejected.
func TestApprovalRacesAndStaleness(t *testing.T) {
	t.Parallel()
	w := setup(t)
	op, _ := w.as(offramp.RoleOperator)

	// The race.
	p := w.reviewPayout()
	op.get("/payouts/" + p.ID.String())
	if a := op.post("/payouts/"+p.ID.String()+"/proposals", url.Values{"action": {"paid"}, "utr": {"412345678901"}, "why": {"statement"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("propose: %d\n%s", a.Status, a.Body)
	}
	prop := w.proposals(offramp.ProposalPending)[0]
	var approvers []*struct {
		email  string
		c      *http.Client
		csrf   string
		status int
	}
	for range 2 {
		b, email := w.as(offramp.RoleApprover)
		b.get("/proposals")
		approvers = append(approvers, &struct {
			email  string
			c      *http.Client
			csrf   string
			status int
		}{email: email, c: b.Client(), csrf: b.CSRF()})
	}
	var wg sync.WaitGroup
	for _, a := range approvers {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, w.URL()+"/proposals/"+prop.ID.String()+"/approve",
				strings.NewReader(url.Values{"csrf": {a.csrf}}.Encode()))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := a.c.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			a.status = res.StatusCode
		})
	}
	wg.Wait()
	won, lost := 0, 0
	for _, a := range approvers {
		switch a.status {
		case http.StatusSeeOther:
			won++
		case http.StatusConflict:
			lost++
		default:
			t.Fatalf("approver %s: HTTP %d", a.email, a.status)
		}
	}
	if won != 1 || lost != 1 {
		t.Fatalf("%d approvals carried out, %d refused; want 1 and 1", won, lost)
	}
	if got := w.payout(p.ID); got.Status != offramp.PayoutSuccess || got.UTR != "412345678901" {
		t.Fatalf("payout %s %q", got.Status, got.UTR)
	}
	var resolved, approved int
	w.view(func(tx offramp.ReadTx) error {
		list, err := tx.AuditEntries(w.ctx, offramp.ObjectPayout, p.ID)
		for _, a := range list {
			switch a.Action {
			case engine.ActionResolvePaid:
				resolved++
			case console.ActionProposalApproved:
				approved++
			}
		}
		return err
	})
	if resolved != 1 || approved != 1 {
		t.Fatalf("audit: %d resolutions, %d approvals; want one each", resolved, approved)
	}

	// Staleness: settled from elsewhere between proposal and approval.
	q := w.reviewPayout()
	op.get("/payouts/" + q.ID.String())
	if a := op.post("/payouts/"+q.ID.String()+"/proposals", url.Values{"action": {"paid"}, "utr": {"512345678901"}, "why": {"statement"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("propose: %d\n%s", a.Status, a.Body)
	}
	stale := w.proposals(offramp.ProposalPending)[0]
	if _, err := w.svc.ResolvePayout(w.ctx, engine.Resolution{PayoutID: q.ID, Failed: true, Reason: "BENEFICIARY_BANK_REJECTED", Why: "bank confirmed the return", By: "cli"}); err != nil {
		t.Fatal(err)
	}
	ap, _ := w.as(offramp.RoleApprover)
	ap.get("/proposals")
	if a := ap.post("/proposals/"+stale.ID.String()+"/approve", nil); a.Status != http.StatusConflict {
		t.Fatalf("approving a stale proposal: %d\n%s", a.Status, a.Body)
	}
	if got := w.payout(q.ID); got.Status != offramp.PayoutFailed {
		t.Fatalf("payout %s", got.Status)
	}
	if pending := w.proposals(offramp.ProposalPending); len(pending) != 1 || pending[0].ID != stale.ID {
		t.Fatalf("the stale proposal is no longer pending: %+v", pending)
	}
	ap.get("/proposals")
	if a := ap.post("/proposals/"+stale.ID.String()+"/reject", url.Values{"why": {"settled from the CLI"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("reject: %d\n%s", a.Status, a.Body)
	}
}
