package offramp_test

import (
	"bytes"
	"testing"

	"github.com/offramp/offramp"
)

// NewID's ids must be version 7 and increase within a process: that is
// what keeps the hot tables' index inserts at the right edge.
func TestNewIDIsTimeOrdered(t *testing.T) {
	prev := offramp.NewID()
	for range 10000 {
		id := offramp.NewID()
		if id.Version() != 7 {
			t.Fatalf("NewID() = %s, version %d; want 7", id, id.Version())
		}
		if bytes.Compare(id[:], prev[:]) <= 0 {
			t.Fatalf("NewID() = %s after %s: not increasing", id, prev)
		}
		prev = id
	}
}
