package rail_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail"
	"github.com/offramp/offramp/rail/fakebank"
	"github.com/offramp/offramp/rail/railtest"
)

var epoch = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func account(number string) railtest.Account {
	return railtest.Account{Number: number, IFSC: "HDFC0001234", Name: "Asha Rao"}
}

// TestSandboxConformance runs the bank contract's suite on the sandbox
// bank, one fresh set of books per subtest.
func TestSandboxConformance(t *testing.T) {
	t.Parallel()
	const settle, pending = 5 * time.Second, 10 * time.Minute
	railtest.Run(t, func(t *testing.T) railtest.Harness {
		clk := clock.NewFake(epoch)
		s, err := rail.OpenSandbox(filepath.Join(t.TempDir(), "bank.db"), rail.SandboxOptions{Settle: settle, Pending: pending, Clock: clk})
		if err != nil {
			t.Fatalf("OpenSandbox: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return railtest.Harness{
			Rail:         s,
			Advance:      clk.Advance,
			Pays:         account("50100012341234"),
			Rejects:      account("987654" + rail.EndingRejected),
			Pending:      account("123456" + rail.EndingPending),
			Reverses:     account("123456" + rail.EndingReversed),
			Silent:       account("111111" + rail.EndingNoAnswer),
			Settle:       settle,
			PendingFor:   pending,
			ReverseAfter: pending,
			Transfers: func(ref string) int {
				n, err := s.Transfers(t.Context(), ref)
				if err != nil {
					t.Fatalf("Transfers(%s): %v", ref, err)
				}
				return n
			},
		}
	})
}

// fakeHarness returns a railtest harness over a fakebank built from opts,
// its accounts scripted with fates.
func fakeHarness(opts fakebank.Options, settle time.Duration, pays, rejects fakebank.Fate) func(t *testing.T) railtest.Harness {
	const pending, reverseAfter = 10 * time.Minute, 24 * time.Hour
	return func(t *testing.T) railtest.Harness {
		clk := clock.NewFake(epoch)
		o := opts
		o.Clock = clk
		b := fakebank.New(o)
		t.Cleanup(b.Close)
		h := railtest.Harness{
			Rail:         b,
			Advance:      clk.Advance,
			Pays:         account("100000000001"),
			Rejects:      account("100000000002"),
			Pending:      account("100000000003"),
			Reverses:     account("100000000004"),
			Silent:       account("100000000005"),
			Settle:       settle,
			PendingFor:   pending,
			ReverseAfter: reverseAfter,
			Transfers:    b.Transfers,
		}
		b.ScriptAccount(h.Pays.Number, fakebank.Script{Fate: pays})
		b.ScriptAccount(h.Rejects.Number, fakebank.Script{Fate: rejects})
		b.ScriptAccount(h.Pending.Number, fakebank.Script{Fate: fakebank.Pay(pending)})
		b.ScriptAccount(h.Reverses.Number, fakebank.Script{Fate: fakebank.Reverse(settle, reverseAfter, "")})
		b.ScriptAccount(h.Silent.Number, fakebank.Script{Fate: fakebank.Pay(settle), SubmitsThen: fakebank.Hang})
		return h
	}
}

func TestFakeBankConformance(t *testing.T) {
	t.Parallel()
	const settle = 5 * time.Second
	for _, tc := range []struct {
		name          string
		opts          fakebank.Options
		settle        time.Duration
		pays, rejects fakebank.Fate
	}{
		{"Default", fakebank.Options{Settle: settle}, settle, fakebank.Pay(settle), fakebank.Reject("")},
		// Paid and rejected in the Submit answer itself.
		{"Immediate", fakebank.Options{Settle: settle}, 0, fakebank.Pay(0), fakebank.Reject("")},
		// Accepted first, rejected on a later inquiry.
		{"LateReject", fakebank.Options{Settle: settle}, settle, fakebank.Pay(settle), fakebank.RejectAfter(settle, "")},
		// NOT_FOUND for 30 s after Submit.
		{"PostingDelay", fakebank.Options{Settle: settle, PostingDelay: 30 * time.Second}, settle, fakebank.Pay(settle), fakebank.Reject("")},
		// Says it does not dedup: the duplicate subtests skip.
		{"NoDedup", fakebank.Options{Settle: settle, NoDedup: true}, settle, fakebank.Pay(settle), fakebank.Reject("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			railtest.Run(t, fakeHarness(tc.opts, tc.settle, tc.pays, tc.rejects))
		})
	}
}
