package server

import "testing"

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://offramp:s3cret@db.internal:5432/offramp?sslmode=require": "postgres://offramp:xxxxx@db.internal:5432/offramp?sslmode=require",
		"postgres://postgres@127.0.0.1/x":                                    "postgres://postgres@127.0.0.1/x",
		"data/offramp.db":                                                    "data/offramp.db",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
