// Package leakcheck finds secrets (OTPs, PINs) in captured logs and error
// texts, for the tests that prove none is ever logged or returned.
//
// A secret is found only as a whole token: an occurrence counts when the
// characters around it are not letters or digits (where the secret's own
// edge is a letter or digit). So the forms a real leak takes —
// "otp":"123456", otp=123456, OTP 123456 — match, while a 6-digit OTP that
// happens to occur inside a longer number, a hexadecimal id or a
// timestamp's nanoseconds does not: the check cannot fail by chance.
//
// The loggers of [Buffer] also remove digit noise at the source: every
// time- and duration-valued attribute, at the top level and inside groups,
// is dropped before it is written.
//
// It is test support: production code never imports it.
package leakcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// contextChars is how much text a [Leak] shows on each side of the secret.
const contextChars = 40

// Leak is one occurrence of a secret in a text.
type Leak struct {
	Secret  int    // index of the secret in the list given to Find
	Offset  int    // byte offset of the occurrence in the text
	Line    int    // 1-based line of the occurrence
	Column  int    // 1-based byte column of the occurrence
	Context string // the text around the occurrence, on one line
}

// String names the secret, where it is and what surrounds it.
func (l Leak) String() string {
	return fmt.Sprintf("secret #%d at line %d, column %d (byte %d): …%s…", l.Secret, l.Line, l.Column, l.Offset, l.Context)
}

// Find returns every whole-token occurrence in text of each secret, in
// the forms it takes when written raw, JSON-encoded or Go-quoted. Empty
// secrets are ignored.
func Find(text string, secrets ...string) []Leak {
	var out []Leak
	for i, s := range secrets {
		if s == "" {
			continue
		}
		seen := map[int]bool{}
		for _, form := range forms(s) {
			for _, off := range tokenIndexes(text, form) {
				if seen[off] {
					continue
				}
				seen[off] = true
				out = append(out, leakAt(text, i, off, len(form)))
			}
		}
	}
	return out
}

// Check fails t (without stopping it) for every whole-token occurrence of
// a secret in text; what names the text ("the logs", "error …").
func Check(t testing.TB, what, text string, secrets ...string) {
	t.Helper()
	for _, l := range Find(text, secrets...) {
		t.Errorf("a secret appears in %s: %s", what, l)
	}
}

// forms returns s as it appears written raw, inside a JSON string (with
// or without HTML escaping) and inside a Go-quoted string.
func forms(s string) []string {
	out := []string{s}
	add := func(f string) {
		for _, o := range out {
			if o == f {
				return
			}
		}
		out = append(out, f)
	}
	if b, err := json.Marshal(s); err == nil {
		add(string(b[1 : len(b)-1]))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) == nil {
		b := bytes.TrimSpace(buf.Bytes())
		add(string(b[1 : len(b)-1]))
	}
	q := strconv.Quote(s)
	add(q[1 : len(q)-1])
	return out
}

// tokenIndexes returns the offsets of the whole-token occurrences of tok
// in text.
func tokenIndexes(text, tok string) []int {
	var out []int
	for from := 0; from <= len(text)-len(tok); {
		i := strings.Index(text[from:], tok)
		if i < 0 {
			break
		}
		off := from + i
		end := off + len(tok)
		startOK := !isAlnum(tok[0]) || off == 0 || !isAlnum(text[off-1])
		endOK := !isAlnum(tok[len(tok)-1]) || end == len(text) || !isAlnum(text[end])
		if startOK && endOK {
			out = append(out, off)
		}
		from = off + 1
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func leakAt(text string, secret, off, n int) Leak {
	line := 1 + strings.Count(text[:off], "\n")
	col := off - (strings.LastIndexByte(text[:off], '\n') + 1) + 1
	lo, hi := max(off-contextChars, 0), min(off+n+contextChars, len(text))
	ctx := strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(text[lo:hi])
	return Leak{Secret: secret, Offset: off, Line: line, Column: col, Context: ctx}
}

// DropTimes is a [slog.HandlerOptions] ReplaceAttr that removes every
// time- and duration-valued attribute (slog's own time included, and those
// inside groups), so that their digits cannot be mistaken for a secret.
func DropTimes(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Resolve().Kind() {
	case slog.KindTime, slog.KindDuration:
		return slog.Attr{}
	}
	return a
}

// Buffer is a concurrency-safe log sink for checking what was logged (a
// child process's output, too).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset empties l.
func (l *Buffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// Logger returns a JSON logger into l at debug level, without time- or
// duration-valued attributes (see [DropTimes]).
func (l *Buffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: DropTimes}))
}

// TextLogger is [Buffer.Logger] in slog's text format.
func (l *Buffer) TextLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: DropTimes}))
}
