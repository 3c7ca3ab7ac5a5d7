// Command hostclient is a small host system: it signs the SHA-256 hash of
// one file through a roamsign HTTP API, the way an agency's own system
// would, and writes the signature.
//
// It authenticates as a host with an API key, trusts the server through a
// CA file, asks which medium the user has, requests an OTP for the hash,
// reads the OTP, sends PIN + OTP with the hash and writes the result: the
// raw signature value (-form raw) or a detached CMS SignedData (-form cms,
// a .p7s that `signserver verify FILE.p7s -content FILE` or
// `openssl cms -verify` checks).
//
// Usage, against the example sign server started with `make serve`:
//
//	hostclient -file voucher.pdf -form cms -out voucher.p7s
//	hostclient -file voucher.pdf -dev-mailbox https://127.0.0.1:8443/dev/mailbox.json < pin.txt
//	hostclient -dir vouchers/ -reason "Perakuan 1" < pin-and-otp.txt
//
// `hostclient extend DIR` keeps the signed PDFs of a folder provable for
// decades (PAdES B-LTA, package signer/pdf's Extend): each gets the
// validated certificates and CRLs of its signatures and time-stamps and a
// new document time-stamp when it needs them, and is left untouched when
// it does not; run it periodically over an archive.
//
// With -dir, every PDF in the folder is prepared for a PAdES signature on
// the host (package signer/pdf), the hashes of all of them are approved
// with one OTP, and each signed PDF is completed into DIR/signed/, with
// progress on standard error. Only hashes travel to the server. Files are
// read and written in chunks, never whole into memory. A damaged PDF, or
// one encrypted with permissions only (it opens without a password), is
// refused with the reason; with -repair a clean copy is written to
// DIR/repaired/ (what was wrong and what was changed is printed: the
// encryption removed, for an encrypted one) and that copy is what is
// signed. A PDF that needs a password to open is refused with the advice
// to decrypt it with the password first.
//
// The PIN is read from -pin-file or, without it, from the first line of
// standard input; the OTP from the next line of standard input or, with
// -dev-mailbox, from the development mailbox of a server in development
// mode. Neither is ever taken from the command line, where other users of
// the machine could read it.
//
// A failure is printed in plain words with the server's stable error code
// and the request id under which the server logged the details; -v adds
// the whole error.
//
// The exit status is 0 when the hash was signed, 1 when signing failed and
// 2 for usage errors.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/devmailbox"
	"github.com/roamsign/roamsign/transport/httpapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		var u usageError
		switch {
		case errors.Is(err, flag.ErrHelp):
			os.Exit(2)
		case errors.As(err, &u):
			fmt.Fprintln(os.Stderr, "hostclient:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "hostclient:", httpapi.Describe(err))
		os.Exit(1)
	}
}

