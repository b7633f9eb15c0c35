package server

import (
	"testing"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/worker"
)

// Only pools whose every kind the service finishes itself skip the
// worker's FinishJob; a pool mixing in another kind keeps it.
func TestWorkerPoolsHandlerFinishes(t *testing.T) {
	want := map[string]bool{"bank": true, "webhook": true, "verify": false}
	for _, p := range workerPools(nil) {
		if p.HandlerFinishes != want[p.Name] {
			t.Errorf("default pool %q: HandlerFinishes %v, want %v", p.Name, p.HandlerFinishes, want[p.Name])
		}
	}
	mixed := workerPools([]worker.Pool{{Name: "all", Kinds: []offramp.JobKind{offramp.JobProcessPayout, offramp.JobVerifyKYC}, Capacity: 2}})
	if mixed[0].HandlerFinishes {
		t.Error("a pool with verify_kyc skips the worker's FinishJob")
	}
}
