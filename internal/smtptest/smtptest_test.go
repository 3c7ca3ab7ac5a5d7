package smtptest_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/smtptest"
)

func send(t *testing.T, c *smtp.Client, srv *smtptest.Server, to, body string) {
	t.Helper()
	if err := c.Auth(smtp.PlainAuth("", srv.Username, srv.Password, srv.Host)); err != nil {
		t.Fatalf("auth: %v", err)
	}
	if err := c.Mail("noreply@roamsign.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "Subject: hello\r\nTo: "+to+"\r\n\r\n"+body+"\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestStartTLS(t *testing.T) {
	srv := smtptest.Start(t)
	c, err := smtp.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	// AUTH before STARTTLS must be refused by the server.
	if ok, _ := c.Extension("AUTH"); ok {
		t.Fatal("server offers AUTH before STARTTLS")
	}
	if err := c.StartTLS(srv.TLSConfig()); err != nil {
		t.Fatalf("starttls: %v", err)
	}
	send(t, c, srv, "A@agency.gov.my", "body text")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := srv.WaitMessage(ctx, "a@agency.gov.my")
	if err != nil {
		t.Fatal(err)
	}
	if m.Parsed.Header.Get("Subject") != "hello" || m.From != "noreply@roamsign.test" {
		t.Fatalf("unexpected message: %+v", m)
	}
	b, _ := io.ReadAll(m.Parsed.Body)
	if !strings.Contains(string(b), "body text") {
		t.Fatalf("body %q", b)
	}
	// Seen messages are not returned twice.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := srv.WaitMessage(ctx2, "a@agency.gov.my"); err == nil {
		t.Fatal("same message returned twice")
	}
}

func TestWrongPassword(t *testing.T) {
	srv := smtptest.Start(t)
	c, err := smtp.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(srv.TLSConfig()); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", srv.Username, "wrong", srv.Host)); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Mail("x@roamsign.test"); err == nil {
		t.Fatal("MAIL accepted without AUTH")
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := smtptest.StartMode(t, smtptest.ImplicitTLS)
	conn, err := tls.Dial("tcp", srv.Addr, srv.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, srv.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send(t, c, srv, "b@agency.gov.my", "implicit")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := srv.WaitMessage(ctx, "b@agency.gov.my"); err != nil {
		t.Fatal(err)
	}
}
