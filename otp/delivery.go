package otp

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// Message is what a [Sender] delivers. OTP is a [roamsign.Secret], so it
// never shows when a Message is printed or logged.
type Message struct {
	ChallengeID      string
	User             roamsign.UserID
	Host             roamsign.HostID
	OTP              roamsign.Secret
	VerificationCode string
	DataHeader       string
	Count            int // number of hashes to be signed; 0 when HashesLater
	ExpiresAt        time.Time
	// HashesLater says the documents are named only when the OTP is used
	// (a late-bound challenge): no number of documents is known yet.
	HashesLater bool
}

// Recipient is where a user's OTP may go.
type Recipient struct {
	User    roamsign.UserID
	Email   string   // e-mail address, may be empty
	Devices []string // registered push device ids, may be empty
}

// Sender delivers OTP messages over one channel.
type Sender interface {
	// Channel names the channel the sender uses.
	Channel() roamsign.Channel
	// Send delivers msg to to and returns the masked destination to show
	// to the host (for example "a***@agency.gov.my"). It returns an error
	// matching roamsign.ErrUnsupported when to has no destination for this
	// channel.
	Send(ctx context.Context, to Recipient, msg *Message) (sentTo string, err error)
}

// DefaultAppBudget bounds the app push, all its attempts and waits
// together, before the fallback when [Delivery].AppBudget is zero.
const DefaultAppBudget = 5 * time.Second

// Delivery is the channel policy: app push first when the user has a
// registered device, e-mail as the fallback when there is no device or the
// push fails, unless ForbidEmail is set. Console is a development channel
// used only when it is configured, after the others.
type Delivery struct {
	App     Sender // push to the signer's app; nil: not available
	Email   Sender // e-mail; nil: not available
	Console Sender // development only; nil in production
	// ForbidEmail turns the e-mail fallback off (e-mail is the weaker
	// channel). An explicit request for e-mail is then refused too.
	ForbidEmail bool
	// AppBudget bounds the time the app channel may take, every attempt
	// and wait of the sender together, before the next channel is tried:
	// a slow or hanging push gateway costs the caller at most this much.
	// Default [DefaultAppBudget].
	AppBudget time.Duration
	// Logger receives delivery logs (default slog.Default()); never the OTP.
	Logger *slog.Logger
}

// Deliver sends msg by the policy, trying the preferred channel first when
// the policy allows it, and returns the channel that delivered (which the
// challenge response names) and the masked destination. When every allowed channel fails it returns an error
// of kind roamsign.ErrDelivery joining the channels' errors.
func (d *Delivery) Deliver(ctx context.Context, to Recipient, msg *Message, prefer roamsign.Channel) (roamsign.Channel, string, error) {
	const op = "otp.Deliver"
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	order := d.order(to, prefer)
	if len(order) == 0 {
		return "", "", roamsign.E(roamsign.ErrDelivery, op, "no allowed channel for this user")
	}
	var errs []error
	for _, s := range order {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		sentTo, err := d.send(ctx, s, to, msg)
		if err == nil {
			return s.Channel(), sentTo, nil
		}
		log.WarnContext(ctx, "otp channel failed", "channel", string(s.Channel()), "challenge", msg.ChallengeID,
			"user", to.User.Masked(), "error", err)
		errs = append(errs, err)
	}
	return "", "", &roamsign.Error{Kind: roamsign.ErrDelivery, Op: op, Msg: "no channel delivered the OTP", Err: errors.Join(errs...)}
}

// send sends msg over s, within the app budget for the app channel.
func (d *Delivery) send(ctx context.Context, s Sender, to Recipient, msg *Message) (string, error) {
	if s.Channel() == roamsign.ChannelApp {
		budget := d.AppBudget
		if budget <= 0 {
			budget = DefaultAppBudget
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	return s.Send(ctx, to, msg)
}

func (d *Delivery) order(to Recipient, prefer roamsign.Channel) []Sender {
	var app, email []Sender
	if d.App != nil && len(to.Devices) > 0 {
		app = []Sender{d.App}
	}
	if d.Email != nil && !d.ForbidEmail && to.Email != "" {
		email = []Sender{d.Email}
	}
	var order []Sender
	switch prefer {
	case roamsign.ChannelEmail:
		if d.ForbidEmail {
			return nil
		}
		order = append(email, app...)
	case roamsign.ChannelConsole:
		if d.Console != nil {
			return []Sender{d.Console}
		}
		return nil
	default:
		order = append(app, email...)
	}
	if d.Console != nil {
		order = append(order, d.Console)
	}
	return order
}

// MaskEmail hides most of an address for display to the host:
// "aminah@agency.gov.my" becomes "a***@agency.gov.my".
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	local := []rune(addr[:at])
	return string(local[0]) + "***" + addr[at:]
}

// MaskDevice hides most of a device id: "***" and its last 4 characters.
func MaskDevice(id string) string {
	r := []rune(id)
	if len(r) <= 4 {
		return "device ***"
	}
	return "device ***" + string(r[len(r)-4:])
}
