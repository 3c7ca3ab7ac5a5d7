package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/devmailbox"
	"github.com/roamsign/roamsign/otp"
)

// devMailbox keeps the last OTP messages the development server delivered,
// so a newcomer can sign without a mail server. It exists only in dev mode.
type devMailbox struct {
	mu   sync.Mutex
	max  int
	msgs []devmailbox.Message
}

func newDevMailbox(max int) *devMailbox { return &devMailbox{max: max} }

func (m *devMailbox) add(msg devmailbox.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	if len(m.msgs) > m.max {
		m.msgs = append([]devmailbox.Message(nil), m.msgs[len(m.msgs)-m.max:]...)
	}
}

// list returns the messages, newest first.
func (m *devMailbox) list() []devmailbox.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]devmailbox.Message, len(m.msgs))
	for i, msg := range m.msgs {
		out[len(m.msgs)-1-i] = msg
	}
	return out
}

// mailboxEntry is a message as the mailbox page lists it: with its time
// as the signer reads times (otp.FormatTime).
type mailboxEntry struct {
	devmailbox.Message
	Shown string `json:"shown"`
}

func (m *devMailbox) serveJSON(w http.ResponseWriter, _ *http.Request) {
	msgs := m.list()
	out := make([]mailboxEntry, len(msgs))
	for i, msg := range msgs {
		out[i] = mailboxEntry{msg, otp.FormatTime(msg.Time, nil)}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// mailboxSender is the development e-mail channel: it puts each OTP message
// into the development mailbox page and prints a line to the console. It
// exists only in dev mode (see app.delivery).
type mailboxSender struct {
	box     *devMailbox
	console io.Writer
}

var _ otp.Sender = (*mailboxSender)(nil)

func (m *mailboxSender) Channel() roamsign.Channel { return roamsign.ChannelEmail }

func (m *mailboxSender) Send(_ context.Context, to otp.Recipient, msg *otp.Message) (string, error) {
	if to.Email == "" {
		return "", roamsign.E(roamsign.ErrUnsupported, "signserver.mailbox", "user has no e-mail address")
	}
	now := time.Now()
	subject, body := msg.Text(now, nil)
	m.box.add(devmailbox.Message{Time: now.UTC(), To: to.Email, Subject: subject, Body: body})
	if m.console != nil {
		fmt.Fprintf(m.console, "[dev mailbox] OTP for %s (%s), verification code %s — see /dev/mailbox\n", to.Email, msg.DataHeader, msg.VerificationCode)
	}
	return otp.MaskEmail(to.Email), nil
}
