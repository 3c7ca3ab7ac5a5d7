package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/roamsign/roamsign/ltv"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/tsa"
	"github.com/roamsign/roamsign/verify"
)

// extendOptions are the settings of `hostclient extend`.
type extendOptions struct {
	dir, anchors, caFile, tsaURL string
	renewBefore, timeout         time.Duration
	vri                          bool
}

// devTSAURLFile is where the example server in development mode writes
// the URL of its development TSA.
const devTSAURLFile = "signserver-data/ca/tsa.url"

func parseExtendFlags(args []string, stderr io.Writer) (extendOptions, error) {
	var o extendOptions
	fs := flag.NewFlagSet("hostclient extend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hostclient extend [flags] DIR\n\nKeeps every signed PDF in DIR provable (PAdES B-LTA): adds the validated\nvalidation material and a new document time-stamp where needed, in place.")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.anchors, "anchors", "signserver-data/ca/ca.pem", "PEM file of the trust anchors of the signers and time-stamping authorities")
	fs.StringVar(&o.caFile, "ca", "signserver-data/ca/ca.pem", "PEM file of the CA of https CRL servers' TLS certificates (empty: system roots)")
	fs.StringVar(&o.tsaURL, "tsa-url", "", "RFC 3161 time-stamping authority URLs, comma-separated, in order of preference (default: the development TSA named in "+devTSAURLFile+")")
	fs.DurationVar(&o.renewBefore, "renew-before", pdf.DefaultRenewBefore, "renew the newest document time-stamp when its certificate expires within this")
	fs.BoolVar(&o.vri, "vri", false, "also add /VRI entries per signature")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "time limit for the whole folder")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 1 {
		return o, usageError{"hostclient extend needs exactly one folder"}
	}
	o.dir = fs.Arg(0)
	if o.tsaURL == "" {
		b, err := os.ReadFile(devTSAURLFile)
		if err != nil {
			return o, usageError{"-tsa-url is required (no development TSA found in " + devTSAURLFile + ")"}
		}
		o.tsaURL = strings.TrimSpace(string(b))
	}
	return o, nil
}

// runExtend is `hostclient extend DIR`: each *.pdf of DIR is given, with
// pdf.Extend, the validated material of its signatures and time-stamps
// and a new document time-stamp when it needs them, and replaced
// atomically; a document that needs nothing is left untouched. One line
// per document goes to stdout. It fails when any document failed.
func runExtend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseExtendFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	opts, err := o.extendOptions()
	if err != nil {
		return err
	}
	names, err := pdfNames(o.dir)
	if err != nil {
		return err
	}
	failed := 0
	for _, name := range names {
		rep, err := extendFile(ctx, filepath.Join(o.dir, name), opts)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "%s: failed: %v\n", name, err)
		case rep.Changed:
			fmt.Fprintf(stdout, "%s: extended (%s; %d items added, time-stamp %s)\n", name, rep.Reason, rep.Added.Len(), rep.Timestamp.UTC().Format(time.RFC3339))
		default:
			fmt.Fprintf(stdout, "%s: up to date\n", name)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d documents could not be extended", failed, len(names))
	}
	return nil
}

// extendOptions builds the validator (package verify, CRLs fetched over
// http or https) and the time-stamping client.
func (o extendOptions) extendOptions() (pdf.ExtendOptions, error) {
	anchors, err := readPEMCerts(o.anchors)
	if err != nil {
		return pdf.ExtendOptions{}, usageError{"-anchors: " + err.Error()}
	}
	hc, err := httpClient(o.caFile)
	if err != nil {
		return pdf.ExtendOptions{}, err
	}
	v, err := ltv.New(verify.Config{Anchors: anchors, Fetcher: &verify.HTTPFetcher{Client: hc, AllowHTTPS: true}})
	if err != nil {
		return pdf.ExtendOptions{}, err
	}
	pool := x509.NewCertPool()
	for _, c := range anchors {
		pool.AddCert(c)
	}
	var list []tsa.TSA
	for _, u := range strings.Split(o.tsaURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			list = append(list, tsa.TSA{URL: u})
		}
	}
	// Path-only here: signer/pdf validates the authority's path again,
	// with revocation, before it embeds a token.
	c, err := tsa.New(tsa.Config{TSAs: list, Chain: tsa.Roots(pool)})
	if err != nil {
		return pdf.ExtendOptions{}, usageError{"-tsa-url: " + err.Error()}
	}
	return pdf.ExtendOptions{Timestamper: c, Validator: v, RenewBefore: o.renewBefore, VRI: o.vri}, nil
}

// extendFile extends one document, replacing it only when something was
// added.
func extendFile(ctx context.Context, path string, opts pdf.ExtendOptions) (*pdf.LTVReport, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	rep, err := pdf.Extend(ctx, in, st.Size(), tmp, opts)
	if err == nil && rep.Changed {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil || !rep.Changed {
		return rep, err
	}
	if err := os.Chmod(tmp.Name(), st.Mode().Perm()); err != nil {
		return nil, err
	}
	return rep, os.Rename(tmp.Name(), path)
}

// pdfNames lists the *.pdf files of dir, sorted.
func pdfNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".pdf") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, usageError{"no .pdf files in " + dir}
	}
	return names, nil
}

// readPEMCerts reads the certificates of a PEM file.
func readPEMCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificates in " + path)
	}
	return out, nil
}
