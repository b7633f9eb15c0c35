package sqlstore

import (
	"testing"

	"github.com/offramp/offramp/sqlstore/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster the PostgreSQL tests
// start (see package pgtest) once the tests are done.
func TestMain(m *testing.M) { pgtest.Main(m) }
