package webhook

import (
	"context"

	"github.com/offramp/offramp"
)

// SendOnly makes the attempt of j without recording it: a runner that
// crashed between the request and the transaction that records it.
func (d *Deliverer) SendOnly(ctx context.Context, j offramp.Job) error {
	_, err := d.attempt(ctx, j)
	return err
}
