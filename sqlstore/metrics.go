package sqlstore

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// storeMetrics are the store's own figures, exported by Register.
type storeMetrics struct {
	// batch is the number of Updates per group commit (SQLite).
	batch        prometheus.Histogram
	failedGroups prometheus.Counter

	// PostgreSQL: Updates begun, attempts run again by cause, and Updates
	// that ran out of retry budget.
	updates   prometheus.Counter
	retries   *prometheus.CounterVec
	exhausted prometheus.Counter
}

func newStoreMetrics() storeMetrics {
	return storeMetrics{
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "offramp_store_commit_batch_size",
			Help:    "Updates committed together by one SQLite group commit (one fsync).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		failedGroups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offramp_store_commit_failures_total",
			Help: "Group commits that failed; every Update of such a group got the error.",
		}),
		updates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offramp_store_updates_total",
			Help: "PostgreSQL Updates (write transactions) begun, each counted once however many attempts it took.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offramp_store_update_retries_total",
			Help: "PostgreSQL Update attempts run again, by cause: serialization (40001), deadlock (40P01), numbering (two took the same next number), replan.",
		}, []string{"cause"}),
		exhausted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offramp_store_update_retry_budget_exhausted_total",
			Help: "PostgreSQL Updates that failed after retrying for the whole retry budget (answered 503).",
		}),
	}
}

// Register exports the store's metrics: on SQLite the group-commit batch
// sizes and the prepared-statement cache, on PostgreSQL the Updates, their
// attempts run again by cause, and those that ran out of retry budget.
func (s *Store) Register(reg prometheus.Registerer) error {
	var cs []prometheus.Collector
	if s.concurrent {
		cs = append(cs, s.metrics.updates, s.metrics.retries, s.metrics.exhausted)
	} else {
		cs = append(cs, s.metrics.batch, s.metrics.failedGroups)
	}
	if st := s.stmtStats; st != nil {
		cs = append(cs,
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "offramp_store_statement_cache_hits_total",
				Help: "Statements run with a prepared statement the connection kept.",
			}, func() float64 { return float64(st.Hits.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "offramp_store_statement_cache_misses_total",
				Help: "Statements that had to be prepared (parsed and planned).",
			}, func() float64 { return float64(st.Misses.Load()) }))
	}
	var errs []error
	for _, c := range cs {
		errs = append(errs, reg.Register(c))
	}
	return errors.Join(errs...)
}
