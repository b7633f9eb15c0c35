// Package backoff is Offramp's one retry policy: how long to wait before
// attempt n+1 of anything that failed (a job, a bank inquiry, a webhook
// delivery, an SDK request, a database transaction that lost a conflict).
//
// One rule everywhere, so that an operator reading a schedule in the README
// can predict every retry: the nominal delay is Base doubled per attempt
// (or Steps[n-1] when a fixed schedule is given), capped at Max, and then
// spread uniformly over ±Jitter of itself so that work that failed
// together does not retry together. Pure: the random draw is an argument,
// so a simulation replays the same waits from the same seed.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is a retry schedule.
type Policy struct {
	// Base is the nominal delay before the second attempt; it doubles per
	// attempt after that.
	Base time.Duration
	// Max caps the nominal delay (zero: no cap).
	Max time.Duration
	// Steps, when set, replaces the doubling: attempt n waits Steps[n-1],
	// and Attempts is len(Steps).
	Steps []time.Duration
	// Jitter is the fraction of the nominal delay the actual delay may
	// differ by either way (0.1 is ±10 %). 0 means none; at most 1.
	Jitter float64
}

// Nominal is the delay after attempt (1-based) failed, before jitter, and
// whether another attempt is allowed (always, unless Steps ran out).
func (p Policy) Nominal(attempt int) (time.Duration, bool) {
	if attempt < 1 {
		attempt = 1
	}
	if len(p.Steps) > 0 {
		if attempt > len(p.Steps) {
			return 0, false
		}
		return p.Steps[attempt-1], true
	}
	d := p.Base
	for i := 1; i < attempt; i++ {
		if p.Max > 0 && d >= p.Max {
			break
		}
		if d > time.Duration(1<<62)/2 {
			break // would overflow; Max (if any) is below it anyway
		}
		d *= 2
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	return d, true
}

// DelayAt is the delay after attempt failed, with u in [0, 1) as the
// random draw: u = 0.5 gives the nominal delay.
func (p Policy) DelayAt(attempt int, u float64) (time.Duration, bool) {
	d, ok := p.Nominal(attempt)
	if !ok {
		return 0, false
	}
	j := min(max(p.Jitter, 0), 1)
	return time.Duration(float64(d) * (1 + j*(2*u-1))), true
}

// Delay is DelayAt with a fresh random draw.
func (p Policy) Delay(attempt int) (time.Duration, bool) {
	// #nosec G404 -- retry jitter needs no unpredictability.
	return p.DelayAt(attempt, rand.Float64())
}
