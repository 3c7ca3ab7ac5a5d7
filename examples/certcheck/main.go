// Command certcheck walks an agency through a server certificate: key and
// CSR, regenerated CSRs for reissue or extra servers, a check of the
// delivered bundle (writing fullchain.pem and a .pfx), the TLS grade of the
// installed site, and the acceptance / installation / warranty deadlines.
//
// Usage:
//
//	certcheck csr       --dns NAME[,NAME...] [--cn CN] [--org O] [--country MY] [--alg p256] --key-out server.key --csr-out server.csr
//	certcheck recsr     (--from-cert server.crt | --from-csr old.csr) (--key server.key | --alg p256 --key-out new.key) --csr-out new.csr
//	certcheck bundle    --cert server.crt [--chain chain.p7b ...] [--key server.key] [--name HOST ...] [--roots roots.pem]
//	                    [--accepted YYYY-MM-DD] [--fetch-missing] [--fullchain fullchain.pem] [--pfx site.pfx --pfx-password-file FILE [--pfx-legacy]]
//	certcheck grade     --addr HOST:PORT|https://HOST:PORT/ [--servername HOST] [--roots roots.pem] [--intermediates inter.pem] [--timeout 5s] [--no-http]
//	certcheck deadlines --delivered YYYY-MM-DD [--accepted YYYY-MM-DD] [--installed YYYY-MM-DD] [--grade A+] [--today YYYY-MM-DD]
//
// Every subcommand takes --json for scripts. The exit status is 0 when all
// is well, 1 when the check found problems (bundle not fit to install,
// grade below A, a deadline overdue) and 2 for usage or input errors.
//
// The PKCS#12 password is read from --pfx-password-file or the
// CERTCHECK_PFX_PASSWORD environment variable, never from the command line.
// Keys held in an HSM are named with --key-uri pkcs11:...; this build has no
// PKCS#11 opener and says so (see keyOpener).
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/servercert"
)

// keyOpener opens an HSM-held key named by an RFC 7512 PKCS#11 URI. A build
// that links a PKCS#11 key store sets env.openKey to it.
type keyOpener func(ctx context.Context, uri string) (crypto.Signer, error)

// env is what run needs from the outside world, injected for tests.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	openKey        keyOpener
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], env{
		stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now,
		openKey: noPKCS11,
	})
	stop()
	os.Exit(code)
}

func noPKCS11(_ context.Context, uri string) (crypto.Signer, error) {
	return nil, roamsign.E(roamsign.ErrUnsupported, "certcheck", "this build cannot open PKCS#11 keys (%s); generate the key and CSR with the HSM tools, or build certcheck with a PKCS#11 key opener", redactURI(uri))
}

// redactURI drops query attributes (pin-value, pin-source) from a PKCS#11
// URI before it is shown.
func redactURI(uri string) string {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i] + "?…"
	}
	return uri
}

const usage = `usage: certcheck <command> [flags]

commands:
  csr        generate a key (0600) and a CSR with subject and host names
  recsr      regenerate a CSR with the same content from a certificate or CSR
  bundle     check a received certificate, its chain and key; write fullchain.pem / .pfx
  grade      grade the TLS configuration of a live HTTPS endpoint (A+ to F, T, M)
  deadlines  acceptance, installation and warranty-claim due dates as a checklist

Run "certcheck <command> -h" for the flags of a command. Every command takes --json.
`

// Exit statuses.
const (
	exitOK       = 0
	exitProblems = 1
	exitUsage    = 2
)

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmds := map[string]func(context.Context, []string, env) int{
		"csr": cmdCSR, "recsr": cmdReCSR, "bundle": cmdBundle, "grade": cmdGrade, "deadlines": cmdDeadlines,
	}
	f, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "certcheck: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return f(ctx, args[1:], e)
}

// list is a repeatable, comma-splitting string flag.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func newFlags(name string, e env) (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet("certcheck "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	js := fs.Bool("json", false, "print JSON for scripts")
	return fs, js
}

