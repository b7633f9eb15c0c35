package main

import (
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/offramp/offramp/httpapi"
)

// rateLimitFlags are serve's request rate limits (httpapi.RateLimit): a
// token bucket per API key and one for the whole server.
type rateLimitFlags struct {
	keyRate     float64
	keyBurst    int
	globalRate  float64
	globalBurst int
}

func (f *rateLimitFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.Float64Var(&f.keyRate, "key-rate-limit", envFloat("OFFRAMP_KEY_RATE_LIMIT", httpapi.DefaultKeyRate),
		"requests per second one API key may make to the signed API, on average; inf: no limit [OFFRAMP_KEY_RATE_LIMIT]")
	fl.IntVar(&f.keyBurst, "key-rate-burst", envInt("OFFRAMP_KEY_RATE_BURST", httpapi.DefaultKeyBurst),
		"requests one API key may make at once, above its rate [OFFRAMP_KEY_RATE_BURST]")
	fl.Float64Var(&f.globalRate, "global-rate-limit", envFloat("OFFRAMP_GLOBAL_RATE_LIMIT", httpapi.DefaultGlobalRate),
		"requests per second all callers together may make to the signed API (unknown keys included); inf: no limit [OFFRAMP_GLOBAL_RATE_LIMIT]")
	fl.IntVar(&f.globalBurst, "global-rate-burst", envInt("OFFRAMP_GLOBAL_RATE_BURST", httpapi.DefaultGlobalBurst),
		"requests all callers together may make at once, above the global rate [OFFRAMP_GLOBAL_RATE_BURST]")
}

// resolve checks the flags: a rate is a positive number of requests per
// second, or inf to turn the limit off on purpose (0 would refuse every
// request, so it is not taken to mean "off"); a burst is at least 1, since
// a bucket that cannot hold one token refuses everything.
func (f rateLimitFlags) resolve() (httpapi.RateLimit, error) {
	for _, r := range []struct {
		flag string
		v    float64
	}{{"--key-rate-limit", f.keyRate}, {"--global-rate-limit", f.globalRate}} {
		if math.IsNaN(r.v) || r.v <= 0 || math.IsInf(r.v, -1) {
			return httpapi.RateLimit{}, fmt.Errorf("%s must be a positive number of requests per second (or inf for no limit), got %v", r.flag, r.v)
		}
	}
	for _, b := range []struct {
		flag string
		n    int
	}{{"--key-rate-burst", f.keyBurst}, {"--global-rate-burst", f.globalBurst}} {
		if b.n < 1 {
			return httpapi.RateLimit{}, fmt.Errorf("%s must be at least 1, got %d", b.flag, b.n)
		}
	}
	return httpapi.RateLimit{KeyRate: f.keyRate, KeyBurst: f.keyBurst, GlobalRate: f.globalRate, GlobalBurst: f.globalBurst}, nil
}

// envFloat is envInt for a number with a fraction ("0.5" requests per
// second) or "inf".
func envFloat(name string, def float64) float64 {
	if v := os.Getenv(name); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}
