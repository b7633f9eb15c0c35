// Package rail holds Offramp's bank rails: implementations of offramp.Rail.
//
// # Sandbox
//
// Sandbox is a simulated IMPS bank. It exists so that the payout engine can
// be tested against a bank that fails the way real banks fail, not only
// against one that always answers. It keeps its books in its own SQLite file,
// separate from Offramp's database, so that what the bank has committed
// survives an Offramp process being killed, exactly as a real bank's ledger
// would: after a restart the engine must find out by inquiry, not by
// resending, and the bank's books tell a test whether it paid twice.
//
// Every transfer is keyed by its reference and the bank refuses a second
// transfer under a reference it already holds (DedupsReferences is true): a
// repeated Submit returns the state of the existing transfer instead.
//
// # Magic values
//
// The last four digits of the beneficiary's account number choose what the
// bank does with a transfer:
//
//	any other  Submit returns ACCEPTED; once Settle (default 2 s, measured on
//	           the sandbox's Clock) has passed since acceptance, Inquire
//	           returns SUCCESS with a 12-digit UTR.
//	3333       Submit returns REJECTED, Reason BENEFICIARY_BANK_REJECTED.
//	           The rejection is recorded: Inquire returns it too.
//	4444       The bank commits the transfer and never answers: Submit blocks
//	           until its context is done and returns an error wrapping
//	           ctx.Err(). The transfer settles like an ordinary one, so a
//	           later Inquire finds SUCCESS. This is the case that punishes a
//	           caller who treats a timeout as a failure.
//	5555       The bank commits the transfer, never answers Submit, and never
//	           settles it: Inquire returns ACCEPTED forever. This is the case
//	           that must end in manual review.
//
// A repeated Submit for a 4444 or 5555 transfer blocks again: the bank is
// still not answering.
//
// A transfer with an empty reference or a non-positive amount is refused
// with REJECTED and Reason INVALID_REQUEST (no error), as a bank's API
// validation would, and no transfer is recorded.
//
// # Failure model
//
// A Submit that reaches the bank is processed to the end even if the
// caller's context is cancelled meanwhile, because a real bank does not roll
// back when its client hangs up. If the context is done by the time the
// answer would be returned, the answer is lost: Submit returns an error
// wrapping ctx.Err() although the bank may hold the transfer. An error from
// Submit therefore always means "outcome unknown", as offramp.Rail requires.
package rail