// fail prints err (as JSON when asked) and returns the usage status.
func fail(e env, js bool, cmd string, err error) int {
	if js {
		out := map[string]any{"error": err.Error(), "code": roamsign.KindOf(err).Code()}
		var ce *servercert.CorruptCertificateError
		if errors.As(err, &ce) {
			out["code"] = "corrupt_certificate"
			if !ce.ClaimBy.IsZero() {
				out["warranty_claim_by"] = ce.ClaimBy.Format(time.DateOnly)
			}
		}
		_ = json.NewEncoder(e.stderr).Encode(out)
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "certcheck %s: %v\n", cmd, err)
	var ce *servercert.CorruptCertificateError
	if errors.As(err, &ce) && ce.ClaimBy.IsZero() {
		fmt.Fprintf(e.stderr, "hint: give --accepted YYYY-MM-DD to see the warranty-claim deadline (acceptance + %d days)\n", servercert.WarrantyClaimDays)
	}
	return exitUsage
}

func usageErr(format string, args ...any) error {
	return roamsign.E(roamsign.ErrInvalidInput, "", format, args...)
}

func printJSON(e env, v any) {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrNotFound, "", err, "cannot read "+path)
	}
	if st.Size() > servercert.MaxInputSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, "", "%s is %d bytes, limit %d", path, st.Size(), servercert.MaxInputSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrNotFound, "", err, "cannot read "+path)
	}
	return b, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	certs, _, err := servercert.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p, nil
}

// signerFor returns the key for a CSR: an existing key file, an HSM key by
// URI, or a new key written to keyOut.
func signerFor(ctx context.Context, e env, keyFile, keyURI, keyOut, alg string) (crypto.Signer, string, error) {
	n := 0
	for _, s := range []string{keyFile, keyURI, keyOut} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, "", usageErr("give exactly one of --key (existing key file), --key-uri (HSM key) or --key-out (new key file)")
	}
	switch {
	case keyFile != "":
		data, err := readFile(keyFile)
		if err != nil {
			return nil, "", err
		}
		k, err := servercert.ParsePrivateKey(data)
		return k, "", err
	case keyURI != "":
		if !strings.HasPrefix(keyURI, "pkcs11:") {
			return nil, "", usageErr("--key-uri must be an RFC 7512 pkcs11: URI")
		}
		k, err := e.openKey(ctx, keyURI)
		return k, "", err
	}
	k, err := servercert.GenerateKey(servercert.KeyAlgorithm(strings.ToLower(alg)))
	if err != nil {
		return nil, "", err
	}
	if err := servercert.WriteKeyFile(keyOut, k); err != nil {
		return nil, "", err
	}
	return k, keyOut, nil
}

type csrResult struct {
	KeyFile  string   `json:"key_file,omitempty"`
	CSRFile  string   `json:"csr_file"`
	Subject  string   `json:"subject"`
	DNSNames []string `json:"dns_names"`
	Key      string   `json:"key"`
	CSRPEM   string   `json:"csr_pem"`
}

func writeCSR(e env, js bool, key crypto.Signer, keyFile, csrOut string, req servercert.CSRRequest) int {
	der, err := servercert.CreateCSR(key, req)
	if err != nil {
		return fail(e, js, "csr", err)
	}
	if err := servercert.WriteFile(csrOut, servercert.CSRPEM(der), 0o644); err != nil {
		return fail(e, js, "csr", err)
	}
	csr, err := servercert.ParseCSR(der)
	if err != nil {
		return fail(e, js, "csr", err)
	}
	if js {
		printJSON(e, csrResult{KeyFile: keyFile, CSRFile: csrOut, Subject: csr.Subject.String(), DNSNames: csr.DNSNames, Key: servercert.DescribeKey(csr.PublicKey), CSRPEM: string(servercert.CSRPEM(der))})
		return exitOK
	}
	text, _ := servercert.SendInstructions(der)
	if keyFile != "" {
		fmt.Fprintf(e.stdout, "Private key written to %s (mode 0600). Keep it; the certificate will only work with it.\n", keyFile)
	}
	fmt.Fprintf(e.stdout, "CSR written to %s.\n\n%s", csrOut, text)
	return exitOK
}

