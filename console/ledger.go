package console

import (
	"encoding/csv"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/ledger"
	"github.com/offramp/offramp/service"
)

// ledgerRoutes registers the ledger pages.
func (c *Console) ledgerRoutes(route func(pattern string, need offramp.Role, h handler)) {
	route("GET /ledger", offramp.RoleViewer, c.ledger)
	route("GET /ledger.csv", offramp.RoleViewer, c.ledgerCSV)
}

// unlinkedLimit bounds the unlinked payouts the page lists (the CSV has
// them all): past a few hundred the list is an incident, not a queue.
const unlinkedLimit = 500

type unlinkedRow struct {
	P   offramp.Payout
	Age time.Duration
}

type balanceRow struct {
	Account, Currency string
	// Amount is signed: positive a debit balance, negative a credit one.
	Amount string
	Note   string
}

type mismatchRow struct {
	P                 offramp.Payout
	Account, Currency string
	Want, Got         string
}

type ledgerData struct {
	// R is the service's ledger check, the same one `offramp admin ledger
	// check` prints, so the page and the command never disagree.
	R              service.LedgerReport
	Balances       []balanceRow
	Totals         []balanceRow // per currency: zero unless the books are broken
	TotalsNonZero  bool
	Unlinked       []unlinkedRow
	UnlinkedTotal  int
	UnlinkedMore   bool
	OldestUnlinked time.Duration
	Mismatches     []mismatchRow
}

// accountNotes say what each account's balance means, for an operator who
// did not write package ledger.
var accountNotes = map[string]string{
	offramp.AccountExchangeReceivable: "crypto the exchanges owe for payouts whose transfer is not linked yet",
	offramp.AccountCryptoWallet:       "crypto received from the exchanges",
	offramp.AccountFXConversion:       "bridges each payout's crypto leg and INR leg",
	offramp.AccountCustomerPayable:    "INR owed to customers until the bank pays them",
	offramp.AccountPlatformFees:       "platform fee revenue",
	offramp.AccountClientFees:         "client (exchange) fees payable",
	offramp.AccountPGFees:             "payment gateway fees payable",
	offramp.AccountGSTPayable:         "GST payable",
	offramp.AccountTDSPayable:         "TDS (194S) payable",
	offramp.AccountRounding:           "rounding revenue",
	offramp.AccountBankFloat:          "INR paid out of the payout bank account (negative: drawn down)",
}

// ledgerReport runs the service's ledger check and puts the unlinked
// payouts oldest first (the store lists them newest first), with their
// age on the console's clock.
func (c *Console) ledgerReport(r *http.Request) (service.LedgerReport, []unlinkedRow, error) {
	rep, err := c.svc.CheckLedger(r.Context())
	if err != nil {
		return service.LedgerReport{}, nil, err
	}
	sort.SliceStable(rep.Unlinked, func(i, j int) bool {
		a, b := rep.Unlinked[i], rep.Unlinked[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID.String() < b.ID.String()
	})
	now := c.now()
	rows := make([]unlinkedRow, len(rep.Unlinked))
	for i, p := range rep.Unlinked {
		rows[i] = unlinkedRow{P: p, Age: max(now.Sub(p.CreatedAt), 0)}
	}
	sortMismatches(rep.Mismatches)
	return rep, rows, nil
}

// sortMismatches orders mismatches by payout creation, then account, so
// the page and the CSV list them the same way every time.
func sortMismatches(ms []ledger.Mismatch) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if !a.Payout.CreatedAt.Equal(b.Payout.CreatedAt) {
			return a.Payout.CreatedAt.Before(b.Payout.CreatedAt)
		}
		if a.Payout.ID != b.Payout.ID {
			return a.Payout.ID.String() < b.Payout.ID.String()
		}
		return a.Key.Account < b.Key.Account
	})
}

