// Package offramp holds Offramp's domain: the types an exchange's payout flow
// is made of (organizations, customers and their KYC, bank accounts, status
// events), the transition rules between their statuses, the one error type
// with stable codes, and the interfaces that adapters implement (Store,
// Verifier, Clock).
//
// It imports no SQL and no HTTP: business rules live in package service,
// storage in sqlstore, the DollarPe-compatible wire format in httpapi.
package offramp