func cmdCSR(ctx context.Context, args []string, e env) int {
	fs, js := newFlags("csr", e)
	var dns list
	fs.Var(&dns, "dns", "host name for the certificate (repeat or comma-separate; *.example.gov.my for a wildcard)")
	cn := fs.String("cn", "", "subject common name (default: the first --dns name)")
	org := fs.String("org", "", "subject organisation (O)")
	ou := fs.String("ou", "", "subject organisational unit (OU)")
	country := fs.String("country", "MY", "subject country (C), two letters")
	state := fs.String("state", "", "subject state or province (ST)")
	locality := fs.String("locality", "", "subject locality (L)")
	alg := fs.String("alg", string(servercert.P256), "new key algorithm: p256, p384, rsa2048, rsa3072, rsa4096")
	keyOut := fs.String("key-out", "", "write a new private key here (0600, never overwritten)")
	keyFile := fs.String("key", "", "use this existing private key file instead")
	keyURI := fs.String("key-uri", "", "use this HSM key (pkcs11: URI) instead")
	csrOut := fs.String("csr-out", "", "write the CSR here (PEM)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if len(dns) == 0 || *csrOut == "" {
		return fail(e, *js, "csr", usageErr("--dns and --csr-out are required"))
	}
	if len(*country) != 2 {
		return fail(e, *js, "csr", usageErr("--country must be a two-letter code, got %q", *country))
	}
	req := servercert.CSRRequest{Subject: pkix.Name{CommonName: *cn, Country: []string{strings.ToUpper(*country)}}, DNSNames: dns}
	for _, a := range []struct {
		v   string
		dst *[]string
	}{{*org, &req.Subject.Organization}, {*ou, &req.Subject.OrganizationalUnit}, {*state, &req.Subject.Province}, {*locality, &req.Subject.Locality}} {
		if a.v != "" {
			*a.dst = []string{a.v}
		}
	}
	if err := req.Validate(); err != nil {
		return fail(e, *js, "csr", err)
	}
	key, written, err := signerFor(ctx, e, *keyFile, *keyURI, *keyOut, *alg)
	if err != nil {
		return fail(e, *js, "csr", err)
	}
	return writeCSR(e, *js, key, written, *csrOut, req)
}

func cmdReCSR(ctx context.Context, args []string, e env) int {
	fs, js := newFlags("recsr", e)
	fromCert := fs.String("from-cert", "", "copy subject and names from this issued certificate")
	fromCSR := fs.String("from-csr", "", "copy subject and names from this earlier CSR")
	alg := fs.String("alg", string(servercert.P256), "new key algorithm (with --key-out)")
	keyOut := fs.String("key-out", "", "write a new private key here (one per extra server)")
	keyFile := fs.String("key", "", "sign with this existing private key")
	keyURI := fs.String("key-uri", "", "sign with this HSM key (pkcs11: URI)")
	csrOut := fs.String("csr-out", "", "write the CSR here (PEM)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if (*fromCert == "") == (*fromCSR == "") || *csrOut == "" {
		return fail(e, *js, "recsr", usageErr("give one of --from-cert or --from-csr, and --csr-out"))
	}
	var req servercert.CSRRequest
	if *fromCert != "" {
		data, err := readFile(*fromCert)
		if err != nil {
			return fail(e, *js, "recsr", err)
		}
		certs, _, err := servercert.ParseCertificates(data)
		if err != nil {
			return fail(e, *js, "recsr", err)
		}
		req = servercert.RequestFromCertificate(certs[0])
	} else {
		data, err := readFile(*fromCSR)
		if err != nil {
			return fail(e, *js, "recsr", err)
		}
		csr, err := servercert.ParseCSR(data)
		if err != nil {
			return fail(e, *js, "recsr", err)
		}
		req = servercert.RequestFromCSR(csr)
	}
	key, written, err := signerFor(ctx, e, *keyFile, *keyURI, *keyOut, *alg)
	if err != nil {
		return fail(e, *js, "recsr", err)
	}
	return writeCSR(e, *js, key, written, *csrOut, req)
}