// ledger shows the books: every account's balance per currency (the sum
// of the postings of every journal), the payouts still waiting for the
// exchange's transfer, oldest first, and every payout whose postings do
// not match its status.
func (c *Console) ledger(w http.ResponseWriter, r *http.Request, s *session) {
	rep, rows, err := c.ledgerReport(r)
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	data := ledgerData{R: rep, UnlinkedTotal: len(rows)}
	for _, b := range rep.Balances {
		data.Balances = append(data.Balances, balanceRow{Account: b.Account, Currency: b.Currency,
			Amount: signedAmount(b.Currency, b.Balance), Note: accountNotes[b.Account]})
	}
	currencies := make([]string, 0, len(rep.Totals))
	for cur := range rep.Totals {
		currencies = append(currencies, cur)
	}
	sort.Strings(currencies)
	for _, cur := range currencies {
		t := rep.Totals[cur]
		data.Totals = append(data.Totals, balanceRow{Currency: cur, Amount: signedAmount(cur, t)})
		data.TotalsNonZero = data.TotalsNonZero || !t.IsZero()
	}
	if len(rows) > 0 {
		data.OldestUnlinked = rows[0].Age
	}
	if len(rows) > unlinkedLimit {
		rows, data.UnlinkedMore = rows[:unlinkedLimit], true
	}
	data.Unlinked = rows
	for _, m := range rep.Mismatches {
		data.Mismatches = append(data.Mismatches, mismatchRow{P: m.Payout, Account: m.Key.Account, Currency: m.Key.Currency,
			Want: signedAmount(m.Key.Currency, m.Want), Got: signedAmount(m.Key.Currency, m.Got)})
	}
	c.render(w, r, http.StatusOK, "ledger", s, data)
}

// ledgerParts are the CSV exports, each a table of its own: one file per
// part keeps every file a plain rectangle a spreadsheet opens as is.
var ledgerParts = map[string][]string{
	"balances": {"account", "currency", "balance"},
	"unlinked": {"payout_id", "org_id", "created_at", "age_seconds", "status", "status_detail", "asset", "sending_amount",
		"receiving_amount_inr", "bank_reference", "exchange_order_id", "client_reference_id"},
	"mismatches": {"payout_id", "org_id", "created_at", "status", "status_detail", "account", "currency", "want", "got"},
}

// ledgerCSV exports one part of the ledger page: ?part=balances (the
// default), unlinked or mismatches.
func (c *Console) ledgerCSV(w http.ResponseWriter, r *http.Request, s *session) {
	part := r.URL.Query().Get("part")
	if part == "" {
		part = "balances"
	}
	header, ok := ledgerParts[part]
	if !ok {
		c.failAs(w, r, s, http.StatusBadRequest, "Unknown export: choose part=balances, unlinked or mismatches.")
		return
	}
	rep, rows, err := c.ledgerReport(r)
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="ledger-`+part+"-"+c.clock.Now().In(ist).Format("20060102-150405")+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	switch part {
	case "balances":
		for _, b := range rep.Balances {
			_ = cw.Write([]string{b.Account, b.Currency, b.Balance.String()})
		}
	case "unlinked":
		for _, u := range rows {
			p := u.P
			_ = cw.Write([]string{p.ID.String(), p.OrgID.String(), rfc3339(p.CreatedAt), strconv.FormatInt(int64(u.Age/time.Second), 10),
				string(p.Status), string(p.Phase), p.Asset, p.SendingAmount.String(), p.ReceivingAmount.StringFixed(2),
				cell(p.RailReference), cell(p.ExchangeOrderID), cell(p.ClientReferenceID)})
		}
	case "mismatches":
		for _, m := range rep.Mismatches {
			p := m.Payout
			_ = cw.Write([]string{p.ID.String(), p.OrgID.String(), rfc3339(p.CreatedAt), string(p.Status), string(p.Phase),
				m.Key.Account, m.Key.Currency, m.Want.String(), m.Got.String()})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		c.log.WarnContext(r.Context(), "console: writing the ledger CSV export", "part", part, "err", err)
	}
}

// signedAmount shows a ledger amount with its sign and currency: INR with
// Indian grouping, anything else (crypto) with every recorded digit; a
// debit or credit reads with the same minus sign either way.
func signedAmount(cur string, d decimal.Decimal) string {
	if cur == "INR" {
		return formatINR(d)
	}
	if d.IsNegative() {
		return "−" + d.Neg().String() + " " + cur
	}
	return d.String() + " " + cur
}
