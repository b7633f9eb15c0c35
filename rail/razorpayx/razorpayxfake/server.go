package razorpayxfake

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// Server runs a Fake on 127.0.0.1.
type Server struct {
	*Fake
	// URL is the API's base URL, e.g. http://127.0.0.1:41234.
	URL string

	ln     net.Listener
	srv    *http.Server
	tr     *tracker
	client *http.Client
	served chan struct{}
	once   sync.Once
}

// NewServer starts a Fake on a free port of 127.0.0.1.
func NewServer(o Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := New(o)
	tr := &tracker{conns: map[string]*tconn{}, changed: make(chan struct{})}
	f.mu.Lock()
	f.onHang = tr.hanging
	f.mu.Unlock()
	s := &Server{Fake: f, URL: "http://" + ln.Addr().String(), ln: ln, tr: tr, served: make(chan struct{})}
	s.srv = &http.Server{
		Handler:   f,
		ConnState: tr.connState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c.RemoteAddr().String())
		},
	}
	go func() {
		defer close(s.served)
		s.srv.Serve(ln)
	}()
	dialer := &net.Dialer{}
	s.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			key := c.LocalAddr().String()
			tr.dialed(key)
			return &trackedConn{Conn: c, key: key, tr: tr}, nil
		},
		MaxIdleConnsPerHost: 32,
	}}
	return s, nil
}

// Client returns an HTTP client for the server whose connections the
// server knows about (see WaitIdle).
func (s *Server) Client() *http.Client { return s.client }

// WaitIdle returns once every request written by Client's connections (and
// every request any client has begun on the server) has been handled, a
// hanging handler excepted.
func (s *Server) WaitIdle(ctx context.Context) error { return s.tr.waitIdle(ctx) }

// Close releases hanging handlers, stops the server and waits for every
// handler to return.
func (s *Server) Close() {
	s.once.Do(func() {
		s.Fake.Close()
		s.srv.Close()
		<-s.served
		s.client.CloseIdleConnections()
		s.Fake.wg.Wait()
	})
}

// tracker follows connections from both ends: what the client wrote and
// what the server has finished handling.
type tracker struct {
	mu      sync.Mutex
	seq     uint64
	conns   map[string]*tconn
	changed chan struct{}
}

type tconn struct {
	// wrote is the sequence number of the client's last write (taken
	// before the bytes leave, so the server cannot finish handling them
	// first); quiet the server's last return to idle.
	wrote, quiet uint64
	state        http.ConnState
	closed       bool
	hanging      int
}

func (t *tracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// conn returns the live record of key; a closed one is replaced (ports
// are reused).
func (t *tracker) conn(key string) *tconn {
	c := t.conns[key]
	if c == nil || c.closed {
		c = &tconn{state: http.StateNew}
		t.conns[key] = c
	}
	return c
}

func (t *tracker) dialed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.conns[key]; c != nil && c.closed {
		delete(t.conns, key)
	}
	t.notifyLocked()
}

func (t *tracker) wrote(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	c := t.conns[key]
	if c == nil {
		c = &tconn{state: http.StateNew}
		t.conns[key] = c
	}
	if !c.closed {
		c.wrote = t.seq
	}
	t.notifyLocked()
}

func (t *tracker) connState(nc net.Conn, st http.ConnState) {
	key := nc.RemoteAddr().String()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	var c *tconn
	if st == http.StateNew {
		c = t.conns[key]
		if c == nil || c.closed {
			c = &tconn{}
			t.conns[key] = c
		}
	} else {
		c = t.conn(key)
	}
	c.state = st
	switch st {
	case http.StateIdle:
		c.quiet = t.seq
	case http.StateClosed, http.StateHijacked:
		c.closed = true
	}
	t.notifyLocked()
}

func (t *tracker) hanging(key string, delta int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.conns[key]; c != nil {
		c.hanging += delta
	}
	t.notifyLocked()
}

func (t *tracker) busyLocked() bool {
	for _, c := range t.conns {
		if c.closed || c.hanging > 0 {
			continue
		}
		if c.state == http.StateActive || c.wrote > c.quiet {
			return true
		}
	}
	return false
}

func (t *tracker) waitIdle(ctx context.Context) error {
	for {
		t.mu.Lock()
		busy, ch := t.busyLocked(), t.changed
		t.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return errors.Join(errors.New("razorpayxfake: requests still in flight"), ctx.Err())
		}
	}
}

// trackedConn tells the tracker before each write.
type trackedConn struct {
	net.Conn
	key string
	tr  *tracker
}

func (c *trackedConn) Write(b []byte) (int, error) {
	c.tr.wrote(c.key)
	return c.Conn.Write(b)
}
