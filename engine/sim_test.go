package engine_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/rail/fakebank"
)

var (
	simSeeds   = flag.Int("sim.seeds", 0, "seeds the deterministic simulation runs (default 200; 8 under the race detector)")
	simPayouts = flag.Int("sim.payouts", 0, "payouts per seed (default 200; 50 under the race detector)")
	simSeed    = flag.Int64("sim.seed", -1, "run only this seed (replays a failure exactly)")
)

// TestSimulation is a deterministic simulation of the engine against a
// faulty bank and a faulty database: per seed, a fake clock, bank answers
// and faults (lost answers, 5xx after commit, resets, hangs, refusals,
// rejections, long pendings, reversals, inquiry errors, posting lag), the
// database answering busy, and the process crashing before or after a
// commit, all drawn from the seed. Everything runs on one goroutine and
// every random draw (the ids the claim order depends on included) comes
// from the seed, so a failing seed
// replays identically with -sim.seed. After every seed:
//
//   - no transfer was paid twice by the bank;
//   - no payout is still PROCESSING past its settlement deadline: each
//     ended SUCCESS, FAILED or IN_REVIEW;
//   - each payout agrees with the bank: SUCCESS only with the bank's UTR
//     for a transfer it paid, FAILED only for one it did not pay (or
//     reversed);
//   - exactly one live job per unfinished payout (checked throughout);
//   - every journal balances and every payout reconciles with its status.
//
// By default 200 seeds × 200 payouts (8 × 50 under the race detector,
// where .ci/run adds a full run without it); go test ./engine -run
// TestSimulation -sim.seeds 5000 runs more.
func TestSimulation(t *testing.T) {
	nSeeds, nPayouts := 200, 200
	if raceEnabled {
		// The race detector makes every SQLite statement some thirty
		// times slower; .ci/run also runs the full simulation without it.
		nSeeds, nPayouts = 8, 50
	}
	if *simSeeds > 0 {
		nSeeds = *simSeeds
	}
	if *simPayouts > 0 {
		nPayouts = *simPayouts
	}
	seeds := make([]int64, 0, nSeeds)
	if *simSeed >= 0 {
		seeds = append(seeds, *simSeed)
	} else {
		for s := range nSeeds {
			seeds = append(seeds, int64(s))
		}
	}
	var failed atomic.Int64
	t.Run("seeds", func(t *testing.T) {
		for _, seed := range seeds {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				if failed.Load() >= 3 {
					t.Skip("three seeds failed already")
				}
				if !simulate(t, seed, nPayouts) {
					failed.Add(1)
				}
			})
		}
	})
	t.Logf("%d seeds × %d payouts: %d failed", len(seeds), nPayouts, failed.Load())
}

// TestSimulationReplays runs one seed twice: the same seed must give the
// same run, to the last bank call, or a failing seed could not be replayed.
func TestSimulationReplays(t *testing.T) {
	t.Parallel()
	var prints [2]string
	for i := range prints {
		prints[i] = fingerprint(t, 7, 40)
	}
	if prints[0] != prints[1] {
		t.Fatalf("seed 7 ran differently twice:\n%s\n---\n%s", prints[0], prints[1])
	}
}

func simulate(t *testing.T, seed int64, n int) bool {
	ok, _ := run(t, seed, n)
	return ok
}

func fingerprint(t *testing.T, seed int64, n int) string {
	_, print := run(t, seed, n)
	return print
}