type bundleResult struct {
	*servercert.BundleReport
	FullChainFile string   `json:"fullchain_file,omitempty"`
	PFXFile       string   `json:"pfx_file,omitempty"`
	Fetched       []string `json:"fetched,omitempty"`
}

// bundleFlags are the settings of `certcheck bundle`.
type bundleFlags struct {
	certFile, keyFile, roots, accepted *string
	chain, names                       list
	fullchain, pfx, pfxPassFile        *string
	pfxLegacy, fetch                   *bool
}

func cmdBundle(ctx context.Context, args []string, e env) int {
	fs, js := newFlags("bundle", e)
	f := bundleFlags{
		certFile: fs.String("cert", "", "the received certificate (PEM, DER .cer/.crt, .p7b, or a saved e-mail)"),
		keyFile:  fs.String("key", "", "the private key generated with the CSR"),
		roots:    fs.String("roots", "", "trusted roots (PEM); default the system roots"),
		accepted: fs.String("accepted", "", "acceptance date YYYY-MM-DD, for the warranty-claim deadline"),
	}
	fs.Var(&f.chain, "chain", "intermediate/root certificate file (repeatable)")
	fs.Var(&f.names, "name", "host name the certificate must cover (repeat or comma-separate)")
	f.fullchain = fs.String("fullchain", "", "write the ordered fullchain.pem here (nginx ssl_certificate, Apache SSLCertificateFile)")
	f.pfx = fs.String("pfx", "", "write a PKCS#12 (.pfx) for IIS here; needs --key and a password")
	f.pfxPassFile = fs.String("pfx-password-file", "", "file holding the .pfx password (else $CERTCHECK_PFX_PASSWORD)")
	f.pfxLegacy = fs.Bool("pfx-legacy", false, "3DES/SHA-1 .pfx for Windows Server 2016 and older")
	f.fetch = fs.Bool("fetch-missing", false, "download a missing intermediate from the certificate's AIA address")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	req, password, err := f.request(e)
	if err != nil {
		return fail(e, *js, "bundle", err)
	}
	rep, err := servercert.CheckBundle(req)
	if err != nil {
		return fail(e, *js, "bundle", err)
	}
	res := bundleResult{BundleReport: rep}
	if *f.fetch {
		if err := fetchMissing(ctx, &req, &res); err != nil {
			return fail(e, *js, "bundle", err)
		}
	}
	if err := f.write(&res, req.Key, password); err != nil {
		return fail(e, *js, "bundle", err)
	}
	if *js {
		printJSON(e, res)
	} else {
		printBundle(e, *f.certFile, res)
	}
	if !res.OK {
		return exitProblems
	}
	return exitOK
}

