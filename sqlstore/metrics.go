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
	}
}

// Register exports the store's metrics: on SQLite the group-commit batch
// sizes and the prepared-statement cache, on PostgreSQL the Update
// attempts run again after a serialization conflict.
func (s *Store) Register(reg prometheus.Registerer) error {
	var cs []prometheus.Collector
	if s.concurrent {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "offramp_store_update_retries_total",
			Help: "PostgreSQL Update attempts run again after a serialization failure or deadlock.",
		}, func() float64 { return float64(s.retries.Load()) }))
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
