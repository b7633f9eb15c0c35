package offramp

import "github.com/google/uuid"

// NewID returns a new id for a row written on the hot path (quotations,
// payouts, journals, events, jobs): a version 7 UUID, whose first 48 bits
// are the time in milliseconds and the remaining 74 random. Ids in time
// order make each index on them grow at its right edge, so the inserts of
// one commit share a few pages; random (version 4) ids put every insert on
// a page of its own anywhere in the index, and once the indexes outgrow
// the page cache each one is read back and rewritten whole, which is why
// an initiate grew slower as history grew. Every lookup is scoped to the
// calling organization, so the readable time adds nothing to what
// created_at already tells its owner.
func NewID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does, and then
		// uuid.New panics too.
		panic(err)
	}
	return id
}
