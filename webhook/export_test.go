package webhook

import (
	"context"

	"github.com/offramp/offramp"
)

// Attempt makes the attempt of j (sending it if due) without recording
// it, and returns the function that records it, so a test can crash the
// runner in between (never record) or change the store meanwhile.
func (d *Deliverer) Attempt(ctx context.Context, j offramp.Job) (record func() error, err error) {
	o, err := d.attempt(ctx, j)
	if err != nil {
		return nil, err
	}
	return func() error { return d.record(ctx, j, o) }, nil
}
