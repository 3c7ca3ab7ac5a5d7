package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/otp"
)

// mailboxMessage is one entry of the development mailbox JSON.
type mailboxMessage struct {
	To   string `json:"to"`
	Body string `json:"body"`
}

// mail is a development mailbox message as signserver writes it: the
// text of otp.Message.
func mail(code, vcode string) mailboxMessage {
	now := time.Now()
	_, body := (&otp.Message{OTP: roamsign.Secret(code), VerificationCode: vcode, DataHeader: "PV2026/000123", Count: 1, ExpiresAt: now.Add(5 * time.Minute)}).Text(now, nil)
	return mailboxMessage{To: "a@example.my", Body: body}
}

func TestFindOTP(t *testing.T) {
	msgs := []mailboxMessage{mail("111111", "1234"), mail("222222", "5678"), mail("333333", "1234"), {Body: "no OTP here"}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(msgs)
	}))
	defer srv.Close()
	for _, tc := range []struct{ vcode, want string }{
		{"1234", "111111"}, // newest first
		{"5678", "222222"},
		{"9999", ""},
		{"", ""},
	} {
		// A message that is there is found on the first poll, however
		// slow the machine (the wait bounds only the TLS handshake and
		// the answer); one that is not is awaited briefly.
		wait := 300 * time.Millisecond
		if tc.want != "" {
			wait = 30 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		if got, _ := mailboxOTP(ctx, srv.Client(), srv.URL, tc.vcode); got != tc.want {
			t.Errorf("mailboxOTP(%q) = %q, want %q", tc.vcode, got, tc.want)
		}
		cancel()
	}
}

func TestMailboxOTPPollsUntilTheMessageArrives(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		msgs := []mailboxMessage{mail("111111", "0001")}
		if calls.Add(1) >= 3 {
			msgs = append([]mailboxMessage{mail("424242", "0002")}, msgs...)
		}
		_ = json.NewEncoder(w).Encode(msgs)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := mailboxOTP(ctx, srv.Client(), srv.URL, "0002")
	if err != nil || got != "424242" {
		t.Fatalf("mailboxOTP = %q, %v; want 424242", got, err)
	}
	if calls.Load() < 3 {
		t.Fatalf("answered after %d polls, want at least 3", calls.Load())
	}

	// A message that never comes ends with the context, not a hang.
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	if _, err := mailboxOTP(short, srv.Client(), srv.URL, "7777"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("missing message: err %v, want deadline exceeded", err)
	}
}

func TestMailboxRejectsBadAnswers(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "<html>not json</html>")
	}))
	defer srv.Close()
	for _, path := range []string{"/missing", "/html"} {
		if _, err := mailboxOTP(context.Background(), srv.Client(), srv.URL+path, "1"); err == nil {
			t.Errorf("%s: no error", path)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-form", "pdf", "-file", "x"},
		{"a", "b"},
		{"-file", "x", "-user", "not-a-user", "-ca", ""},
	} {
		err := run(context.Background(), append(args, "-api-key-file", writeFile(t, "key", "k\n")), strings.NewReader(""), io.Discard, io.Discard)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
}

func TestReadLine(t *testing.T) {
	in := bufio.NewReader(strings.NewReader("Kewangan#2026\r\n123456"))
	if got, err := readLine("", in); err != nil || got != "Kewangan#2026" {
		t.Fatalf("first line %q, %v", got, err)
	}
	if got, err := readLine("", in); err != nil || got != "123456" {
		t.Fatalf("last line without newline %q, %v", got, err)
	}
	if _, err := readLine("", in); err == nil {
		t.Fatal("reading past the end: no error")
	}
	if got, err := readLine(writeFile(t, "pin", "  Perakuan@77 \nignored\n"), nil); err != nil || got != "Perakuan@77" {
		t.Fatalf("PIN file %q, %v", got, err)
	}
	if _, err := readLine(writeFile(t, "empty", "\n"), nil); err == nil {
		t.Fatal("empty PIN file: no error")
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}