// request reads the files the flags name into a bundle request, and the
// .pfx password when a .pfx is asked for.
func (f bundleFlags) request(e env) (req servercert.BundleRequest, password string, err error) {
	if *f.certFile == "" {
		return req, "", usageErr("--cert is required")
	}
	req = servercert.BundleRequest{Names: f.names, Now: e.now}
	data, err := readFile(*f.certFile)
	if err != nil {
		return req, "", err
	}
	req.Certificate = servercert.Input{Name: *f.certFile, Data: data}
	for _, c := range f.chain {
		d, err := readFile(c)
		if err != nil {
			return req, "", err
		}
		req.Chain = append(req.Chain, servercert.Input{Name: c, Data: d})
	}
	if *f.keyFile != "" {
		d, err := readFile(*f.keyFile)
		if err != nil {
			return req, "", err
		}
		if req.Key, err = servercert.ParsePrivateKey(d); err != nil {
			return req, "", fmt.Errorf("%s: %w", *f.keyFile, err)
		}
	}
	if req.Roots, err = loadPool(*f.roots); err != nil {
		return req, "", err
	}
	if *f.accepted != "" {
		d, err := servercert.ParseDate(*f.accepted)
		if err != nil {
			return req, "", err
		}
		req.Acceptance = d.Time()
	}
	if *f.pfx == "" {
		return req, "", nil
	}
	if req.Key == nil {
		return req, "", usageErr("--pfx needs --key")
	}
	password = e.getenv("CERTCHECK_PFX_PASSWORD")
	if *f.pfxPassFile != "" {
		b, err := readFile(*f.pfxPassFile)
		if err != nil {
			return req, "", err
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if password == "" {
		return req, "", usageErr("--pfx needs a password: --pfx-password-file FILE or $CERTCHECK_PFX_PASSWORD")
	}
	return req, password, nil
}

// fetchMissing fetches a missing intermediate, one level at a time; the
// fetched certificate is trusted only if the chain then verifies.
func fetchMissing(ctx context.Context, req *servercert.BundleRequest, res *bundleResult) error {
	for i := 0; i < 4 && res.MissingIssuer() != nil; i++ {
		issuer, from, err := servercert.FetchIssuer(ctx, nil, res.MissingIssuer())
		if err != nil {
			res.Fetched = append(res.Fetched, "not fetched: "+err.Error())
			return nil
		}
		req.Chain = append(req.Chain, servercert.Input{Name: from, Data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuer.Raw})})
		rep, err := servercert.CheckBundle(*req)
		if err != nil {
			return err
		}
		res.BundleReport = rep
		res.Fetched = append(res.Fetched, fmt.Sprintf("fetched %q from %s", issuer.Subject.CommonName, from))
	}
	return nil
}

// write writes the fullchain.pem and the .pfx the flags ask for, only for
// a bundle fit to install.
func (f bundleFlags) write(res *bundleResult, key crypto.Signer, password string) error {
	if !res.OK {
		return nil
	}
	if *f.fullchain != "" {
		if err := servercert.WriteFile(*f.fullchain, res.FullChainPEM(), 0o644); err != nil {
			return err
		}
		res.FullChainFile = *f.fullchain
	}
	if *f.pfx != "" {
		b, err := res.PKCS12(key, password, servercert.PKCS12Options{Legacy: *f.pfxLegacy})
		if err != nil {
			return err
		}
		if err := servercert.WriteFile(*f.pfx, b, 0o600); err != nil {
			return err
		}
		res.PFXFile = *f.pfx
	}
	return nil
}

// printBundle prints the bundle report for people.
func printBundle(e env, certFile string, res bundleResult) {
	fmt.Fprintf(e.stdout, "Certificate %s (%s)\n", certFile, res.Format)
	for _, c := range res.Certs {
		fmt.Fprintf(e.stdout, "  %-12s %s (until %s, %s)\n", c.Role, c.Subject, c.NotAfter.Format(time.DateOnly), c.Key)
	}
	for _, f := range res.Findings {
		fmt.Fprintf(e.stdout, "%-8s %s\n", strings.ToUpper(string(f.Severity)), f.Message)
	}
	for _, f := range res.Fetched {
		fmt.Fprintf(e.stdout, "AIA      %s\n", f)
	}
	if res.FullChainFile != "" {
		fmt.Fprintf(e.stdout, "Wrote %s (server certificate first, then intermediates).\n", res.FullChainFile)
	}
	if res.PFXFile != "" {
		fmt.Fprintf(e.stdout, "Wrote %s (PKCS#12 for IIS, mode 0600).\n", res.PFXFile)
	}
	if !res.OK {
		fmt.Fprintln(e.stdout, "NOT READY to install: fix the errors above (no files were written).")
	} else {
		fmt.Fprintln(e.stdout, "Ready to install.")
	}
}

