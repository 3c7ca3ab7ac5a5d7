package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/service/adapt"
	"github.com/roamsign/roamsign/transport/httpapi"
	"github.com/roamsign/roamsign/transport/ops"
)

//go:embed web
var webFS embed.FS

// cmdServe runs the server; it declares every configuration flag.
func cmdServe(ctx context.Context, c *cmdEnv) error {
	cfg, err := loadConfig(c.fs, c.args, getenv)
	if err != nil {
		return err
	}
	lns, err := listen(cfg)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, lns, c.stdout, c.stderr)
}

// listeners are the server's two sockets: the public HTTPS listener and
// the internal one for health and metrics.
type listeners struct{ api, ops net.Listener }

func (l listeners) Close() {
	for _, ln := range []net.Listener{l.api, l.ops} {
		if ln != nil {
			ln.Close()
		}
	}
}

// listen opens cfg's listeners. Development mode is refused on an address
// other machines can reach, checked on the name given and on the address
// it resolved to.
func listen(cfg Config) (listeners, error) {
	var l listeners
	if err := devOnLoopback(cfg, cfg.Listen); err != nil {
		return l, err
	}
	var err error
	if l.api, err = net.Listen("tcp", cfg.Listen); err != nil {
		return l, err
	}
	if err := devOnLoopback(cfg, l.api.Addr().String()); err != nil {
		l.Close()
		return l, err
	}
	if l.ops, err = net.Listen("tcp", cfg.OpsListen); err != nil {
		l.Close()
		return l, err
	}
	return l, nil
}

// serve runs the server on lns, which it closes, until ctx ends. The
// configured addresses give way to the listeners' own (a port 0 becomes
// the port chosen), so the development certificate and the CRL address
// name where the server really is.
func serve(ctx context.Context, cfg Config, lns listeners, stdout, stderr io.Writer) error {
	defer lns.Close()
	cfg.Listen, cfg.OpsListen = lns.api.Addr().String(), lns.ops.Addr().String()
	if err := devOnLoopback(cfg, cfg.Listen); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	a, err := openApp(ctx, cfg, log, stdout, serving)
	if err != nil {
		return err
	}
	defer a.Close()
	an, err := a.prepareServing(ctx)
	if err != nil {
		return err
	}
	tc, err := a.tlsConfig()
	if err != nil {
		return err
	}
	srv := httpapi.NewServer(cfg.Listen, a.handler(), tc, log)
	opsSrv := httpapi.NewServer(cfg.OpsListen, a.opsHandler(), nil, log)
	errc := make(chan error, 2)
	go func() { errc <- srv.ServeTLS(lns.api, "", "") }()
	go func() { errc <- opsSrv.Serve(lns.ops) }()
	go a.sweep(ctx)
	stopAnchoring := a.startAnchoring(ctx, an)
	defer stopAnchoring(context.Background())

	a.printBanner(stdout, cfg.Listen, cfg.OpsListen)
	log.Info("signserver listening", "api", "https://"+cfg.Listen, "ops", "http://"+cfg.OpsListen, "dev", cfg.Dev)
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	// Graceful shutdown: stop accepting, let in-flight requests finish,
	// anchor the audit chain a last time, then close the key store and the
	// database (deferred).
	log.Info("signserver shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = errors.Join(srv.Shutdown(sctx), opsSrv.Shutdown(sctx))
	stopAnchoring(sctx)
	log.Info("signserver stopped")
	return err
}

// prepareServing does what must happen before the first request: the demo
// users (dev mode), the recovery of transactions an unclean stop left
// pending, and the audit anchoring's key and file.
func (a *app) prepareServing(ctx context.Context) (*anchorer, error) {
	if a.cfg.Dev {
		if err := a.bootstrapDemo(ctx); err != nil {
			return nil, fmt.Errorf("demo users: %w", err)
		}
	}
	if err := a.recoverInterrupted(ctx); err != nil {
		return nil, err
	}
	return a.newAnchorer(ctx)
}

// devOnLoopback refuses development mode on an address other machines can
// reach: it enrols demo users with printed PINs, shows every OTP on the
// mailbox page and lets the demo page sign without a host credential.
func devOnLoopback(cfg Config, addr string) error {
	if !cfg.Dev {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("development mode (demo users with printed PINs, the OTP mailbox page, signing without a host credential) serves loopback addresses only, and -listen %s is not one: listen on 127.0.0.1 or [::1], or run with -dev=false", addr)
}

// handler routes the public listener: the API, the admin API, the CRL and,
// in dev mode, the web pages.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	auth := &httpapi.HostAuth{ClientCerts: a.cfg.ClientCA != "", Keys: a.apiKeys}
	mux.Handle("/v1/", httpapi.Handler(a.svc, httpapi.Options{Auth: auth, Metrics: a.metrics, Logger: a.log}))
	mux.Handle("/v1/admin/", httpapi.AdminHandler(a.adminAPI(), httpapi.Options{Auth: a.adminAuth, Metrics: a.metrics, Logger: a.log}))
	if h, err := a.cscHandler(auth); err == nil {
		mux.Handle("/csc/", h)
	} else {
		a.log.Error("CSC face not mounted", "err", err)
	}
	if a.ca != nil {
		mux.Handle("GET "+crlPath, a.ca)
	}
	if a.cfg.Dev {
		static, _ := fs.Sub(webFS, "web")
		mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
		mux.HandleFunc("GET /{$}", servePage(static, "index.html"))
		mux.HandleFunc("GET /dev/mailbox", servePage(static, "mailbox.html"))
		mux.HandleFunc("GET /dev/mailbox.json", a.mailbox.serveJSON)
		a.demo = newHostDemo(a.svc, a.verifier, a.log, a.cfg.DataDir)
		a.demo.stamper, a.demo.longTerm, a.demo.lta = a.pades.stamper, a.pades.longTerm, a.pades.lta
		a.demo.maxUpload = int64(a.cfg.DemoMaxUploadMB) * demoMB
		demo := http.NewServeMux()
		a.demo.routes(demo)
		mux.Handle("/demo/", httpapi.Pages(demo, a.log))
	}
	return securityHeaders(mux)
}

func servePage(static fs.FS, name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(static, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(b)
	}
}

// securityHeaders sets the headers every page and API answer carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Strict-Transport-Security", "max-age=31536000")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'")
		h.ServeHTTP(w, r)
	})
}