// run simulates one seed; it returns whether every invariant held and a
// fingerprint of the run (every payout's end state and the bank's calls).
func run(t *testing.T, seed int64, n int) (bool, string) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], uint64(seed))
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))

	ok := true
	st := &simT{TB: t, seed: seed, ok: &ok}
	var bank *fakebank.Bank
	h := newHarness(st, harnessOpts{ids: rand.NewChaCha8(key), rail: railFunc(func() offramp.Rail { return bank }), rand: rng.Float64,
		cfg: engine.Config{SettlementDeadline: 6 * time.Hour, ReversalWindow: 2 * time.Hour, MaxSubmissions: 3}})
	bank = fakebank.New(fakebank.Options{Clock: h.clk, Seed: seed, ImmediateTimeouts: true,
		PostingDelay: time.Duration(rng.IntN(3)) * 30 * time.Second, NoDedup: rng.IntN(10) == 0,
		Pending: time.Duration(1+rng.IntN(8)) * time.Hour, ReverseAfter: time.Duration(1+rng.IntN(90)) * time.Minute,
		Faults: fakebank.Rates{
			NotSent: 0.03, ResetBeforeCommit: 0.03, HangBeforeCommit: 0.02, DropResponse: 0.04, ServerError: 0.03, Hang: 0.03,
			Reject: 0.05, Pending: 0.1, Reverse: 0.03, StayPending: 0.02,
			InquireError: 0.05, InquireHang: 0.02,
		}})
	h.store.fault = func(int64) fault {
		switch x := rng.Float64(); {
		case x < 0.02:
			return busyFault
		case x < 0.03:
			return crashBeforeCommit
		case x < 0.04:
			return crashAfterCommit
		}
		return noFault
	}

	ids := make([]uuid.UUID, 0, n)
	refs := map[uuid.UUID]string{}
	for i := range n {
		p := h.newPayout(fmt.Sprintf("%04d", i))
		ids = append(ids, p.ID)
		refs[p.ID] = p.RailReference
		if i%20 == 19 {
			h.clk.Advance(time.Duration(rng.IntN(30)) * time.Second)
		}
	}
	// Run past every deadline: 6 h settlement + the longest poll, then the
	// reversal window.
	for step := 0; h.clk.Now().Before(t0.Add(9 * time.Hour)); step++ {
		h.runDue()
		if step%200 == 0 {
			h.checkOneJob(ids)
		}
		// Fine steps while most payouts are in flight, coarser ones later.
		if h.clk.Now().Before(t0.Add(30 * time.Minute)) {
			h.clk.Advance(time.Duration(1+rng.IntN(60)) * time.Second)
		} else {
			h.clk.Advance(time.Duration(1+rng.IntN(600)) * time.Second)
		}
	}
	h.store.fault = nil
	h.runDue()

	if twice := bank.PaidMoreThanOnce(); len(twice) > 0 {
		st.Errorf("paid more than once: %v", twice)
	}
	for _, id := range ids {
		p := h.payout(id)
		paid := bank.Paid(refs[id])
		held := bank.Held(refs[id])
		switch p.Status {
		case offramp.PayoutProcessing:
			st.Errorf("payout %s still PROCESSING (%s) after its deadline; bank: %s", id, p.Phase, p.LastBankAnswer)
		case offramp.PayoutSuccess:
			if paid != 1 || len(held) == 0 || held[len(held)-1].Result.UTR != p.UTR {
				st.Errorf("payout %s SUCCESS with UTR %q, but the bank paid it %d times (%+v)", id, p.UTR, paid, held)
			}
		case offramp.PayoutFailed:
			if p.Phase == offramp.PhaseReversed {
				if len(held) == 0 || held[len(held)-1].Result.Status != offramp.RailReversed {
					st.Errorf("payout %s REVERSED, but the bank did not reverse it (%+v)", id, held)
				}
			} else if paid != 0 {
				st.Errorf("payout %s FAILED (%s), but the bank paid it", id, p.FailureReason)
			}
		}
	}
	h.checkOneJob(ids)
	h.checkBooks()
	var fp strings.Builder
	for _, id := range ids {
		p := h.payout(id)
		fmt.Fprintf(&fp, "%s %s %s %s %q %d/%d submit=%d inquire=%d\n", id, p.Status, p.Phase, p.UTR, p.FailureReason,
			p.Submissions, p.Inquiries, bank.SubmitCalls(refs[id]), bank.InquireCalls(refs[id]))
	}
	fmt.Fprintf(&fp, "clock %s, store updates %d\n", h.clk.Now().Format(time.RFC3339Nano), h.store.n.Load())
	return ok, fp.String()
}

// simT prefixes every failure with the seed, so it can be replayed.
type simT struct {
	testing.TB
	seed int64
	ok   *bool
}

func (s *simT) Errorf(format string, args ...any) {
	s.TB.Helper()
	*s.ok = false
	s.TB.Errorf("seed %d (replay: go test ./engine -run TestSimulation -sim.seed %d): "+format, append([]any{s.seed, s.seed}, args...)...)
}

func (s *simT) Fatalf(format string, args ...any) {
	s.TB.Helper()
	*s.ok = false
	s.TB.Fatalf("seed %d (replay: go test ./engine -run TestSimulation -sim.seed %d): "+format, append([]any{s.seed, s.seed}, args...)...)
}

func (s *simT) Fatal(args ...any) { s.Fatalf("%s", fmt.Sprint(args...)) }

func (s *simT) Helper() {}
