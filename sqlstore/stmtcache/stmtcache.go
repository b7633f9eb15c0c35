// Package stmtcache keeps each database connection's prepared statements,
// so a statement is parsed and planned once per connection, not on every
// call. It wraps a database/sql driver: database/sql's own prepared
// statements cannot be used on a pool whose only connection is inside a
// transaction (preparing one waits for a free connection), and they would
// oblige every call site to prepare ahead.
//
// A statement is reused only while it is idle: a query whose rows are still
// open holds its statement, and the same text run again meanwhile (a
// nested loop over the same query) gets a statement of its own, finalized
// when its rows close. The cache holds at most Size statements per
// connection; past that, new texts are prepared and finalized per call.
package stmtcache

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
	"sync/atomic"
)

// DefaultSize is the number of statements a connection keeps by default:
// more than the distinct texts the store runs, so none is evicted.
const DefaultSize = 512

// Stats counts cache use across every connection of a Connector.
type Stats struct {
	Hits, Misses atomic.Int64
}

// Connector opens connections through drv and gives each a statement cache.
type Connector struct {
	drv  driver.Driver
	dsn  string
	size int
	// Stats is shared by all connections; read it for metrics and tests.
	Stats *Stats
}

// New returns a Connector for dsn on drv; size < 1 means DefaultSize.
func New(drv driver.Driver, dsn string, size int) *Connector {
	if size < 1 {
		size = DefaultSize
	}
	return &Connector{drv: drv, dsn: dsn, size: size, Stats: &Stats{}}
}

// Connect opens a connection. The driver's connection must implement
// driver.ConnPrepareContext and driver.ConnBeginTx.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	p, ok1 := dc.(driver.ConnPrepareContext)
	b, ok2 := dc.(driver.ConnBeginTx)
	if !ok1 || !ok2 {
		dc.Close()
		return nil, errors.New("stmtcache: the driver's connections lack PrepareContext or BeginTx")
	}
	return &conn{Conn: dc, prep: p, begin: b, size: c.size, stats: c.Stats, stmts: map[string]*entry{}}, nil
}

// Driver is the wrapped driver.
func (c *Connector) Driver() driver.Driver { return c.drv }

type entry struct {
	st   driver.Stmt
	busy bool // rows of a query on it are open
}

// conn is used by one goroutine at a time (database/sql's guarantee for a
// driver connection), except Close of rows, which database/sql also runs
// under the connection's lock; mu guards the map anyway, cheaply.
type conn struct {
	driver.Conn
	prep  driver.ConnPrepareContext
	begin driver.ConnBeginTx
	size  int
	stats *Stats

	mu    sync.Mutex
	stmts map[string]*entry
}

var (
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
)

// take returns an idle cached statement for query, marking it busy, or
// prepares one. cached reports whether it belongs to the cache (release it
// with put) or to the caller (close it).
func (c *conn) take(ctx context.Context, query string) (st driver.Stmt, cached bool, err error) {
	c.mu.Lock()
	e := c.stmts[query]
	if e != nil && !e.busy {
		e.busy = true
		c.mu.Unlock()
		c.stats.Hits.Add(1)
		return e.st, true, nil
	}
	c.mu.Unlock()
	c.stats.Misses.Add(1)
	st, err = c.prep.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e == nil && len(c.stmts) < c.size {
		c.stmts[query] = &entry{st: st, busy: true}
		return st, true, nil
	}
	return st, false, nil
}

// put makes a cached statement idle again.
func (c *conn) put(query string) {
	c.mu.Lock()
	if e := c.stmts[query]; e != nil {
		e.busy = false
	}
	c.mu.Unlock()
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, cached, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	defer c.done(query, st, cached)
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, cached, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	r, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.done(query, st, cached)
		return nil, err
	}
	return &rows{Rows: r, release: func() { c.done(query, st, cached) }}, nil
}

func (c *conn) done(query string, st driver.Stmt, cached bool) {
	if cached {
		c.put(query)
		return
	}
	st.Close()
}

// PrepareContext serves database/sql's explicit prepares, uncached: the
// caller owns and closes the statement.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prep.PrepareContext(ctx, query)
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.begin.BeginTx(ctx, opts)
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// Close finalizes the cached statements, then closes the connection.
func (c *conn) Close() error {
	c.mu.Lock()
	stmts := c.stmts
	c.stmts = map[string]*entry{}
	c.mu.Unlock()
	var errs []error
	for _, e := range stmts {
		errs = append(errs, e.st.Close())
	}
	errs = append(errs, c.Conn.Close())
	return errors.Join(errs...)
}

// rows hands its statement back when closed. database/sql closes rows
// once, when the caller does or when Next reaches the end; releasing
// earlier would let another call reset the statement under them.
type rows struct {
	driver.Rows
	once    sync.Once
	release func()
}

func (r *rows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}
