package sqlstore

import (
	"testing"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/sqlstore/storetest"
)

// The console's part of the conformance suite (operators, sessions,
// proposals, the audit chain) on both engines.

func TestSQLiteOperatorAuditConformance(t *testing.T) {
	storetest.RunConsole(t, func(t *testing.T) offramp.Store {
		s, _ := openTemp(t)
		return s
	})
}

func TestPostgresOperatorAuditConformance(t *testing.T) {
	storetest.RunConsole(t, func(t *testing.T) offramp.Store { return openPGTemp(t) })
}
