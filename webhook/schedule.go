package webhook

import (
	"time"

	"github.com/offramp/offramp/backoff"
)

// Schedule holds the delays before attempts 2, 3, ... of a delivery; attempt
// 1 is immediate. Its sum is 75 h 42 min 35 s, so the last of the 13
// attempts comes a little over three days after the first (see the table in
// the package documentation). Do not modify it at run time.
var Schedule = []time.Duration{
	5 * time.Second,
	30 * time.Second,
	2 * time.Minute,
	10 * time.Minute,
	30 * time.Minute,
	1 * time.Hour,
	2 * time.Hour,
	4 * time.Hour,
	8 * time.Hour,
	12 * time.Hour,
	24 * time.Hour,
	24 * time.Hour,
}

// NextDelay returns how long to wait before the next attempt after attempt
// failed attempts (1-based): Schedule[attempt-1] with ±10 % uniform jitter,
// so receivers that came back up are not hit by every sender at once (the
// [backoff.Policy] with Steps: Schedule, Jitter: 0.1). It returns false when
// the schedule is exhausted (attempt > len(Schedule)): give up and mark the
// delivery failed. attempt < 1 means nothing has failed yet: the first
// attempt is immediate, (0, true).
func NextDelay(attempt int) (time.Duration, bool) {
	if attempt < 1 {
		return 0, true
	}
	return backoff.Policy{Steps: Schedule, Jitter: 0.1}.Delay(attempt)
}
