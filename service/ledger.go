package service

import (
	"context"
	"sort"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
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
}

// Balanced reports whether every journal balanced and the books sum to
// zero in every currency.
func (r LedgerReport) Balanced() bool {
	for _, t := range r.Totals {
		if !t.IsZero() {
			return false
		}
	}
	return len(r.Unbalanced) == 0
}

// CheckLedger walks every journal, verifies each balances, and totals the
// balance of every account.
func (s *Service) CheckLedger(ctx context.Context) (LedgerReport, error) {
	r := LedgerReport{Totals: map[string]decimal.Decimal{}}
	type key struct{ account, currency string }
	bal := map[key]decimal.Decimal{}
	err := s.store.View(ctx, func(tx offramp.ReadTx) error {
		err := tx.ForEachJournal(ctx, func(j offramp.Journal) error {
			r.Journals++
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
