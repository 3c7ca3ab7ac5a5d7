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
// The subcommands (serve, enrol, pin reset, verify, audit verify, keys
// list, apikey new) are listed by `signserver -h`; `signserver COMMAND -h`
// lists the flags of one. They are the table commands in cli.go, which
// also says how to add one.
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
		printError(os.Stderr, err)
		os.Exit(exitCode(err))
	}
}

// printError prints a command's failure, unless the command has already
// said why (exitError).
func printError(w io.Writer, err error) {
	if !errors.As(err, new(exitError)) {
		fmt.Fprintln(w, "signserver:", err)
	}
}

// exitError ends the program with its code and prints nothing more: the
// command has already said why (a verification report, a broken chain).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func exitCode(err error) int {
	var e exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.As(err, new(flagError)) {
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

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func getenv(k string) string { return os.Getenv(k) }