func cmdGrade(ctx context.Context, args []string, e env) int {
	fs, js := newFlags("grade", e)
	addr := fs.String("addr", "", "endpoint: host:port (port 443 if omitted) or an https:// URL; may also be given as the argument")
	serverName := fs.String("servername", "", "host name for SNI and the name check (default: the host of --addr)")
	roots := fs.String("roots", "", "trusted roots (PEM); default the system roots")
	inters := fs.String("intermediates", "", "known intermediates (PEM), to tell a missing intermediate from an untrusted chain")
	timeout := fs.Duration("timeout", 5*time.Second, "timeout of each probe")
	noHTTP := fs.Bool("no-http", false, "do not send an HTTP request (no HSTS check)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *addr == "" && fs.NArg() > 0 {
		// The endpoint as the argument, before or after the flags.
		*addr = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return exitUsage
		}
	}
	if fs.NArg() > 0 {
		return fail(e, *js, "grade", usageErr("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	if *addr == "" {
		return fail(e, *js, "grade", usageErr("give the endpoint: --addr host:port or https://host:port/"))
	}
	a, err := gradeAddress(*addr)
	if err != nil {
		return fail(e, *js, "grade", err)
	}
	req := servercert.GradeRequest{Address: a, ServerName: *serverName, Timeout: *timeout, SkipHTTP: *noHTTP, Now: e.now}
	if req.Roots, err = loadPool(*roots); err != nil {
		return fail(e, *js, "grade", err)
	}
	if req.Intermediates, err = loadPool(*inters); err != nil {
		return fail(e, *js, "grade", err)
	}
	rep, err := servercert.Grade(ctx, req)
	if err != nil {
		return fail(e, *js, "grade", err)
	}
	if *js {
		printJSON(e, rep)
	} else {
		fmt.Fprint(e.stdout, rep.Text())
	}
	if !strings.HasPrefix(rep.Grade, "A") {
		return exitProblems
	}
	return exitOK
}

// gradeAddress turns the endpoint given to grade into host:port: an
// https:// URL (its path ignored) or host[:port], port 443 by default.
func gradeAddress(s string) (string, error) {
	host, port := s, ""
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", usageErr("--addr %q: not a URL: %v", s, err)
		}
		if u.Scheme != "https" {
			return "", usageErr("--addr %q: grade checks TLS, so the URL must be https://", s)
		}
		host, port = u.Hostname(), u.Port()
	} else if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	if host == "" {
		return "", usageErr("--addr %q: no host", s)
	}
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(host, port), nil
}

func cmdDeadlines(_ context.Context, args []string, e env) int {
	fs, js := newFlags("deadlines", e)
	delivered := fs.String("delivered", "", "the CA's delivery date YYYY-MM-DD (required)")
	accepted := fs.String("accepted", "", "recorded acceptance date")
	installed := fs.String("installed", "", "recorded installation date")
	grade := fs.String("grade", "", "TLS grade recorded after installation")
	today := fs.String("today", "", "judge as of this date (default today, UTC)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	var in servercert.DeadlineInput
	in.Grade = *grade
	for _, p := range []struct {
		s   string
		dst *servercert.Date
	}{{*delivered, &in.Delivered}, {*accepted, &in.Accepted}, {*installed, &in.Installed}, {*today, &in.Today}} {
		if p.s == "" {
			continue
		}
		d, err := servercert.ParseDate(p.s)
		if err != nil {
			return fail(e, *js, "deadlines", err)
		}
		*p.dst = d
	}
	if in.Today.IsZero() {
		in.Today = servercert.DateOf(e.now().UTC())
	}
	c, err := servercert.ComputeDeadlines(in)
	if err != nil {
		return fail(e, *js, "deadlines", err)
	}
	if *js {
		printJSON(e, c)
	} else {
		fmt.Fprint(e.stdout, c.Text())
	}
	if len(c.Overdue) > 0 || len(c.Problems) > 0 {
		return exitProblems
	}
	return exitOK
}