func (a *app) opsHandler() http.Handler {
	return ops.Handler(ops.Options{
		Ready: map[string]ops.Check{
			"keys":  adapt.KeyStoreCheck(a.keys, otpMACKeyID, pepperKeyID, rowKeyID),
			"store": a.store.Ping,
		},
		Metrics: a.metrics,
		Logger:  a.log,
	})
}

// startAnchoring runs the audit checkpoints of an (see anchor.go) until
// ctx ends; an is nil when anchoring is off. The returned function stops
// them and writes a last checkpoint, so that the anchor covers every
// record written before the listeners closed; calls after the first do
// nothing.
func (a *app) startAnchoring(ctx context.Context, an *anchorer) (stop func(context.Context)) {
	if an == nil {
		a.log.Warn("audit anchoring is off: a database writer can rewrite the audit chain unnoticed", "setting", "audit-checkpoint-interval")
		return func(context.Context) {}
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		an.run(actx, a.cfg.AuditCheckpointInterval)
	}()
	var once sync.Once
	return func(ctx context.Context) {
		once.Do(func() {
			cancel()
			<-done
			if err := an.checkpoint(ctx); err != nil {
				a.log.Error("final audit checkpoint failed", "kind", roamsign.KindOf(err).Code(), "err", err)
			}
		})
	}
}

// recoverInterrupted fails the transactions an unclean stop (crash, kill
// -9, power loss) left pending. With SQLite this process is the only
// server, so nothing pending can still be running: the retried request
// gets a final answer at once instead of waiting for the periodic sweep.
// No signature of such a transaction was ever returned (signatures leave
// only after the transaction is recorded as signed). A shared PostgreSQL
// store may hold other replicas' running transactions; there the periodic
// sweep (PendingTimeout) decides. The store appends a sign.failed audit
// record for each such transaction.
func (a *app) recoverInterrupted(ctx context.Context) error {
	if a.cfg.PostgresDSN != "" {
		return nil
	}
	now := time.Now().UTC()
	failed, _, err := a.store.ExpireTransactions(ctx, now, time.Time{})
	if err != nil || failed == 0 {
		return err
	}
	a.log.Warn("transactions interrupted by an unclean stop marked failed", "count", failed)
	return nil
}

