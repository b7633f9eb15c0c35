package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// journalBatch is how many journals ForEachJournal reads at a time. Each
// batch is read completely before fn runs, so fn may itself query the
// transaction (which a streaming result set would forbid on some engines)
// and memory stays bounded however long the ledger.
const journalBatch = 256

// AppendJournal records j and its postings in order. An unbalanced journal
// (or one without postings) is refused and nothing is written. A zero ID is
// assigned and a zero CreatedAt filled from the clock; as the method returns
// only an error, a caller that needs them must set them itself.
//
// Journals are read in (created_at, insertion) order: seq numbers them as
// they are appended, so journals with equal times keep the order they were
// written in. SQLite's single writer takes MAX(seq) + 1; PostgreSQL's
// identity column numbers them, so concurrent transactions writing
// journals never read each other's (numbers then follow insertion, not
// commit, order, and may have gaps).
func (t *tx) AppendJournal(ctx context.Context, j offramp.Journal) error {
	const op = "append journal"
	if !j.Balanced() {
		return fmt.Errorf("sqlstore: %s: the postings do not balance in every currency; refused", op)
	}
	if j.ID == uuid.Nil {
		j.ID = offramp.NewID()
	}
	created := orNow(j.CreatedAt, t.now)
	if t.s.d.journalSeqGenerated() {
		// The identity column numbers the journal, without reading
		// anybody else's.
		_, err := t.exec(ctx, op, `INSERT INTO journals (id, org_id, payout_id, kind, created_at)
			VALUES (?, ?, ?, ?, ?)`, j.ID, j.OrgID, nullID(j.PayoutID), j.Kind, t.ts(created))
		if err != nil {
			return err
		}
	} else {
		// The single writer makes MAX + 1 safe.
		var seq int64
		if err := t.scanOne(ctx, op, `SELECT COALESCE(MAX(seq), 0) + 1 FROM journals`, nil, &seq); err != nil {
			return err
		}
		_, err := t.exec(ctx, op, `INSERT INTO journals (id, org_id, payout_id, kind, seq, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, j.ID, j.OrgID, nullID(j.PayoutID), j.Kind, seq, t.ts(created))
		if err != nil {
			return err
		}
	}
	if len(j.Postings) == 0 {
		return nil
	}
	// One statement for all the lines: a journal has a handful, and each
	// statement costs more to run than its row costs to insert.
	args := make([]any, 0, 6*len(j.Postings))
	for i, p := range j.Postings {
		args = append(args, j.OrgID, j.ID, i+1, p.Account, p.Currency, decText(p.Amount))
	}
	_, err := t.exec(ctx, op, `INSERT INTO postings (org_id, journal_id, line, account, currency, amount)
		VALUES (?, ?, ?, ?, ?, ?)`+strings.Repeat(`, (?, ?, ?, ?, ?, ?)`, len(j.Postings)-1), args...)
	return err
}

const journalSelect = `SELECT j.id, j.org_id, j.payout_id, j.kind, j.seq, j.created_at,
	p.account, p.currency, p.amount`

// journalJoin joins postings to the journals of from, a table or subquery
// aliased j, that match where (if not empty).
func journalJoin(from, where string) string {
	if where != "" {
		where = ` WHERE ` + where
	}
	return journalSelect + ` FROM ` + from + `
		LEFT JOIN postings p ON p.org_id = j.org_id AND p.journal_id = j.id` + where + `
		ORDER BY j.created_at, j.seq, p.line`
}

// ForEachJournal walks every journal of every organization in (created_at,
// seq) order, a batch at a time, keyed on the last journal seen.
func (t *tx) ForEachJournal(ctx context.Context, fn func(offramp.Journal) error) error {
	const op = "walk journals"
	var (
		after     bool
		lastAt    time.Time
		lastSeq   int64
		batchSize = journalBatch
	)
	for {
		where, args := ``, []any{}
		if after {
			where = `WHERE created_at > ? OR (created_at = ? AND seq > ?)`
			args = append(args, t.ts(lastAt), t.ts(lastAt), lastSeq)
		}
		js, seqs, err := t.queryJournals(ctx, op, journalJoin(`(SELECT * FROM journals `+where+`
			ORDER BY created_at, seq LIMIT ?) j`, ``), append(args, batchSize)...)
		if err != nil {
			return err
		}
		for _, j := range js {
			if err := fn(j); err != nil {
				return err
			}
		}
		if len(js) < batchSize {
			return nil
		}
		after, lastAt, lastSeq = true, js[len(js)-1].CreatedAt, seqs[len(seqs)-1]
	}
}

// PayoutJournals lists a payout's journals in (created_at, seq) order.
func (t *tx) PayoutJournals(ctx context.Context, orgID, payoutID uuid.UUID) ([]offramp.Journal, error) {
	js, _, err := t.queryJournals(ctx, "list payout journals",
		journalJoin(`journals j`, `j.org_id = ? AND j.payout_id = ?`), orgID, payoutID)
	return js, err
}

// queryJournals runs a journalJoin query, whose rows come grouped by
// journal, and assembles the journals with their seq numbers.
func (t *tx) queryJournals(ctx context.Context, op, query string, args ...any) ([]offramp.Journal, []int64, error) {
	rows, err := t.query(ctx, op, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		out  []offramp.Journal
		seqs []int64
	)
	for rows.Next() {
		var j offramp.Journal
		var seq int64
		var account, currency, amount sql.Null[string]
		if err := rows.Scan(&j.ID, &j.OrgID, &j.PayoutID, &j.Kind, &seq, timeCol{&j.CreatedAt},
			&account, &currency, &amount); err != nil {
			return nil, nil, t.mapErr(ctx, op, err)
		}
		if n := len(out); n == 0 || out[n-1].ID != j.ID {
			out = append(out, j)
			seqs = append(seqs, seq)
		}
		if !amount.Valid {
			continue // a journal without postings (never written by AppendJournal)
		}
		p := offramp.Posting{Account: account.V, Currency: currency.V}
		if err := (decCol{&p.Amount}).Scan(amount.V); err != nil {
			return nil, nil, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		last := &out[len(out)-1]
		last.Postings = append(last.Postings, p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, t.mapErr(ctx, op, err)
	}
	return out, seqs, nil
}
