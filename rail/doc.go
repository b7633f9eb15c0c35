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
// transfer under a reference it already holds: a repeated Submit returns the
// state of the existing transfer instead, whatever account or amount it
// carries. Capabilities reports DedupsReferences true and PostingDelay 0 (a
// committed transfer is visible to Inquire at once).
//
// The sandbox passes the bank contract's conformance suite, rail/railtest,
// as every adapter must; rail/fakebank is the scriptable in-memory bank for
// the engine's tests and simulations.
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
//	6666       Submit returns ACCEPTED and the transfer stays ACCEPTED for
//	           Pending (default 10 min; the server's --sandbox-pending), then
//	           SUCCESS: a slow bank, which the engine must keep polling, not
//	           mistake for a lost transfer.
//	7777       Paid like an ordinary transfer (SUCCESS after Settle), then
//	           returned by the beneficiary bank Pending after that: REVERSED
//	           with the same UTR and Reason BENEFICIARY_ACCOUNT_CLOSED. This
//	           is the case that turns a paid payout FAILED with
//	           REVERSED_BY_BANK.
//
// A repeated Submit for a 4444 or 5555 transfer blocks again: the bank is
// still not answering. Settlement and reversal are lazy but exact: the
// status changes when someone first looks (Inquire or a repeated Submit)
// after its time on the sandbox's clock has come, and a 7777 transfer first
// looked at after its reversal time is paid and reversed in one step.
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
// Submit therefore always means "outcome unknown", as offramp.Rail requires;
// the sandbox never returns offramp.ErrRailNotSent, since it cannot fail
// before its books have seen the request except on a database error, which
// is reported as unknown too. Closing the sandbox releases silent Submits
// with an error (a dropped connection).
//
// Statuses only move forward: ACCEPTED to SUCCESS or REJECTED, SUCCESS to
// REVERSED. A UTR, once assigned, never changes, and a reversal keeps it.
//
// # Books
//
// The books' schema carries the invariants as CHECK constraints (a UTR
// exactly on SUCCESS and REVERSED, a reason exactly on REJECTED and
// REVERSED, a reversal time exactly on REVERSED) and its version in PRAGMA
// user_version. Books written by an earlier version are migrated when
// opened, in one transaction that rebuilds the transfers table and copies
// every transfer; books from a newer version are refused.
package rail
