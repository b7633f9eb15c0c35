package service

import (
	"context"
	"sort"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/ledger"
)

// LedgerReport is the result of a ledger check.
type LedgerReport struct {
	Journals   int
	Unbalanced []uuid.UUID // journals whose postings do not sum to zero per currency
	Balances   []offramp.AccountBalance
	// Totals is the sum of all balances per currency: zero when the books
	// are consistent.
	Totals map[string]decimal.Decimal
	// Unlinked are payouts whose exchange transfer is still not linked,
	// so the crypto receivable for them is open.
	Unlinked []offramp.Payout
	// Payouts is how many payouts were reconciled; Mismatches lists every
	// payout whose own postings disagree with its status (see
	// ledger.Expected).
	Payouts    int
	Mismatches []ledger.Mismatch
}

// Balanced reports whether every journal balanced, the books sum to zero
// in every currency and every payout reconciles.
func (r LedgerReport) Balanced() bool {
	for _, t := range r.Totals {
		if !t.IsZero() {
			return false
		}
	}
	return len(r.Unbalanced) == 0 && len(r.Mismatches) == 0
}

// CheckLedger walks every journal, verifies each balances, totals the
// balance of every account, and reconciles every payout: its receivable,
// customer liability and bank float must match its status.
func (s *Service) CheckLedger(ctx context.Context) (LedgerReport, error) {
	r := LedgerReport{Totals: map[string]decimal.Decimal{}}
	type key struct{ account, currency string }
	bal := map[key]decimal.Decimal{}
	books := ledger.Books{}
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		err := tx.ForEachJournal(ctx, func(j offramp.Journal) error {
			r.Journals++
			books.Add(j)
			if !j.Balanced() {
				r.Unbalanced = append(r.Unbalanced, j.ID)
			}
			for _, p := range j.Postings {
				k := key{p.Account, p.Currency}
				bal[k] = bal[k].Add(p.Amount)
				r.Totals[p.Currency] = r.Totals[p.Currency].Add(p.Amount)
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.ForEachPayout(ctx, func(p offramp.Payout) error {
			r.Payouts++
			r.Mismatches = append(r.Mismatches, books.Reconcile(p)...)
			return nil
		})
		if err != nil {
			return err
		}
		r.Unlinked, err = tx.UnlinkedPayouts(ctx)
		return err
	})
	if err != nil {
		return LedgerReport{}, err
	}
	for k, v := range bal {
		r.Balances = append(r.Balances, offramp.AccountBalance{Account: k.account, Currency: k.currency, Balance: v})
	}
	sort.Slice(r.Balances, func(i, j int) bool {
		if r.Balances[i].Currency != r.Balances[j].Currency {
			return r.Balances[i].Currency < r.Balances[j].Currency
		}
		return r.Balances[i].Account < r.Balances[j].Account
	})
	return r, nil
}
