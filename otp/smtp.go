package otp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// SMTPMode selects how the e-mail sender reaches TLS. Plain-text SMTP is
// not offered: the OTP and the credentials always travel under TLS.
type SMTPMode int

// The SMTP TLS modes.
const (
	// STARTTLS upgrades a plain connection (submission port 587) and fails
	// when the server does not offer STARTTLS.
	STARTTLS SMTPMode = iota
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS
)

// SMTPConfig configures an [SMTPSender].
type SMTPConfig struct {
	// Addr is the server's host:port. Required.
	Addr string
	// Mode is STARTTLS (default) or ImplicitTLS.
	Mode SMTPMode
	// TLSConfig is used for the TLS connection; nil verifies the server
	// against the system roots with ServerName taken from Addr. A copy is
	// used, so the caller's value is never modified.
	TLSConfig *tls.Config
	// Username and Password authenticate with AUTH PLAIN (after TLS). Empty
	// Username skips AUTH.
	Username, Password string
	// From is the sender address, for example "noreply@roamsign.gov.my".
	// Required.
	From string
	// FromName is the display name (default "roamsign").
	FromName string
	// Timeout bounds one delivery, connection to QUIT (default 30s); the
	// context's deadline applies too.
	Timeout time.Duration
	// Now is the clock for the Date header and the expiry text (default
	// time.Now).
	Now func() time.Time
	// Location is the time zone of times in the message (default
	// Asia/Kuala_Lumpur, falling back to UTC+8).
	Location *time.Location
}

// SMTPSender delivers OTPs by e-mail over SMTP with TLS and AUTH PLAIN.
// The message is bilingual (Malay, then English), UTF-8, quoted-printable,
// and carries the OTP, the verification code, the data header and the
// expiry.
type SMTPSender struct {
	cfg SMTPConfig
	loc *time.Location
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTPSender returns an e-mail sender for cfg.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	const op = "otp.NewSMTPSender"
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "Addr must be host:port")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil || strings.ContainsAny(cfg.From, "\r\n<>") {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "From must be a plain e-mail address")
	}
	if strings.ContainsAny(cfg.FromName, "\r\n") {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "FromName contains a line break")
	}
	if cfg.Mode != STARTTLS && cfg.Mode != ImplicitTLS {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "unknown SMTP mode")
	}
	if cfg.FromName == "" {
		cfg.FromName = "roamsign"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	loc := cfg.Location
	if loc == nil {
		loc = malaysia()
	}
	return &SMTPSender{cfg: cfg, loc: loc}, nil
}

// Channel returns roamsign.ChannelEmail.
func (s *SMTPSender) Channel() roamsign.Channel { return roamsign.ChannelEmail }

// Send delivers msg to to.Email and returns the masked address.
func (s *SMTPSender) Send(ctx context.Context, to Recipient, msg *Message) (string, error) {
	const op = "otp.SMTPSender.Send"
	if to.Email == "" {
		return "", roamsign.E(roamsign.ErrUnsupported, op, "user has no e-mail address")
	}
	addr, err := mail.ParseAddress(to.Email)
	if err != nil || addr.Name != "" || strings.ContainsAny(to.Email, "\r\n<>") {
		return "", roamsign.E(roamsign.ErrInvalidInput, op, "user's e-mail address is not valid")
	}
	body, err := s.compose(addr.Address, msg)
	if err != nil {
		return "", roamsign.Wrap(roamsign.ErrInternal, op, err, "composing message")
	}
	if err := s.deliver(ctx, addr.Address, body); err != nil {
		return "", roamsign.Wrap(roamsign.ErrDelivery, op, err, "sending e-mail")
	}
	return MaskEmail(addr.Address), nil
}

func (s *SMTPSender) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.cfg.TLSConfig != nil {
		c = s.cfg.TLSConfig.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName, _, _ = net.SplitHostPort(s.cfg.Addr)
	}
	return c
}

func (s *SMTPSender) deliver(ctx context.Context, rcpt string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	tc := s.tlsConfig()
	var d net.Dialer
	var conn net.Conn
	var err error
	if s.cfg.Mode == ImplicitTLS {
		td := tls.Dialer{NetDialer: &d, Config: tc}
		conn, err = td.DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Abort the conversation when ctx ends before the deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, tc.ServerName)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(localName()); err != nil {
		return err
	}
	if s.cfg.Mode == STARTTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("server does not offer STARTTLS")
		}
		if err := c.StartTLS(tc); err != nil {
			return err
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, tc.ServerName)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// The server accepted the message: a failing QUIT must not make the
	// caller fall back to another channel and deliver twice.
	_ = c.Quit()
	return nil
}

func localName() string { return "localhost" }

// compose builds the MIME message.
func (s *SMTPSender) compose(rcpt string, msg *Message) ([]byte, error) {
	now := s.cfg.Now()
	idb := make([]byte, 16)
	if _, err := rand.Read(idb); err != nil {
		return nil, err
	}
	domain := s.cfg.From[strings.LastIndexByte(s.cfg.From, '@')+1:]
	from := mail.Address{Name: s.cfg.FromName, Address: s.cfg.From}

	subject, text := msg.Text(now, s.loc)
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", from.String())
	hdr("To", "<"+rcpt+">")
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(idb)+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `text/plain; charset="UTF-8"`)
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
