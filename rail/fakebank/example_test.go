package fakebank_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/clock"
	"github.com/offramp/offramp/rail/fakebank"
)

// A bank that commits a transfer and then never answers: the test lets the
// call go when it chooses, without a timer, and the books show what the
// bank holds.
func Example_hang() {
	clk := clock.NewFake(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	bank := fakebank.New(fakebank.Options{Clock: clk, Settle: 2 * time.Second})
	defer bank.Close()
	bank.ScriptReference("payout-1", fakebank.Script{Submits: []fakebank.SubmitFault{fakebank.Hang}})

	done := make(chan error)
	go func() {
		_, err := bank.Submit(context.Background(), transfer("payout-1", "50100012341234"))
		done <- err
	}()
	bank.WaitHanging(context.Background(), 1)
	bank.Release("payout-1")
	err := <-done
	fmt.Println("unknown outcome:", errors.Is(err, fakebank.ErrReleased), "not sent:", errors.Is(err, offramp.ErrRailNotSent))

	clk.Advance(2 * time.Second)
	res, _ := bank.Inquire(context.Background(), "payout-1")
	fmt.Println(res.Status, bank.Transfers("payout-1"), bank.Paid("payout-1"), bank.PaidMoreThanOnce())
	// Output:
	// unknown outcome: true not sent: false
	// SUCCESS 1 1 []
}
