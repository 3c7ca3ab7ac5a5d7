package otp

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/roamsign/roamsign"
)

// ConsoleSender writes OTP messages, OTP included, to a writer. It is for
// development only and works only when made with [NewDevConsoleSender]:
// its zero value refuses every message, so a misconfiguration never prints
// an OTP by accident. It writes to its own writer, never to a logger.
type ConsoleSender struct {
	mu  sync.Mutex
	w   io.Writer
	dev bool
}

var _ Sender = (*ConsoleSender)(nil)

// NewDevConsoleSender returns a console sender that prints OTPs to w. Use
// it only in development set-ups.
func NewDevConsoleSender(w io.Writer) *ConsoleSender {
	return &ConsoleSender{w: w, dev: true}
}

// Channel returns roamsign.ChannelConsole.
func (c *ConsoleSender) Channel() roamsign.Channel { return roamsign.ChannelConsole }

// Send prints msg in development mode and fails otherwise.
func (c *ConsoleSender) Send(_ context.Context, to Recipient, msg *Message) (string, error) {
	const op = "otp.ConsoleSender.Send"
	if !c.dev || c.w == nil {
		return "", roamsign.E(roamsign.ErrUnsupported, op, "console delivery is only available in development mode")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := fmt.Fprintf(c.w, "[DEV OTP] user %s challenge %s: OTP %s, verification code %s, document %q, expires %s\n",
		to.User.Masked(), msg.ChallengeID, msg.OTP.Reveal(), msg.VerificationCode, msg.DataHeader, msg.ExpiresAt.Format("2006-01-02 15:04:05Z07:00"))
	if err != nil {
		return "", roamsign.Wrap(roamsign.ErrDelivery, op, err, "writing to console")
	}
	return "console", nil
}
