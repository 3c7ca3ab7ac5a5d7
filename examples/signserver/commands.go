package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/servercert"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/verify"
)

func readSecretLine(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(stdin, 256)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func cmdEnrol(ctx context.Context, c *cmdEnv) error {
	fs, stdin, stdout := c.fs, c.stdin, c.stdout
	user := fs.String("user", "", "user id (12-digit MyKad number)")
	name := fs.String("name", "", "name on the certificate")
	hosts := fs.String("host", string(demoHost), "host systems, comma-separated")
	email := fs.String("email", "", "e-mail address for OTP")
	pinStdin := fs.Bool("pin-stdin", false, "read the first PIN from standard input")
	a, err := c.open(ctx, groupPIN, groupCA)
	if err != nil {
		return err
	}
	defer a.Close()
	id, err := roamsign.ParseUserID(*user)
	if err != nil {
		return err
	}
	var hs []roamsign.HostID
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hs = append(hs, roamsign.HostID(h))
		}
	}
	pin := ""
	if *pinStdin {
		if pin, err = readSecretLine(stdin); err != nil {
			return err
		}
	}
	if err := a.enrol(ctx, id, *name, *email, hs, pin); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "enrolled %s for %s\n", id, strings.Join(strings.Split(*hosts, ","), ", "))
	if pin == "" {
		fmt.Fprintf(c.stderr, "warning: %s has no PIN and cannot sign until one is set: signserver pin reset -user %s (or enrol with -pin-stdin)\n", id, id)
	}
	return nil
}

func cmdPINReset(ctx context.Context, c *cmdEnv) error {
	stdin, stdout, stderr := c.stdin, c.stdout, c.stderr
	user := c.fs.String("user", "", "user id (12-digit MyKad number)")
	a, err := c.open(ctx, groupPIN)
	if err != nil {
		return err
	}
	defer a.Close()
	id, err := roamsign.ParseUserID(*user)
	if err != nil {
		return err
	}
	// Ask for the PIN only for a user who exists.
	if _, err := a.store.GetUser(ctx, id); errors.Is(err, roamsign.ErrNotFound) {
		return roamsign.Wrap(roamsign.ErrNotFound, "signserver.pin-reset", err, fmt.Sprintf("no enrolled user %s", id))
	} else if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "new PIN (one line on standard input):")
	pin, err := readSecretLine(stdin)
	if err != nil {
		return err
	}
	if err := a.svc.ResetPIN(ctx, roamsign.ResetPINRequest{User: id, New: roamsign.Secret(pin)}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "PIN of %s reset; the lock is cleared\n", id)
	return nil
}

func cmdVerify(ctx context.Context, c *cmdEnv) error {
	fs, stdout := c.fs, c.stdout
	asJSON := fs.Bool("json", false, "print the report as JSON")
	content := fs.String("content", "", "signed content of a detached .p7s")
	anchors := fs.String("anchors", "", "PEM file of trust anchors (default: the development CA of the data directory, which must exist)")
	var crls, ocsps fileList
	fs.Var(&crls, "crl", "a CRL file (DER or PEM) to use as revocation evidence; repeatable")
	fs.Var(&ocsps, "ocsp", "an OCSP response file (DER) to use as revocation evidence; repeatable")
	offline := fs.Bool("offline", false, "no network at all: only the CRLs and OCSP responses given or embedded decide")
	at := fs.String("at", "", "verify as of this time (RFC 3339 or YYYY-MM-DD) instead of now")
	var file string
	if len(c.args) > 0 && !strings.HasPrefix(c.args[0], "-") {
		file, c.args = c.args[0], c.args[1:]
	}
	cfg, err := c.config(groupData, groupCA)
	if err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return errors.New("usage: signserver verify FILE.pdf|FILE.p7s [-content FILE] [-anchors FILE] [-crl FILE]... [-ocsp FILE]... [-offline] [-at TIME] [-json]")
	}
	v, err := verifierFor(cfg, *anchors, crls, ocsps, *offline, *at)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	report, verdict, err := verifyFile(ctx, v, file, data, *content, *asJSON, stdout)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	}
	if verdict != verify.Valid {
		return exitError{1}
	}
	return nil
}