// usageError marks a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// options are the command-line settings.
type options struct {
	url, apiKeyFile, caFile string
	user, file, form, out   string
	pinFile, devMailbox     string
	header, dir, reason     string
	timeout                 time.Duration
	verbose, repair         bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("hostclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "https://127.0.0.1:8443", "base URL of the sign server")
	fs.StringVar(&o.apiKeyFile, "api-key-file", "signserver-data/demo-host.apikey", "file holding the host's API key")
	fs.StringVar(&o.caFile, "ca", "signserver-data/ca/ca.pem", "PEM file of the CA that issued the server's TLS certificate (empty: system roots)")
	fs.StringVar(&o.user, "user", "850715015123", "signer's user id")
	fs.StringVar(&o.file, "file", "", "file whose SHA-256 hash is signed")
	fs.StringVar(&o.dir, "dir", "", "sign every PDF in this folder (PAdES, one OTP), writing DIR/signed/")
	fs.StringVar(&o.reason, "reason", "Perakuan 1", "signature reason for -dir (approval level)")
	fs.StringVar(&o.form, "form", "raw", "output form: raw (signature value) or cms (detached SignedData)")
	fs.StringVar(&o.out, "out", "", "write the signature here (default: base64 on standard output)")
	fs.StringVar(&o.pinFile, "pin-file", "", "file holding the PIN (default: first line of standard input)")
	fs.StringVar(&o.devMailbox, "dev-mailbox", "", "read the OTP from this development mailbox URL (…/dev/mailbox.json) instead of standard input")
	fs.StringVar(&o.header, "data-header", "", "data header shown to the signer (default: the file name)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "time limit for the whole signing")
	fs.BoolVar(&o.repair, "repair", false, "with -dir: sign a repaired copy (written to DIR/repaired/) of each damaged PDF, or of one encrypted with permissions only (the copy is decrypted), instead of refusing it")
	fs.BoolVar(&o.verbose, "v", false, "on failure, also print the whole error (operation names, addresses) for the logs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.file == "" && fs.NArg() == 1 {
		o.file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return o, usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if (o.file == "") == (o.dir == "") {
		return o, usageError{"give exactly one of -file or -dir"}
	}
	if o.form != string(roamsign.FormRaw) && o.form != string(roamsign.FormCMS) {
		return o, usageError{fmt.Sprintf("-form must be raw or cms, got %q", o.form)}
	}
	id, err := roamsign.ParseUserID(o.user)
	if err != nil {
		return o, usageError{"-user: " + err.Error()}
	}
	o.user = string(id)
	if o.header == "" {
		o.header = o.file + o.dir
	}
	return o, nil
}

// run is the testable entry point. Its errors are printed for people with
// httpapi.Describe: plain words, the stable code and the server's request
// id; -v adds the whole error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	if len(args) > 0 && args[0] == "extend" {
		return runExtend(ctx, args[1:], stdout, stderr)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.verbose {
		defer func() {
			if err != nil {
				fmt.Fprintln(stderr, "hostclient: detail:", err)
			}
		}()
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	h, err := newHost(o, stdin, stderr)
	if err != nil {
		return err
	}
	med, err := h.medium(ctx)
	if err != nil {
		return err
	}
	hashes, batch, err := h.hashes(ctx, med)
	if err != nil {
		return err
	}
	resp, err := h.approveAndSign(ctx, hashes)
	if err != nil {
		return err
	}
	if batch != nil {
		return batch.complete(ctx, resp, stderr)
	}
	return h.writeSignature(resp, stdout)
}

// host is one signing run of the host system: its settings, its client
// of the signing service and where the signer's answers come from.
type host struct {
	o      options
	hc     *http.Client
	c      *httpapi.Client
	user   roamsign.UserID
	in     *bufio.Reader // standard input: PIN, then OTP
	stderr io.Writer
}

func newHost(o options, stdin io.Reader, stderr io.Writer) (*host, error) {
	hc, err := httpClient(o.caFile)
	if err != nil {
		return nil, err
	}
	key, err := readLine(o.apiKeyFile, nil)
	if err != nil {
		return nil, fmt.Errorf("API key: %w", err)
	}
	c, err := httpapi.NewClient(o.url, httpapi.ClientOptions{HTTPClient: hc, APIKey: key, UserAgent: "roamsign-hostclient"})
	if err != nil {
		return nil, err
	}
	return &host{o: o, hc: hc, c: c, user: roamsign.UserID(o.user), in: bufio.NewReader(io.LimitReader(stdin, 4096)), stderr: stderr}, nil
}

// medium asks which medium the user signs with; only a roaming
// certificate with PIN + OTP will do.
func (h *host) medium(ctx context.Context) (*roamsign.MediumResponse, error) {
	med, err := h.c.Medium(ctx, roamsign.MediumRequest{User: h.user})
	if err != nil {
		return nil, fmt.Errorf("medium: %w", err)
	}
	if med.Use != roamsign.MediumRoamingOTP {
		return nil, fmt.Errorf("user %s signs with %q, not a roaming certificate with PIN + OTP", h.user.Masked(), med.Use)
	}
	if med.Certificate != nil {
		fmt.Fprintf(h.stderr, "certificate: %s (serial %s, valid %s to %s)\n", med.Certificate.Subject, med.Certificate.SerialNumber,
			med.Certificate.NotBefore.Format(time.DateOnly), med.Certificate.NotAfter.Format(time.DateOnly))
	}
	return med, nil
}

// hashes returns what is signed: the SHA-256 hash of -file, or the hashes
// of the PDFs of -dir prepared for PAdES signatures (batch non-nil).
func (h *host) hashes(ctx context.Context, med *roamsign.MediumResponse) ([]roamsign.Hash, *pdfBatch, error) {
	if h.o.dir == "" {
		sum, err := hashFile(h.o.file)
		if err != nil {
			return nil, nil, err
		}
		return []roamsign.Hash{sum}, nil, nil
	}
	if len(med.Chain) == 0 {
		return nil, nil, fmt.Errorf("the server sent no certificate chain for user %s", h.user.Masked())
	}
	chain, err := x509.ParseCertificates(bytes.Join(med.Chain, nil))
	if err != nil {
		return nil, nil, fmt.Errorf("the user's certificate chain: %w", err)
	}
	batch, err := preparePDFs(ctx, h.o.dir, chain, h.o.reason, h.o.repair, h.stderr)
	if err != nil {
		return nil, nil, err
	}
	return batch.hashes, batch, nil
}

// approveAndSign requests the OTP for hashes, reads the PIN and the OTP,
// and sends them with the hashes to be signed.
func (h *host) approveAndSign(ctx context.Context, hashes []roamsign.Hash) (*roamsign.SignResponse, error) {
	ch, err := h.c.RequestOTP(ctx, roamsign.OTPRequest{User: h.user, Hashes: hashes, DataHeader: h.o.header})
	if err != nil {
		return nil, fmt.Errorf("request OTP: %w", err)
	}
	fmt.Fprintf(h.stderr, "OTP sent to %s (%s); verification code %s; expires %s\n", ch.SentTo, ch.Channel, ch.VerificationCode, ch.ExpiresAt.Format(time.TimeOnly))
	pin, err := readLine(h.o.pinFile, h.in)
	if err != nil {
		return nil, fmt.Errorf("PIN: %w", err)
	}
	var otp string
	if h.o.devMailbox != "" {
		otp, err = mailboxOTP(ctx, h.hc, h.o.devMailbox, ch.VerificationCode)
	} else {
		fmt.Fprintln(h.stderr, "OTP (one line on standard input):")
		otp, err = readLine("", h.in)
	}
	if err != nil {
		return nil, fmt.Errorf("OTP: %w", err)
	}
	resp, err := h.c.Sign(ctx, roamsign.SignRequest{
		ChallengeID: ch.ChallengeID, Nonce: ch.Nonce,
		PIN: roamsign.Secret(pin), OTP: roamsign.Secret(otp),
		Hashes: hashes, RequestID: roamsign.NewRequestID(), Form: roamsign.OutputForm(h.o.form),
	})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return resp, nil
}

// writeSignature writes the one signature to -out, or base64 to stdout.
func (h *host) writeSignature(resp *roamsign.SignResponse, stdout io.Writer) error {
	if len(resp.Items) != 1 || resp.Items[0].Status != roamsign.ItemSigned {
		return fmt.Errorf("sign: transaction %s: the hash was not signed (%+v)", resp.TransactionID, resp.Items)
	}
	sig := resp.Items[0].Signature
	fmt.Fprintf(h.stderr, "signed: transaction %s, %s, form %s, %d bytes\n", resp.TransactionID, resp.SignatureAlgorithm, resp.Form, len(sig))
	if h.o.out != "" {
		if err := os.WriteFile(h.o.out, sig, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(h.stderr, "signature written to %s\n", h.o.out)
		return nil
	}
	_, err := fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(sig))
	return err
}

// httpClient trusts caFile (PEM) for the server's TLS certificate, or the
// system roots when caFile is empty.
func httpClient(caFile string) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("CA file %s: no PEM certificates", caFile)
		}
		tc.RootCAs = pool
	}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}}, nil
}

// readLine returns the first line of the file path or, when path is empty,
// the next line of in.
func readLine(path string, in *bufio.Reader) (string, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if line = strings.TrimSpace(line); line == "" {
			return "", fmt.Errorf("%s is empty", path)
		}
		return line, nil
	}
	if in == nil {
		return "", errors.New("no input")
	}
	line, err := in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// mailboxOTP waits for the development mailbox message carrying the
// challenge's verification code vcode and returns its OTP; the wait ends
// with ctx.
func mailboxOTP(ctx context.Context, hc *http.Client, url, vcode string) (string, error) {
	if vcode == "" {
		return "", errors.New("no verification code to find the OTP message by")
	}
	box := &devmailbox.Client{URL: url, Client: hc}
	if dl, ok := ctx.Deadline(); ok {
		box.Wait = time.Until(dl)
	}
	otp, err := box.OTP(ctx, "", &roamsign.OTPResponse{VerificationCode: vcode})
	return otp.Reveal(), err
}
