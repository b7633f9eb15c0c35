package railtest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail/fakebank"
	"github.com/offramp/offramp/rail/railtest"
)

// The suite is only worth running if it fails on a bank that breaks the
// contract. TestSuiteCatchesBrokenBanks runs it on deliberately broken
// banks (mutants of the fake bank) in a child process, since a failing
// subtest would fail this one, and checks that each mutant fails the
// subtest that guards the promise it breaks.

const mutantEnv = "RAILTEST_RUN_MUTANTS"

const settle, pendingFor, reverseAfter = 5 * time.Second, 10 * time.Minute, time.Hour

// rail overrides some of a Rail's methods.
type rail struct {
	offramp.Rail
	submit  func(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error)
	inquire func(ctx context.Context, ref string) (offramp.RailResult, error)
	caps    *offramp.RailCapabilities
}

func (r rail) Submit(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
	if r.submit != nil {
		return r.submit(ctx, t)
	}
	return r.Rail.Submit(ctx, t)
}

func (r rail) Inquire(ctx context.Context, ref string) (offramp.RailResult, error) {
	if r.inquire != nil {
		return r.inquire(ctx, ref)
	}
	return r.Rail.Inquire(ctx, ref)
}

func (r rail) Capabilities() offramp.RailCapabilities {
	if r.caps != nil {
		return *r.caps
	}
	return r.Rail.Capabilities()
}

// mutant breaks one promise of a well-behaved fake bank.
type mutant struct {
	name string
	// failing are subtests (paths under the mutant's) that must fail.
	failing []string
	opts    fakebank.Options
	// pendingFate overrides the Pending account's fate.
	pendingFate *fakebank.Fate
	// noSilent leaves the Silent account out (for a mutant that would
	// hang on it).
	noSilent bool
	wrap     func(b *fakebank.Bank) offramp.Rail
}

var mutants = []mutant{
	{name: "Honest", failing: nil},
	{
		name:    "ClaimsDedupButDuplicates",
		failing: []string{"Duplicate/Accepted", "Concurrent/Same"},
		opts:    fakebank.Options{NoDedup: true},
		wrap: func(b *fakebank.Bank) offramp.Rail {
			return rail{Rail: b, caps: &offramp.RailCapabilities{DedupsReferences: true}}
		},
	},
	{
		name:    "UTRChangesOnInquiry",
		failing: []string{"Pays"},
		wrap: func(b *fakebank.Bank) offramp.Rail {
			var mu sync.Mutex
			n := 0
			return rail{Rail: b, inquire: func(ctx context.Context, ref string) (offramp.RailResult, error) {
				res, err := b.Inquire(ctx, ref)
				if res.Status == offramp.RailSuccess {
					mu.Lock()
					n++
					res.UTR = fmt.Sprintf("%s-%d", res.UTR, n)
					mu.Unlock()
				}
				return res, err
			}}
		},
	},
	{
		name:    "RejectsDuplicates",
		failing: []string{"Duplicate/Accepted", "Concurrent/Same"},
		wrap: func(b *fakebank.Bank) offramp.Rail {
			return rail{Rail: b, submit: func(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
				if b.Transfers(t.Reference) > 0 {
					return offramp.RailResult{Status: offramp.RailRejected, Reason: "DUPLICATE_REFERENCE"}, nil
				}
				return b.Submit(ctx, t)
			}}
		},
	},
	{
		name:    "AcceptsInvalid",
		failing: []string{"Invalid/ZeroAmount", "Invalid/EmptyReference"},
		wrap: func(b *fakebank.Bank) offramp.Rail {
			return rail{Rail: b, submit: func(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
				if t.Reference == "" || !t.Amount.IsPositive() {
					return offramp.RailResult{Status: offramp.RailAccepted}, nil
				}
				return b.Submit(ctx, t)
			}}
		},
	},
	{
		name:    "ForgetsRejections",
		failing: []string{"Rejects"},
		wrap: func(b *fakebank.Bank) offramp.Rail {
			return rail{Rail: b, inquire: func(ctx context.Context, ref string) (offramp.RailResult, error) {
				res, err := b.Inquire(ctx, ref)
				if res.Status == offramp.RailRejected {
					return offramp.RailResult{Status: offramp.RailNotFound}, err
				}
				return res, err
			}}
		},
	},
	{
		name:    "HidesPostingDelay",
		failing: []string{"Pays"},
		opts:    fakebank.Options{PostingDelay: time.Minute},
		wrap: func(b *fakebank.Bank) offramp.Rail {
			return rail{Rail: b, caps: &offramp.RailCapabilities{DedupsReferences: true}}
		},
	},
	{
		name:    "ReversalLosesUTR",
		failing: []string{"Reversed"},
		wrap: func(b *fakebank.Bank) offramp.Rail {
			return rail{Rail: b, inquire: func(ctx context.Context, ref string) (offramp.RailResult, error) {
				res, err := b.Inquire(ctx, ref)
				if res.Status == offramp.RailReversed {
					res.UTR = "999999999999"
				}
				return res, err
			}}
		},
	},
	{
		name:     "NotSentButCommitted",
		failing:  []string{"Context/AlreadyCancelled", "Context/DeadlinePassed"},
		noSilent: true,
		wrap: func(b *fakebank.Bank) offramp.Rail {
			return rail{Rail: b, submit: func(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
				if err := ctx.Err(); err != nil {
					b.Submit(context.WithoutCancel(ctx), t)
					return offramp.RailResult{}, offramp.RailNotSent(err)
				}
				return b.Submit(ctx, t)
			}}
		},
	},
	{
		name:        "PendingSettlesEarly",
		failing:     []string{"Pending"},
		pendingFate: &[]fakebank.Fate{fakebank.Pay(settle)}[0],
	},
	{
		name:    "SilentAnswers",
		failing: []string{"Silent"},
		wrap: func(b *fakebank.Bank) offramp.Rail {
			return rail{Rail: b, submit: func(ctx context.Context, t offramp.RailTransfer) (offramp.RailResult, error) {
				if _, err := b.Submit(ctx, t); err != nil {
					return offramp.RailResult{Status: offramp.RailAccepted}, nil
				}
				return b.Submit(ctx, t)
			}}
		},
	},
}