// fileList is a repeatable flag of file names.
type fileList []string

func (f *fileList) String() string { return strings.Join(*f, ",") }

func (f *fileList) Set(s string) error {
	*f = append(*f, s)
	return nil
}

// verifierFor builds the verifier of `verify`. It only reads: the data
// directory is neither created nor changed.
func verifierFor(cfg Config, anchors string, crls, ocsps []string, offline bool, at string) (*verify.Verifier, error) {
	roots, fetcher, err := verifyAnchors(cfg, anchors)
	if err != nil {
		return nil, err
	}
	vcfg := verify.Config{Anchors: roots, Offline: offline, Fetcher: fetcher}
	for _, f := range crls {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if blk, _ := pem.Decode(b); blk != nil {
			b = blk.Bytes
		}
		vcfg.Supplied.CRLs = append(vcfg.Supplied.CRLs, b)
	}
	for _, f := range ocsps {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		vcfg.Supplied.OCSPResponses = append(vcfg.Supplied.OCSPResponses, b)
	}
	if at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			if t, err = time.Parse("2006-01-02", at); err != nil {
				return nil, fmt.Errorf("-at %q: want RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02)", at)
			}
		}
		vcfg.Now = func() time.Time { return t }
	}
	return verify.New(vcfg)
}

// verifyFile verifies a PDF or a CMS signature and prints the text report
// unless asJSON.
func verifyFile(ctx context.Context, v *verify.Verifier, file string, data []byte, content string, asJSON bool, stdout io.Writer) (any, verify.Verdict, error) {
	if strings.EqualFold(filepath.Ext(file), ".pdf") || bytes.HasPrefix(data, []byte("%PDF-")) {
		res, err := v.VerifyPDF(ctx, verify.PDFRequest{Document: bytes.NewReader(data), Size: int64(len(data))})
		if err != nil {
			return nil, "", err
		}
		if !asJSON {
			fmt.Fprintf(stdout, "%s: %s (%d signatures, %d revisions)\n", file, res.Verdict, len(res.Signatures), res.Revisions)
			for i, s := range res.Signatures {
				printSignature(stdout, i+1, s.Name, s.Reason, s.Result)
				if s.ModifiedAfterSigning {
					fmt.Fprintf(stdout, "    modified after signing: %s\n", strings.Join(s.Changes, "; "))
				}
			}
		}
		return res, res.Verdict, nil
	}
	req := verify.CMSRequest{Signature: data}
	if content != "" {
		var err error
		if req.Content, err = os.ReadFile(content); err != nil {
			return nil, "", err
		}
	}
	res, err := v.VerifyCMS(ctx, req)
	if err != nil {
		return nil, "", err
	}
	verdict := verify.Valid
	if len(res) == 0 {
		verdict = verify.Invalid
	}
	for i, r := range res {
		if r.Verdict != verify.Valid && verdict != verify.Invalid {
			verdict = r.Verdict
		}
		if !asJSON {
			printSignature(stdout, i+1, "", "", r)
		}
	}
	if !asJSON {
		fmt.Fprintf(stdout, "%s: %s\n", file, verdict)
	}
	return res, verdict, nil
}

func printSignature(w io.Writer, n int, name, reason string, r *verify.Result) {
	who := name
	if r.Signer != nil && who == "" {
		who = r.Signer.Subject
	}
	outcome := string(r.Indication)
	if r.SubIndication != "" {
		outcome += "/" + string(r.SubIndication)
	}
	level := ""
	if r.Level != "" {
		level = " level " + string(r.Level)
	}
	fmt.Fprintf(w, "  #%d %s %s: %s [%s]%s (time %s from %s)\n", n, who, reason, r.Verdict, outcome, level, r.TrustedTime.Format("2006-01-02 15:04:05Z07:00"), r.TimeSource)
	for _, in := range r.Revocation {
		if in.Status != "good" || in.Origin != "" {
			fmt.Fprintf(w, "    revocation of %s: %s (%s %s)\n", in.Subject, in.Status, in.Origin, in.Source)
		}
	}
	for _, c := range r.Checks {
		if c.Verdict != verify.Valid {
			fmt.Fprintf(w, "    %s: %s %s\n", c.Name, c.Verdict, c.Reason)
		}
	}
}

