// Command loadgen runs complete signing flows (RequestOTP, then Sign)
// against a roamsign HTTP deployment and prints throughput and latency.
//
// It is bounded by -duration and -count and refuses a non-loopback target
// unless -allow-remote is given. OTPs are read from a development mailbox
// (-mailbox, default <url>/dev/mailbox.json, as served by
// examples/signserver in -dev mode).
//
//	go run ./bench/loadgen -url https://127.0.0.1:8443 -api-key-file D/demo-host.apikey \
//	    -ca-file D/ca/ca.pem -users '850715015123:Kewangan#2026' -hosts 8 -duration 30s
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/transport/httpapi"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	base := fs.String("url", "https://127.0.0.1:8443", "base URL of the deployment")
	apiKey := fs.String("api-key", "", "host API key (prefer -api-key-file)")
	apiKeyFile := fs.String("api-key-file", "", "file holding the host API key")
	caFile := fs.String("ca-file", "", "PEM CA bundle for the server certificate (default: system roots)")
	users := fs.String("users", "", "users as id:PIN, comma-separated (workers take them round-robin)")
	mailbox := fs.String("mailbox", "", "development mailbox URL (default <url>/dev/mailbox.json)")
	hosts := fs.Int("hosts", 1, "concurrent host workers")
	hashes := fs.Int("hashes", 1, "hashes per flow")
	duration := fs.Duration("duration", 10*time.Second, "run time bound")
	count := fs.Int("count", 100, "flow count bound (0: only -duration)")
	verify := fs.Bool("verify", true, "verify every returned raw signature")
	allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback target")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url %q: not an absolute URL", *base)
	}
	if !*allowRemote && !isLoopback(u.Hostname()) {
		return fmt.Errorf("-url %s is not a loopback address; pass -allow-remote to load a remote deployment", u.Host)
	}
	if *duration <= 0 || *duration > time.Hour {
		return errors.New("-duration must be between 0 and 1h")
	}
	key := *apiKey
	if *apiKeyFile != "" {
		b, err := os.ReadFile(*apiKeyFile)
		if err != nil {
			return err
		}
		key = strings.TrimSpace(string(b))
	}
	us, err := parseUsers(*users)
	if err != nil {
		return err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if *caFile != "" {
		pemBytes, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pemBytes) {
			return fmt.Errorf("%s: no certificates", *caFile)
		}
	}
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: *hosts + 4}}
	client, err := httpapi.NewClient(strings.TrimRight(*base, "/"), httpapi.ClientOptions{HTTPClient: hc, APIKey: key, UserAgent: "roamsign-loadgen"})
	if err != nil {
		return err
	}
	mb := *mailbox
	if mb == "" {
		mb = strings.TrimRight(*base, "/") + "/dev/mailbox.json"
	}
	cfg := bench.Config{
		API: client, Users: us, OTP: &bench.Mailbox{URL: mb, Client: hc},
		Hosts: *hosts, Hashes: *hashes, Duration: *duration, Count: *count,
	}
	if *verify {
		cfg.Check = bench.CheckRaw
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("target %s, %d hosts, %d hashes per flow\n", u.Host, *hosts, *hashes)
	fmt.Printf("flows        %d ok, %d failed, %d wrong signatures\n", res.Flows, res.Failed, res.Wrong)
	fmt.Printf("throughput   %.2f flows/s, %.1f signatures/s over %s\n", res.FlowsPerSecond(), res.SignaturesPerSecond(), res.Elapsed.Round(time.Millisecond))
	fmt.Printf("flow latency p50 %s  p99 %s  max %s\n", res.Flow.P50, res.Flow.P99, res.Flow.Max)
	fmt.Printf("sign latency p50 %s  p99 %s  max %s\n", res.Sign.P50, res.Sign.P99, res.Sign.Max)
	if len(res.Errors) > 0 {
		fmt.Printf("errors       %v\n", res.Errors)
	}
	if res.Wrong > 0 {
		return fmt.Errorf("%d flows returned a signature that does not verify", res.Wrong)
	}
	return nil
}

func parseUsers(s string) ([]bench.User, error) {
	var us []bench.User
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, pin, ok := strings.Cut(f, ":")
		if !ok || id == "" || pin == "" {
			return nil, fmt.Errorf("-users: want id:PIN, got an entry without both")
		}
		uid, err := roamsign.ParseUserID(id)
		if err != nil {
			return nil, err
		}
		us = append(us, bench.User{ID: uid, PIN: roamsign.Secret(pin)})
	}
	if len(us) == 0 {
		return nil, errors.New("-users is required")
	}
	return us, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
