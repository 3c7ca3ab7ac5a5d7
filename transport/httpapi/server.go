package httpapi

import (
	"crypto/tls"
	"log"
	"log/slog"
	"net/http"
	"time"
)

// NewServer returns an http.Server for h with conservative timeouts and
// header limits: 10 s to read headers, 30 s to read a request, 120 s to
// write a response (a large batch on a busy HSM), 120 s idle keep-alive,
// 64 KiB of headers. tlsConfig may be nil for a plain listener behind a
// TLS-terminating proxy; for mTLS host authentication set its ClientCAs
// and ClientAuth (tls.VerifyClientCertIfGiven lets API-key hosts in too).
func NewServer(addr string, h http.Handler, tlsConfig *tls.Config, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.Default()
	}
	if tlsConfig != nil && tlsConfig.MinVersion == 0 {
		tlsConfig = tlsConfig.Clone()
		tlsConfig.MinVersion = tls.VersionTLS12
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(slogWriter{logger}, "", 0),
	}
}

// slogWriter forwards the server's own error log (TLS handshake failures
// and the like) to slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("http server", "msg", string(p))
	return len(p), nil
}
