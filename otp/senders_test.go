package otp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/smtptest"
	"github.com/roamsign/roamsign/otp"
)

func smtpSender(t *testing.T, srv *smtptest.Server, mode otp.SMTPMode, now func() time.Time) *otp.SMTPSender {
	t.Helper()
	s, err := otp.NewSMTPSender(otp.SMTPConfig{
		Addr: srv.Addr, Mode: mode, TLSConfig: srv.TLSConfig(),
		Username: srv.Username, Password: srv.Password,
		From: "noreply@roamsign.gov.my", Now: now, Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSMTPEndToEnd issues a challenge whose OTP goes out by e-mail through a
// real SMTP server (STARTTLS + AUTH), reads the delivered message, checks its
// headers and bilingual body, and signs with the OTP read from it.
func TestSMTPEndToEnd(t *testing.T) {
	srv := smtptest.Start(t)
	e := newEnv(t, nil)
	e.m = nil
	sender := smtpSender(t, srv, otp.STARTTLS, e.clock.Now)
	key, _ := otp.NewHMACKey(testKey)
	logger := e.logs.Logger()
	m, err := otp.New(otp.Config{Store: e.store, Key: key, Now: e.clock.Now, Logger: logger,
		Delivery: &otp.Delivery{App: e.app, Email: sender, Logger: logger}})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	e.app.SetFail(errors.New("push gateway down")) // force the e-mail fallback

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hs := hashes("surat-1", "surat-2")
	c, err := m.Issue(ctx, otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs, DataHeader: "SURAT/2026/0042 – Perakuan 1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Channel != roamsign.ChannelEmail || c.SentTo != "a***@agency.gov.my" {
		t.Fatalf("channel %q sentTo %q", c.Channel, c.SentTo)
	}
	msg, err := srv.WaitMessage(ctx, "aminah@agency.gov.my")
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Parsed.Header
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding"} {
		if h.Get(k) == "" {
			t.Errorf("header %s missing", k)
		}
	}
	if d, err := h.Date(); err != nil || !d.Equal(e.clock.Now().Truncate(time.Second)) {
		t.Errorf("Date %v %v", d, err)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || !strings.Contains(subj, c.VerificationCode) {
		t.Errorf("subject %q %v", subj, err)
	}
	if !strings.Contains(h.Get("Content-Type"), "UTF-8") || h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Errorf("content headers %v", h)
	}
	raw, err := io.ReadAll(quotedprintable.NewReader(msg.Parsed.Body))
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	for _, want := range []string{"Kod OTP anda", "Your digital signature OTP", "Kod pengesahan: " + c.VerificationCode,
		"Verification code: " + c.VerificationCode, "SURAT/2026/0042 – Perakuan 1", "Sah sehingga", "Valid until", "(5 minit)"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	code := regexp.MustCompile(`Your digital signature OTP: (\d{6})`).FindStringSubmatch(body)
	if code == nil {
		t.Fatalf("no OTP in body:\n%s", body)
	}
	e.otps = append(e.otps, code[1])
	if err := e.verify(c, c.Nonce, code[1], hs); err != nil {
		t.Fatalf("verify with the mailed OTP: %v", err)
	}
	noOTPLeak(t, e)
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := smtptest.StartMode(t, smtptest.ImplicitTLS)
	s := smtpSender(t, srv, otp.ImplicitTLS, time.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sentTo, err := s.Send(ctx, otp.Recipient{User: testUser, Email: "zul@agency.gov.my"},
		&otp.Message{ChallengeID: "c1", OTP: "123456", VerificationCode: "0042", ExpiresAt: time.Now().Add(5 * time.Minute)})
	if err != nil || sentTo != "z***@agency.gov.my" {
		t.Fatalf("%q %v", sentTo, err)
	}
	if _, err := srv.WaitMessage(ctx, "zul@agency.gov.my"); err != nil {
		t.Fatal(err)
	}
}

func TestSMTPFailures(t *testing.T) {
	srv := smtptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg := &otp.Message{ChallengeID: "c1", OTP: "654321", VerificationCode: "0042", ExpiresAt: time.Now().Add(time.Minute)}
	rcpt := otp.Recipient{User: testUser, Email: "a@agency.gov.my"}

	// Wrong password.
	s, _ := otp.NewSMTPSender(otp.SMTPConfig{Addr: srv.Addr, TLSConfig: srv.TLSConfig(), Username: srv.Username, Password: "wrong", From: "noreply@roamsign.gov.my"})
	_, err := s.Send(ctx, rcpt, msg)
	if !errors.Is(err, roamsign.ErrDelivery) || strings.Contains(err.Error(), "654321") {
		t.Fatalf("wrong password: %v", err)
	}
	// Untrusted certificate.
	s, _ = otp.NewSMTPSender(otp.SMTPConfig{Addr: srv.Addr, Username: srv.Username, Password: srv.Password, From: "noreply@roamsign.gov.my"})
	if _, err := s.Send(ctx, rcpt, msg); !errors.Is(err, roamsign.ErrDelivery) {
		t.Fatalf("untrusted certificate: %v", err)
	}
	// Header injection through the address.
	s = smtpSender(t, srv, otp.STARTTLS, time.Now)
	if _, err := s.Send(ctx, otp.Recipient{Email: "a@b.my\r\nBcc: evil@x.com"}, msg); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("injection: %v", err)
	}
	if _, err := s.Send(ctx, otp.Recipient{}, msg); !errors.Is(err, roamsign.ErrUnsupported) {
		t.Fatalf("no address: %v", err)
	}
	// Nothing listening.
	s, _ = otp.NewSMTPSender(otp.SMTPConfig{Addr: "127.0.0.1:1", From: "noreply@roamsign.gov.my"})
	if _, err := s.Send(ctx, rcpt, msg); !errors.Is(err, roamsign.ErrDelivery) {
		t.Fatalf("refused connection: %v", err)
	}
	if _, err := otp.NewSMTPSender(otp.SMTPConfig{Addr: "x", From: "noreply@roamsign.gov.my"}); err == nil {
		t.Fatal("bad Addr accepted")
	}
}

type gateway struct {
	key   []byte
	fails int32 // answer 503 this many times first
	calls atomic.Int32
	last  atomic.Pointer[otp.PushRequest]
	bad   atomic.Int32
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := g.calls.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		!otp.VerifyPush(g.key, body, r.Header.Get(otp.PushSignatureHeader)) {
		g.bad.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if n <= g.fails {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	var pr otp.PushRequest
	if err := json.Unmarshal(body, &pr); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	g.last.Store(&pr)
	w.WriteHeader(http.StatusAccepted)
}

func pushSender(t *testing.T, url string, key []byte, attempts int) *otp.PushSender {
	t.Helper()
	p, err := otp.NewPushSender(otp.PushConfig{URL: url, AllowHTTP: true, Key: key, Attempts: attempts,
		Backoff: func(int) time.Duration { return time.Millisecond }, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPushRetriesThenSucceeds(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	g := &gateway{key: key, fails: 2}
	ts := httptest.NewServer(g)
	defer ts.Close()
	p := pushSender(t, ts.URL, key, 3)

	e := newEnv(t, nil)
	m, err := otp.New(otp.Config{Store: e.store, Key: mustKey(t), Now: e.clock.Now,
		Logger:   e.logs.Logger(),
		Delivery: &otp.Delivery{App: p, Email: e.email}})
	if err != nil {
		t.Fatal(err)
	}
	hs := hashes("doc")
	c, err := m.Issue(context.Background(), otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs, DataHeader: "DOC-9"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Channel != roamsign.ChannelApp || c.SentTo != "device ***4567" || g.calls.Load() != 3 || e.email.Count() != 0 {
		t.Fatalf("channel %q sentTo %q calls %d", c.Channel, c.SentTo, g.calls.Load())
	}
	pr := g.last.Load()
	if pr.ChallengeID != c.ID || pr.VerificationCode != c.VerificationCode || pr.DataHeader != "DOC-9" || len(pr.Devices) != 1 {
		t.Fatalf("push body %+v", pr)
	}
	e.m = m
	e.otps = append(e.otps, pr.OTP)
	if err := e.verify(c, c.Nonce, pr.OTP, hs); err != nil {
		t.Fatal(err)
	}
	noOTPLeak(t, e)
}

func TestPushFailures(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	ctx := context.Background()
	rcpt := otp.Recipient{User: testUser, Devices: []string{"d1"}}
	msg := &otp.Message{ChallengeID: "c", OTP: "111111"}

	g := &gateway{key: key, fails: 100}
	ts := httptest.NewServer(g)
	defer ts.Close()
	if _, err := pushSender(t, ts.URL, key, 3).Send(ctx, rcpt, msg); !errors.Is(err, roamsign.ErrDelivery) || g.calls.Load() != 3 {
		t.Fatalf("always 5xx: %v after %d calls", err, g.calls.Load())
	}
	// Wrong key: the gateway refuses with 401, which is not retried.
	g2 := &gateway{key: key}
	ts2 := httptest.NewServer(g2)
	defer ts2.Close()
	if _, err := pushSender(t, ts2.URL, bytes.Repeat([]byte{8}, 32), 3).Send(ctx, rcpt, msg); !errors.Is(err, roamsign.ErrDelivery) || g2.calls.Load() != 1 || g2.bad.Load() != 1 {
		t.Fatalf("wrong key: %v after %d calls", err, g2.calls.Load())
	}
	// A gateway that hangs: the per-attempt timeout ends it.
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop)
	p, _ := otp.NewPushSender(otp.PushConfig{URL: hang.URL, AllowHTTP: true, Key: key, Attempts: 1, Timeout: 50 * time.Millisecond})
	if _, err := p.Send(ctx, rcpt, msg); !errors.Is(err, roamsign.ErrDelivery) {
		t.Fatalf("hang: %v", err)
	}
	// A cancelled context stops the retries.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pushSender(t, ts.URL, key, 3).Send(cctx, rcpt, msg); !errors.Is(err, roamsign.ErrDelivery) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := pushSender(t, ts.URL, key, 3).Send(ctx, otp.Recipient{}, msg); !errors.Is(err, roamsign.ErrUnsupported) {
		t.Fatalf("no device: %v", err)
	}
	if _, err := otp.NewPushSender(otp.PushConfig{URL: "ftp://x", Key: key}); err == nil {
		t.Fatal("bad URL accepted")
	}
}

// TestPushURLMustBeHTTPS: the OTP travels in the push request, so a plain
// http gateway is refused unless development explicitly allows it.
func TestPushURLMustBeHTTPS(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	for _, c := range []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://push.example.my/v1/otp", false, true},
		{"http://push.example.my/v1/otp", false, false},
		{"http://127.0.0.1:8080/otp", false, false},
		{"http://127.0.0.1:8080/otp", true, true},
		{"ftp://push.example.my", true, false},
		{"https:///otp", false, false},
		{"push.example.my/otp", true, false},
	} {
		err := otp.CheckPushURL(c.url, c.allowHTTP)
		_, nerr := otp.NewPushSender(otp.PushConfig{URL: c.url, AllowHTTP: c.allowHTTP, Key: key})
		if c.ok {
			require.NoError(t, err, c.url)
			require.NoError(t, nerr, c.url)
			continue
		}
		require.ErrorIs(t, err, roamsign.ErrInvalidInput, "%s allowHTTP=%v", c.url, c.allowHTTP)
		require.ErrorIs(t, nerr, roamsign.ErrInvalidInput, "%s allowHTTP=%v", c.url, c.allowHTTP)
	}
}

// TestPushBudget: a hanging push gateway costs Issue one budget, not the
// sender's attempts × timeouts, before the OTP goes by e-mail, and the
// challenge names the channel that delivered.
func TestPushBudget(t *testing.T) {
	var calls atomic.Int32
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop)
	p, err := otp.NewPushSender(otp.PushConfig{URL: hang.URL, AllowHTTP: true, Key: bytes.Repeat([]byte{7}, 32),
		Attempts: 3, Timeout: 10 * time.Second, Backoff: func(int) time.Duration { return time.Millisecond }})
	require.NoError(t, err)
	e := newEnv(t, func(c *otp.Config) {
		c.Delivery = &otp.Delivery{App: p, Email: c.Delivery.Email, AppBudget: 200 * time.Millisecond}
	})
	c, err := e.m.Issue(context.Background(), otp.IssueRequest{User: testUser, Host: "hr", Hashes: hashes("doc")})
	require.NoError(t, err)
	require.Equal(t, roamsign.ChannelEmail, c.Channel, "the channel that delivered")
	require.Equal(t, 1, e.email.Count())
	require.Equal(t, int32(1), calls.Load(), "push attempts within the budget")
}

func TestConsoleSender(t *testing.T) {
	var buf bytes.Buffer
	msg := &otp.Message{ChallengeID: "c", OTP: "123456", VerificationCode: "9876"}
	if _, err := (&otp.ConsoleSender{}).Send(context.Background(), otp.Recipient{User: testUser}, msg); !errors.Is(err, roamsign.ErrUnsupported) {
		t.Fatalf("zero console sender: %v", err)
	}
	s := otp.NewDevConsoleSender(&buf)
	if _, err := s.Send(context.Background(), otp.Recipient{User: testUser}, msg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "123456") || !strings.Contains(buf.String(), "9876") {
		t.Fatalf("console output %q", buf.String())
	}
	// As the only channel of a Delivery.
	d := &otp.Delivery{Console: s}
	ch, _, err := d.Deliver(context.Background(), otp.Recipient{User: testUser}, msg, "")
	if err != nil || ch != roamsign.ChannelConsole {
		t.Fatalf("%q %v", ch, err)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"aminah@agency.gov.my": "a***@agency.gov.my",
		"x@y.my":               "x***@y.my",
		"broken":               "***",
		"ñame@x.my":            "ñ***@x.my",
	} {
		if got := otp.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func mustKey(t *testing.T) otp.MACKey {
	k, err := otp.NewHMACKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