// sweep expires stale transactions periodically (crash recovery and
// retention).
func (a *app) sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if failed, deleted, err := a.svc.Sweep(ctx); err != nil {
			a.log.Warn("sweep failed", "err", err)
		} else if failed+deleted > 0 {
			a.log.Info("sweep", "failed", failed, "deleted", deleted)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bootstrapDemo enrols the demo users on first start: key in the key store,
// certificate from the development CA, demo PIN.
func (a *app) bootstrapDemo(ctx context.Context) error {
	for _, u := range demoUsers {
		_, err := a.store.GetUser(ctx, u.ID)
		if err == nil {
			continue
		}
		if !errors.Is(err, roamsign.ErrNotFound) {
			return err
		}
		if err := a.enrol(ctx, u.ID, u.Name, u.Email, []roamsign.HostID{demoHost}, u.PIN); err != nil {
			return fmt.Errorf("%s: %w", u.ID, err)
		}
		a.log.Info("demo user enrolled", "user", u.ID.Masked())
		if a.demoEnrolled == nil {
			a.demoEnrolled = map[roamsign.UserID]bool{}
		}
		a.demoEnrolled[u.ID] = true
	}
	return nil
}

// enrol enrols a user end to end: key and CSR from the service, certificate
// from the development CA, chain import and first PIN.
func (a *app) enrol(ctx context.Context, id roamsign.UserID, name, email string, hosts []roamsign.HostID, pin string) error {
	if a.ca == nil {
		return errors.New("enrol needs the development CA (dev mode); in production make the request with `signserver csr new`, have the agency CA issue it, then `signserver chain import`")
	}
	resp, err := a.svc.Enrol(ctx, roamsign.EnrolRequest{User: id, Name: name, Hosts: hosts, Email: email,
		Media: []roamsign.MediumKind{roamsign.MediumRoamingOTP}})
	if err != nil {
		return err
	}
	leaf, err := a.ca.IssueUser(resp.CSR, 2*365*24*time.Hour)
	if err != nil {
		return err
	}
	if err := a.svc.ImportChain(ctx, roamsign.ImportChainRequest{User: id, Chain: [][]byte{leaf.Raw, a.ca.cert.Raw}}); err != nil {
		return err
	}
	if pin == "" {
		return nil
	}
	return a.svc.SetPIN(ctx, roamsign.SetPINRequest{User: id, New: roamsign.Secret(pin)})
}

func (a *app) printBanner(w io.Writer, addr, opsAddr string) {
	fmt.Fprintf(w, "\nroamsign signserver\n  API      https://%s/v1/\n  health   http://%s/readyz   metrics http://%s/metrics\n", addr, opsAddr, opsAddr)
	if !a.cfg.Dev {
		return
	}
	fmt.Fprintf(w, `
  DEVELOPMENT MODE — demo users, development CA and mailbox; never use in production.
  Host demo   https://%[1]s/            (trust %[2]s/ca/ca.pem, or accept the warning)
  Mailbox     https://%[1]s/dev/mailbox
  API key for host "demo" in %[2]s/demo-host.apikey, admin key in %[2]s/admin.apikey

  Demo signers:
`, addr, a.cfg.DataDir)
	// A demo PIN is printed only by the start that set it: it may have
	// been changed since (pin reset), and then it is no one's business.
	for _, u := range demoUsers {
		pin := "PIN as printed at the first start (`signserver pin reset -user " + string(u.ID) + "` sets a new one)"
		if a.demoEnrolled[u.ID] {
			pin = "PIN " + u.PIN
		}
		fmt.Fprintf(w, "    %s  %-26s %s\n", u.ID, u.Name, pin)
	}
	fmt.Fprintln(w)
}
