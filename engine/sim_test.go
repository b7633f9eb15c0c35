package engine_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/rail/fakebank"
)

var (
	simSeeds   = flag.Int("sim.seeds", 8, "seeds the deterministic simulation runs")
	simPayouts = flag.Int("sim.payouts", 50, "payouts per seed")
	simSeed    = flag.Int64("sim.seed", -1, "run only this seed (replays a failure exactly)")
)

// TestSimulation is a deterministic simulation of the engine against a
// faulty bank and a faulty database: per seed, a fake clock, bank answers
// and faults (lost answers, 5xx after commit, resets, hangs, refusals,
// rejections, long pendings, reversals, inquiry errors, posting lag), the
// database answering busy, and the process crashing before or after a
// commit, all drawn from the seed. Everything runs on one goroutine and
// every random draw (UUIDs included) comes from the seed, so a failing seed
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
// go test ./engine -run TestSimulation -sim.seeds 5000 runs more.
func TestSimulation(t *testing.T) {
	// Not parallel: the seed drives uuid's global source while it runs.
	seeds := make([]int64, 0, *simSeeds)
	if *simSeed >= 0 {
		seeds = append(seeds, *simSeed)
	} else {
		for s := range *simSeeds {
			seeds = append(seeds, int64(s))
		}
	}
	failed := 0
	for _, seed := range seeds {
		if !simulate(t, seed, *simPayouts) {
			failed++
			if failed >= 3 {
				t.Fatalf("stopping after %d failing seeds", failed)
			}
		}
	}
	t.Logf("%d seeds × %d payouts: %d failed", len(seeds), *simPayouts, failed)
}

type chachaReader struct{ r *rand.ChaCha8 }

func (c chachaReader) Read(p []byte) (int, error) { return c.r.Read(p) }

func simulate(t *testing.T, seed int64, n int) bool {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], uint64(seed))
	uuid.SetRand(chachaReader{rand.NewChaCha8(key)})
	defer uuid.SetRand(nil)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))

	ok := true
	st := &simT{TB: t, seed: seed, ok: &ok}
	var bank *fakebank.Bank
	h := newHarness(st, harnessOpts{rail: railFunc(func() offramp.Rail { return bank }), rand: rng.Float64,
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
		h.clk.Advance(time.Duration(1+rng.IntN(60)) * time.Second)
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
	return ok
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
