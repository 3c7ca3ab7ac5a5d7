// Package devmailbox is the development mailbox of the example sign
// server, seen from both sides: the JSON form of its messages, which the
// server's /dev/mailbox.json serves, and a [Client] that polls that page
// for a challenge's OTP, for the example host client, the load generator
// and the benchmarks. It exists for development only: a production server
// sends OTPs to phones and mailboxes, never to a page.
package devmailbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/roamsign/roamsign"
)

// Message is one message of the development mailbox.
type Message struct {
	Time    time.Time `json:"time"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Body    string    `json:"body"`
}

// Client reads OTPs from a development mailbox: a URL answering GET with a
// JSON array of [Message] values, as the example server's
// /dev/mailbox.json does. It finds the message carrying the challenge's
// verification code and takes the first "OTP ...: value" line.
type Client struct {
	URL    string
	Client *http.Client
	// Wait bounds the polling for one OTP; default 10 seconds.
	Wait time.Duration
}

var (
	otpLine   = regexp.MustCompile(`(?m)OTP[^:\n]*:\s*(\S+)`)
	vcodeLine = regexp.MustCompile(`(?mi)^\s*verification code:\s*(\S+)\s*$`)
)

// OTP returns the OTP of the challenge ch (found by its verification
// code), polling the mailbox until it arrives or Wait ends. The user is
// not needed: verification codes are looked up among every message. It
// has the signature of bench.OTPSource.
func (m *Client) OTP(ctx context.Context, _ roamsign.UserID, ch *roamsign.OTPResponse) (roamsign.Secret, error) {
	const op = "devmailbox.OTP"
	wait := m.Wait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		code, err := m.find(ctx, ch.VerificationCode)
		if err != nil || code != "" {
			return roamsign.Secret(code), err
		}
		select {
		case <-ctx.Done():
			return "", roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "no OTP in the mailbox for challenge "+ch.ChallengeID)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (m *Client) find(ctx context.Context, vcode string) (string, error) {
	const op = "devmailbox.OTP"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL, nil)
	if err != nil {
		return "", roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "mailbox URL")
	}
	c := m.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", roamsign.Wrap(roamsign.ErrUnavailable, op, err, "mailbox")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", roamsign.E(roamsign.ErrUnavailable, op, "mailbox answered %s", resp.Status)
	}
	var msgs []Message
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&msgs); err != nil {
		return "", roamsign.Wrap(roamsign.ErrUnavailable, op, err, "mailbox JSON")
	}
	// Verification codes are short and repeat; among the messages carrying
	// this one, the newest is the challenge's (the mailbox's order is not
	// relied on).
	best, bestAt := "", time.Time{}
	for _, m := range msgs {
		if vcode != "" {
			sm := vcodeLine.FindStringSubmatch(m.Body)
			if sm == nil || sm[1] != vcode {
				continue
			}
		}
		if sm := otpLine.FindStringSubmatch(m.Body); sm != nil && (best == "" || m.Time.After(bestAt)) {
			best, bestAt = sm[1], m.Time
		}
	}
	if best != "" {
		return best, nil
	}
	return "", nil
}
