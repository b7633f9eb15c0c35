package service

import "testing"

func TestNamesMatch(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"Ravi Kumar", "RAVI KUMAR", true},
		{"Kumar, Ravi", "Ravi Kumar", true},
		{"Mr. Ravi Kumar", "Ravi Kumar", true},
		{"Ravi Kumar", "Ravi Kumar Sharma", false},
		{"Sandbox Technologies Pvt Ltd", "Ravi Kumar", false},
		{"", "", false},
		{"José Müller", "josé müller", true},
	}
	for _, c := range cases {
		if got := NamesMatch(c.a, c.b); got != c.want {
			t.Errorf("NamesMatch(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	cases := []struct {
		in, country, want string
		ok                bool
	}{
		{"9911002211", "IND", "+919911002211", true},
		{"09911002211", "IND", "+919911002211", true},
		{"919911002211", "IND", "+919911002211", true},
		{"+1 (234) 567-890", "USA", "+1234567890", true},
		{"2345678901", "USA", "2345678901", false},
		{"99110", "IND", "99110", false},
		{"phone", "IND", "phone", false},
	}
	for _, c := range cases {
		got, ok := normalizePhone(c.in, c.country)
		if got != c.want || ok != c.ok {
			t.Errorf("normalizePhone(%q, %s) = %q %v, want %q %v", c.in, c.country, got, ok, c.want, c.ok)
		}
	}
}