// verifyAnchors returns the trust anchors for `verify`: a certificate file
// (PEM, DER or PKCS#7, as servercert reads them), whose CRLs are fetched
// over http or https; or the development CA of the data directory (whose
// CRL is then made in-process). The data directory is only read: a
// missing development CA is an error, never created.
func verifyAnchors(cfg Config, file string) ([]*x509.Certificate, verify.Fetcher, error) {
	if file == "" {
		dir := filepath.Join(cfg.DataDir, "ca")
		if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err != nil {
			return nil, nil, fmt.Errorf("no -anchors given and no development CA in %s (verify never creates one): %w", dir, err)
		}
		ca := &devCA{dir: dir, url: cfg.publicURL() + crlPath}
		if err := ca.load(filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.pem")); err != nil {
			return nil, nil, err
		}
		if b, err := os.ReadFile(filepath.Join(dir, "revoked.json")); err == nil {
			if err := json.Unmarshal(b, &ca.revoked); err != nil {
				return nil, nil, fmt.Errorf("dev CA: revoked.json: %w", err)
			}
		}
		return []*x509.Certificate{ca.cert}, caFetcher{ca}, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	out, _, err := servercert.ParseCertificates(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%s: no certificates", file)
	}
	return out, &verify.HTTPFetcher{AllowHTTPS: true}, nil
}

func cmdAuditVerify(ctx context.Context, c *cmdEnv) error {
	stdout, stderr := c.stdout, c.stderr
	quiet := c.fs.Bool("quiet", false, "no progress output")
	a, err := c.open(ctx, groupAudit)
	if err != nil {
		return err
	}
	defer a.Close()
	pub, err := a.auditPublicKey(ctx)
	if err != nil {
		return err
	}
	var scanner store.AuditScanner = a.store
	progressed := false
	if !*quiet {
		scanner = progressScanner(a.store, stderr, &progressed)
	}
	rep, err := verifyAnchored(ctx, scanner, pub, a.anchorFile())
	if progressed {
		fmt.Fprintln(stderr)
	}
	var brk *store.ChainBreakError
	if errors.As(err, &brk) {
		fmt.Fprintf(stdout, "audit chain BROKEN at record %d (%s): %s\n", brk.Seq, brk.Reason, brk.Msg)
		return exitError{1}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit chain intact: %d records (head %d)\n", rep.Records, rep.HeadSeq)
	if rep.Anchor == nil {
		fmt.Fprintf(stdout, "NOT ANCHORED: no checkpoint in %s; the chain is checked only against itself\n", a.anchorFile().path)
		if rep.Checkpoints > 0 {
			fmt.Fprintf(stdout, "the log holds %d checkpoints but none is anchored outside the database: it may have been rewritten\n", rep.Checkpoints)
			return exitError{1}
		}
		return nil
	}
	fmt.Fprintf(stdout, "anchored: records 1..%d match the checkpoint of %s kept outside the database (%s); %d newer records not anchored yet\n",
		rep.Anchor.Seq, rep.Anchor.Time.Format(time.RFC3339), a.anchorFile().path, rep.HeadSeq-rep.Anchor.Seq)
	return nil
}

// progressScanner reports progress on w while the audit log streams, and
// sets *progressed once it has printed. The store's chain head stays
// visible to the verifier.
func progressScanner(s storeBackend, w io.Writer, progressed *bool) store.AuditScanner {
	return headedWatcher{recordWatcher{s, func(r *roamsign.AuditRecord) {
		if r.Seq%10000 == 0 {
			fmt.Fprintf(w, "\raudit: %d records verified", r.Seq)
			*progressed = true
		}
	}}, s}
}

func cmdKeysList(ctx context.Context, c *cmdEnv) error {
	stdout := c.stdout
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	keys, err := a.keys.List(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		fmt.Fprintf(stdout, "%-34s %-9s %s\n", k.ID, k.Algorithm, k.Label)
	}
	fmt.Fprintf(stdout, "%d keys\n", len(keys))
	return nil
}
