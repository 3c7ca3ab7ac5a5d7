// Command signserver is the example roamsign sign server: the whole
// Ultimate API on embedded defaults.
//
// With no set-up it keeps everything under ./signserver-data: a SQLite
// database, the encrypted software key store, a development CA that issues
// user certificates and publishes its CRL, two enrolled demo users (printed
// with their demo PINs), OTPs delivered to a development mailbox page and
// the console, and a host demo page that signs PDF vouchers. Production
// settings (PKCS#11 URI, PostgreSQL DSN, SMTP, push gateway, Argon2
// parameters, rate limits, OTP lifetime) are switched by flags, environment
// variables or a JSON file; see `signserver serve -h`.
//
// With -dev=false the server refuses settings that are only safe for a
// developer's machine: the software key store's passphrase must come from
// outside the data directory (-key-passphrase-file, ROAMSIGN_KEY_PASSPHRASE
// or the systemd credential roamsign-key-passphrase), unless the keys are
// in an HSM (-pkcs11-uri).
//
// The audit chain is anchored outside the database: every
// -audit-checkpoint-interval (when the chain grew) and at shutdown the
// server signs a checkpoint with a key in the key store and appends it to
// -audit-anchor-file; `audit verify` checks the chain against the newest
// anchor, so a rewritten or rewound log is reported even when its hashes
// were recomputed.
//
// Subcommands:
//
//	serve                 run the server (default)
//	enrol                 enrol a user: -user -name -host -email [-medium]
//	pin reset             reset a locked PIN: -user (new PIN read from stdin)
//	verify FILE           verify a .pdf or .p7s (with -content) [-anchors FILE] [-crl FILE]... [-ocsp FILE]... [-offline] [-at TIME] [--json]
//	audit verify          verify the audit hash chain and its anchored checkpoints
//	keys list             list the keys in the key store
//	apikey new            make an API key: -name HOST; prints it once and its digest line
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/transport/httpapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "signserver:", err)
		}
		os.Exit(exitCode(err))
	}
}

type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func exitCode(err error) int {
	var e exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// run dispatches a subcommand. It is the testable entry point. An error
// with a kind (from the service or its parts) comes back as a
// *commandError: plain words, the stable code and a reference, with the
// whole error logged under that reference at -log-level debug.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, cmd, err := dispatch(ctx, args, stdin, stdout, stderr)
	if err == nil || roamsign.KindOf(err) == roamsign.KindUnknown {
		return err
	}
	ref := randomID()[:12]
	level := getenv("ROAMSIGN_LOG_LEVEL")
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "log-level" {
			level = f.Value.String()
		}
	})
	newLogger(stderr, level).Debug("command failed", "command", cmd, "ref", ref, "err", err.Error())
	return &commandError{err: err, ref: ref}
}

// commandError is a command's failure as a person reads it; the whole
// error is in the debug log under ref.
type commandError struct {
	err error
	ref string
}

func (e *commandError) Error() string {
	return fmt.Sprintf("%s [%s; ref %s; -log-level debug logs the details]", httpapi.PublicDetail(e.err), roamsign.KindOf(e.err).Code(), e.ref)
}

func (e *commandError) Unwrap() error { return e.err }

// dispatch runs the subcommand args name and returns its flag set.
func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (*flag.FlagSet, string, error) {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	if (cmd == "pin" || cmd == "audit" || cmd == "keys" || cmd == "apikey") && len(args) > 0 {
		cmd, args = cmd+" "+args[0], args[1:]
	}
	fs := flag.NewFlagSet("signserver "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, fs, args, stdout, stderr)
	case "enrol", "enroll":
		err = cmdEnrol(ctx, fs, args, stdin, stdout, stderr)
	case "pin reset":
		err = cmdPINReset(ctx, fs, args, stdin, stdout, stderr)
	case "verify":
		err = cmdVerify(ctx, fs, args, stdout, stderr)
	case "audit verify":
		err = cmdAuditVerify(ctx, fs, args, stdout, stderr)
	case "keys list":
		err = cmdKeysList(ctx, fs, args, stdout, stderr)
	case "apikey new":
		err = cmdAPIKeyNew(fs, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: signserver [serve|enrol|pin reset|verify FILE|audit verify|keys list|apikey new] [flags]")
	default:
		fmt.Fprintf(stderr, "unknown command %q; try: signserver help\n", cmd)
		err = exitError{2}
	}
	return fs, cmd, err
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func getenv(k string) string { return os.Getenv(k) }
