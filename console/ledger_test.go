package console_test

import (
	"encoding/csv"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// journalBalances sums the postings of the given payouts' journals, per
// account and currency, straight from the store: what the ledger page must
// show when they are the only payouts.
func (w *world) journalBalances(ids ...uuid.UUID) map[[2]string]decimal.Decimal {
	w.t.Helper()
	out := map[[2]string]decimal.Decimal{}
	w.view(func(tx offramp.ReadTx) error {
		for _, id := range ids {
			js, err := tx.PayoutJournals(w.ctx, w.org.ID, id)
			if err != nil {
				return err
			}
			if len(js) == 0 {
				w.t.Fatalf("payout %s has no journal", id)
			}
			for _, j := range js {
				for _, p := range j.Postings {
					k := [2]string{p.Account, p.Currency}
					out[k] = out[k].Add(p.Amount)
				}
			}
		}
		return nil
	})
	return out
}

// pageBalance reads the balance cell of one account row of the ledger page.
func pageBalance(t *testing.T, body, account, currency string) string {
	t.Helper()
	re := regexp.MustCompile(`<tr data-account="` + regexp.QuoteMeta(account) + `" data-currency="` + regexp.QuoteMeta(currency) +
		`"><td class="mono">[^<]*</td><td>[^<]*</td><td class="num">([^<]*)</td>`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the ledger page has no balance row for %s %s", account, currency)
	}
	return m[1]
}

// unlinkedAge reads the age cell of a payout's row in the unlinked table.
func unlinkedAge(t *testing.T, body string, id uuid.UUID) (string, int) {
	t.Helper()
	re := regexp.MustCompile(`<tr data-payout="` + id.String() + `">\s*<td class="age">([^<]*)</td>`)
	loc := re.FindStringSubmatchIndex(body)
	if loc == nil {
		t.Fatalf("payout %s is not in the unlinked table", id)
	}
	return body[loc[2]:loc[3]], loc[0]
}

func readCSV(t *testing.T, a answer) [][]string {
	t.Helper()
	if a.Status != http.StatusOK || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(a.Header.Get("Content-Disposition"), `attachment; filename="ledger-`) {
		t.Fatalf("csv: %d %s %s\n%s", a.Status, a.Header.Get("Content-Type"), a.Header.Get("Content-Disposition"), a.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(a.Body)).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v\n%s", err, a.Body)
	}
	if len(rows) == 0 {
		t.Fatal("the export has no header row")
	}
	return rows
}

func TestLedgerPage(t *testing.T) {
	t.Parallel()
	w := setup(t)
	b, _ := w.as(offramp.RoleViewer)

	a := b.get("/ledger")
	if a.Status != http.StatusOK || !strings.Contains(a.Body, "Books reconcile: 0 payouts checked") || !strings.Contains(a.Body, "No journal yet.") {
		t.Fatalf("empty ledger: %d\n%s", a.Status, a.Body)
	}

	// Two payouts, the first 3 h 15 min old, the second 10 min, by the
	// fake clock; neither transfer is linked.
	first := w.reviewPayout()
	w.clk.Advance(3*time.Hour + 5*time.Minute)
	second := w.reviewPayout()
	w.clk.Advance(10 * time.Minute)

	b, _ = w.as(offramp.RoleViewer) // the first session idled out meanwhile
	a = b.get("/ledger")
	if a.Status != http.StatusOK {
		t.Fatalf("ledger: %d\n%s", a.Status, a.Body)
	}
	want := w.journalBalances(first.ID, second.ID)
	recv := want[[2]string{offramp.AccountExchangeReceivable, "USDT"}]
	payable := want[[2]string{offramp.AccountCustomerPayable, "INR"}]
	if !recv.Equal(decimal.RequireFromString("100")) || !payable.Equal(decimal.RequireFromString("-8738.80")) {
		t.Fatalf("the journals themselves: receivable %s, payable %s", recv, payable)
	}
	if got := pageBalance(t, a.Body, offramp.AccountExchangeReceivable, "USDT"); got != recv.String()+" USDT" {
		t.Errorf("receivable on the page: %q, want %q", got, recv.String()+" USDT")
	}
	if got := pageBalance(t, a.Body, offramp.AccountCustomerPayable, "INR"); got != "−₹8,738.80" {
		t.Errorf("customer payable on the page: %q", got)
	}
	if !strings.Contains(a.Body, "Books reconcile: 2 payouts checked") {
		t.Error("two clean payouts do not reconcile")
	}
	age1, at1 := unlinkedAge(t, a.Body, first.ID)
	age2, at2 := unlinkedAge(t, a.Body, second.ID)
	if age1 != "3h 15m" || age2 != "10m 00s" {
		t.Errorf("ages %q and %q, want 3h 15m and 10m 00s", age1, age2)
	}
	if at1 > at2 {
		t.Error("the unlinked payouts are not oldest first")
	}
	if !strings.Contains(a.Body, `href="/payouts/`+first.ID.String()+`"`) {
		t.Error("no link to the unlinked payout")
	}

	// The CSV parts, each with its header.
	rows := readCSV(t, b.get("/ledger.csv"))
	if strings.Join(rows[0], ",") != "account,currency,balance" {
		t.Fatalf("balances header: %v", rows[0])
	}
	found := 0
	for _, r := range rows[1:] {
		if k := [2]string{r[0], r[1]}; want[k].String() == r[2] {
			found++
		} else {
			t.Errorf("balance row %v, the journals say %s", r, want[k])
		}
	}
	if found != len(want) || found != len(rows)-1 {
		t.Errorf("%d of %d balances match, %d rows", found, len(want), len(rows)-1)
	}
	if again := readCSV(t, b.get("/ledger.csv?part=balances")); len(again) != len(rows) {
		t.Error("part=balances is not the default export")
	}
	rows = readCSV(t, b.get("/ledger.csv?part=unlinked"))
	if rows[0][0] != "payout_id" || rows[0][3] != "age_seconds" || len(rows) != 3 {
		t.Fatalf("unlinked export: %v", rows)
	}
	if rows[1][0] != first.ID.String() || rows[1][3] != "11700" || rows[2][0] != second.ID.String() || rows[2][3] != "600" {
		t.Errorf("unlinked rows: %v", rows[1:])
	}
	rows = readCSV(t, b.get("/ledger.csv?part=mismatches"))
	if strings.Join(rows[0], ",") != "payout_id,org_id,created_at,status,status_detail,account,currency,want,got" || len(rows) != 1 {
		t.Fatalf("mismatches export of clean books: %v", rows)
	}
	if a := b.get("/ledger.csv?part=everything"); a.Status != http.StatusBadRequest {
		t.Errorf("unknown part: %d", a.Status)
	}

	// A transfer id written behind the engine's back, without its journal
	// (as cmd/offramp's review test forges one): the payout no longer
	// reconciles, and leaves the unlinked list.
	w.update(func(tx offramp.Tx) error {
		p, err := tx.PayoutAnyOrg(w.ctx, second.ID)
		if err != nil {
			return err
		}
		p.ExchangeTransferID = "tx-forged"
		return tx.UpdatePayout(w.ctx, p, p.Status, p.Phase)
	})
	a = b.get("/ledger")
	if strings.Contains(a.Body, "Books reconcile") || !strings.Contains(a.Body, "The books do not reconcile: 1 mismatch") {
		t.Fatalf("a forged payout reconciles:\n%s", a.Body)
	}
	mm := a.Body[strings.Index(a.Body, `id="mismatches"`):]
	mm = mm[:strings.Index(mm, "</table>")]
	if !strings.Contains(mm, `href="/payouts/`+second.ID.String()+`"`) || !strings.Contains(mm, offramp.AccountExchangeReceivable) ||
		strings.Contains(mm, first.ID.String()) {
		t.Errorf("mismatch table:\n%s", mm)
	}
	if strings.Contains(a.Body, `data-payout="`+second.ID.String()+`"`) {
		t.Error("a payout with a transfer id is still listed as unlinked")
	}
	rows = readCSV(t, b.get("/ledger.csv?part=mismatches"))
	if len(rows) != 2 || rows[1][0] != second.ID.String() || rows[1][5] != offramp.AccountExchangeReceivable ||
		rows[1][6] != "USDT" || rows[1][7] != "0" || rows[1][8] != "50" {
		t.Errorf("mismatches export: %v", rows)
	}
}
