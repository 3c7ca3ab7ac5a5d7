package testpki

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
)

// CRLServer publishes CRLs over HTTP on loopback, counting downloads. Paths
// map to DER CRL bodies; a path may also be given a handler to simulate
// faults (slow, oversized, garbage).
type CRLServer struct {
	*httptest.Server

	mu       sync.Mutex
	bodies   map[string][]byte
	handlers map[string]http.Handler
	hits     atomic.Int64
}

// NewCRLServer starts a CRL server. Close it when done.
func NewCRLServer() *CRLServer {
	s := &CRLServer{bodies: map[string][]byte{}, handlers: map[string]http.Handler{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL returns the absolute URL of path (which starts with "/").
func (s *CRLServer) URLFor(path string) string { return s.Server.URL + path }

// Set publishes body at path.
func (s *CRLServer) Set(path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies[path] = body
	delete(s.handlers, path)
}

// Handle serves path with h instead of a stored body.
func (s *CRLServer) Handle(path string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[path] = h
}

// Hits returns the number of requests served so far.
func (s *CRLServer) Hits() int64 { return s.hits.Load() }

func (s *CRLServer) serve(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	h, hasH := s.handlers[r.URL.Path]
	body, ok := s.bodies[r.URL.Path]
	s.mu.Unlock()
	if hasH {
		h.ServeHTTP(w, r)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	_, _ = w.Write(body)
}