func (m mutant) harness(t *testing.T) railtest.Harness {
	clk := clock.NewFake(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	opts := m.opts
	opts.Clock, opts.Settle = clk, settle
	b := fakebank.New(opts)
	t.Cleanup(b.Close)
	acct := func(n string) railtest.Account {
		return railtest.Account{Number: n, IFSC: "HDFC0001234", Name: "Asha Rao"}
	}
	h := railtest.Harness{
		Rail: b, Advance: clk.Advance,
		Pays: acct("200000000001"), Rejects: acct("200000000002"), Pending: acct("200000000003"),
		Reverses: acct("200000000004"), Silent: acct("200000000005"),
		Settle: settle, PendingFor: pendingFor, ReverseAfter: reverseAfter,
		Transfers: b.Transfers,
	}
	pending := fakebank.Pay(pendingFor)
	if m.pendingFate != nil {
		pending = *m.pendingFate
	}
	b.ScriptAccount(h.Rejects.Number, fakebank.Script{Fate: fakebank.Reject("")})
	b.ScriptAccount(h.Pending.Number, fakebank.Script{Fate: pending})
	b.ScriptAccount(h.Reverses.Number, fakebank.Script{Fate: fakebank.Reverse(settle, reverseAfter, "")})
	b.ScriptAccount(h.Silent.Number, fakebank.Script{SubmitsThen: fakebank.Hang})
	if m.noSilent {
		h.Silent = railtest.Account{}
	}
	if m.wrap != nil {
		h.Rail = m.wrap(b)
	}
	return h
}

// TestMutants runs the suite on every mutant; it is run by
// TestSuiteCatchesBrokenBanks in a child process, where it is meant to fail.
func TestMutants(t *testing.T) {
	if os.Getenv(mutantEnv) == "" {
		t.Skip("run by TestSuiteCatchesBrokenBanks in a child process")
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			railtest.Run(t, m.harness)
		})
	}
}

func TestSuiteCatchesBrokenBanks(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("inside the child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMutants$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), mutantEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed every mutant bank:\n%s", out)
	}
	lines := strings.Split(string(out), "\n")
	failed := map[string]bool{}
	for _, l := range lines {
		if f, ok := strings.CutPrefix(strings.TrimSpace(l), "--- FAIL: TestMutants/"); ok {
			failed[strings.Fields(f)[0]] = true
		}
	}
	if len(failed) == 0 {
		t.Fatalf("child process failed without failing subtests (%v):\n%s", err, out)
	}
	for _, m := range mutants {
		if m.failing == nil {
			for name := range failed {
				if strings.HasPrefix(name, m.name+"/") || name == m.name {
					t.Errorf("the honest fake bank failed %s", name)
				}
			}
			continue
		}
		for _, sub := range m.failing {
			if !failed[m.name+"/"+sub] {
				t.Errorf("mutant %s passed %s; the suite must catch it", m.name, sub)
			}
		}
	}
	if t.Failed() {
		t.Logf("child output:\n%s", out)
	}
}
