package client

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// maxAhead is how far (in seconds) a timestamp may be moved ahead of the
// clock to keep signatures unique. The server accepts up to 300 s.
const maxAhead = 240

// stampBook hands out X-TIMESTAMP values for mutating requests so that no
// (API key, timestamp, canonical body) triple, hence no signature, is ever
// used twice by this process: the server treats a POST or PATCH signature as
// single-use, and timestamps count whole seconds, so two identical bodies
// (two bodiless POSTs, a retry) sent within one second would otherwise carry
// the same signature and the second be refused.
//
// It remembers the last timestamp given per hash of key and body and gives
// max(now, last+1). An entry whose timestamp is in the past can no longer
// change an answer and is dropped, so the map holds only the bodies signed
// in the current second (or moved ahead of it). It is shared by every
// Client in the process, since two clients with the same key collide just
// the same.
type stampBook struct {
	mu     sync.Mutex
	last   map[[32]byte]int64
	pruned int64
	now    func() time.Time
}

var stamps = &stampBook{last: map[[32]byte]int64{}, now: time.Now}

// next returns the timestamp (Unix seconds) to sign canonical with. If
// hundreds of identical requests in one second would push it more than
// maxAhead seconds ahead of the clock, it waits for the clock instead.
func (s *stampBook) next(ctx context.Context, apiKey string, canonical []byte) (int64, error) {
	key := stampKey(apiKey, canonical)
	for {
		ts, ok := s.take(key)
		if ok {
			return ts, nil
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}

// stampKey identifies an API key and canonical body.
func stampKey(apiKey string, canonical []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(apiKey))
	h.Write([]byte{0})
	h.Write(canonical)
	var key [32]byte
	h.Sum(key[:0])
	return key
}

func (s *stampBook) take(key [32]byte) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Unix()
	if now != s.pruned {
		for k, ts := range s.last {
			if ts < now {
				delete(s.last, k)
			}
		}
		s.pruned = now
	}
	ts := now
	if last, ok := s.last[key]; ok && last >= now {
		switch {
		case last-now > maxAhead:
			// The clock stepped back: the old entry is far ahead of any
			// timestamp used now, start again from the clock.
		case last-now == maxAhead:
			return 0, false
		default:
			ts = last + 1
		}
	}
	s.last[key] = ts
	return ts, true
}
