// Package otptest provides test doubles for package otp: an in-memory
// [Store] that follows the store contract (compare-and-set consumption,
// atomic counters), and a [Capture] sender that records delivered messages
// so a test can read the OTP.
//
// They are for tests only: the Store keeps everything in memory and the
// Capture sender holds OTPs in clear.
package otptest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/otp"
)

// Store is an in-memory challenge and user store.
type Store struct {
	mu         sync.Mutex
	challenges map[string]*roamsign.ChallengeRecord
	users      map[roamsign.UserID]*roamsign.UserRecord
}

var _ otp.Store = (*Store)(nil)

// NewStore returns an empty store holding the given users.
func NewStore(users ...*roamsign.UserRecord) *Store {
	s := &Store{challenges: map[string]*roamsign.ChallengeRecord{}, users: map[roamsign.UserID]*roamsign.UserRecord{}}
	for _, u := range users {
		c := *u
		s.users[u.ID] = &c
	}
	return s
}

func cloneChallenge(c *roamsign.ChallengeRecord) *roamsign.ChallengeRecord {
	d := *c
	d.Nonce = slices.Clone(c.Nonce)
	d.MAC = slices.Clone(c.MAC)
	return &d
}

func cloneUser(u *roamsign.UserRecord) *roamsign.UserRecord {
	d := *u
	d.Hosts = slices.Clone(u.Hosts)
	d.Media = slices.Clone(u.Media)
	d.Devices = slices.Clone(u.Devices)
	d.Chain = slices.Clone(u.Chain)
	d.PINVerifier = slices.Clone(u.PINVerifier)
	return &d
}

func notFound(op string) error { return roamsign.E(roamsign.ErrNotFound, op, "not found") }

// CreateChallenge stores c; ErrConflict if the id exists.
func (s *Store) CreateChallenge(_ context.Context, c *roamsign.ChallengeRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.challenges[c.ID]; ok {
		return roamsign.E(roamsign.ErrConflict, "otptest.CreateChallenge", "challenge exists")
	}
	s.challenges[c.ID] = cloneChallenge(c)
	return nil
}

// GetChallenge returns a copy of the challenge.
func (s *Store) GetChallenge(_ context.Context, id string) (*roamsign.ChallengeRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.challenges[id]
	if !ok {
		return nil, notFound("otptest.GetChallenge")
	}
	return cloneChallenge(c), nil
}

// MarkDelivered records the channel and masked destination.
func (s *Store) MarkDelivered(_ context.Context, id string, ch roamsign.Channel, sentTo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.challenges[id]
	if !ok {
		return notFound("otptest.MarkDelivered")
	}
	c.Channel, c.SentTo = ch, sentTo
	return nil
}

// MarkUndeliverable makes the challenge unusable.
func (s *Store) MarkUndeliverable(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.challenges[id]
	if !ok {
		return notFound("otptest.MarkUndeliverable")
	}
	c.Undeliverable = true
	return nil
}

// FailChallenge increments Tries of an unconsumed challenge.
func (s *Store) FailChallenge(_ context.Context, id string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.challenges[id]
	if !ok {
		return 0, notFound("otptest.FailChallenge")
	}
	if c.Consumed {
		return c.Tries, roamsign.E(roamsign.ErrUsed, "otptest.FailChallenge", "consumed")
	}
	c.Tries++
	return c.Tries, nil
}

// ConsumeChallenge is the single-use compare-and-set of the contract.
func (s *Store) ConsumeChallenge(_ context.Context, id string, now time.Time) error {
	const op = "otptest.ConsumeChallenge"
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.challenges[id]
	switch {
	case !ok:
		return notFound(op)
	case c.Consumed:
		return roamsign.E(roamsign.ErrUsed, op, "consumed")
	case c.Undeliverable:
		return roamsign.E(roamsign.ErrForbidden, op, "undeliverable")
	case !now.Before(c.ExpiresAt):
		return roamsign.E(roamsign.ErrExpired, op, "expired")
	case c.Tries >= c.MaxTries:
		return roamsign.E(roamsign.ErrLocked, op, "tries exhausted")
	}
	c.Consumed, c.ConsumedAt = true, now
	return nil
}

// CountChallenges counts challenges created at or after since.
func (s *Store) CountChallenges(_ context.Context, user roamsign.UserID, host roamsign.HostID, since time.Time) (int, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var byUser, byHost int
	for _, c := range s.challenges {
		if c.CreatedAt.Before(since) {
			continue
		}
		if c.User == user {
			byUser++
		}
		if c.Host == host {
			byHost++
		}
	}
	return byUser, byHost, nil
}

// Challenges returns copies of every stored challenge, in no order.
func (s *Store) Challenges() []*roamsign.ChallengeRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*roamsign.ChallengeRecord, 0, len(s.challenges))
	for _, c := range s.challenges {
		out = append(out, cloneChallenge(c))
	}
	return out
}

// PutUser creates or replaces a user.
func (s *Store) PutUser(u *roamsign.UserRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = cloneUser(u)
}

// GetUser returns a copy of the user.
func (s *Store) GetUser(_ context.Context, id roamsign.UserID) (*roamsign.UserRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, notFound("otptest.GetUser")
	}
	return cloneUser(u), nil
}

// AddOTPFailure increments the user's consecutive OTP failures.
func (s *Store) AddOTPFailure(_ context.Context, id roamsign.UserID) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return 0, notFound("otptest.AddOTPFailure")
	}
	u.OTPFailures++
	return u.OTPFailures, nil
}

// ResetOTPFailures clears the user's consecutive OTP failures.
func (s *Store) ResetOTPFailures(_ context.Context, id roamsign.UserID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return notFound("otptest.ResetOTPFailures")
	}
	u.OTPFailures = 0
	return nil
}

// Capture is a Sender that records every message. Fail makes Send fail
// with the given error.
type Capture struct {
	Ch roamsign.Channel // channel reported (default roamsign.ChannelApp)

	mu   sync.Mutex
	msgs []otp.Message
	fail error
}

var _ otp.Sender = (*Capture)(nil)

// Channel returns c.Ch or roamsign.ChannelApp.
func (c *Capture) Channel() roamsign.Channel {
	if c.Ch == "" {
		return roamsign.ChannelApp
	}
	return c.Ch
}

// SetFail makes later sends fail with err (nil: succeed).
func (c *Capture) SetFail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = err
}

// Send records msg.
func (c *Capture) Send(_ context.Context, to Recipient, msg *otp.Message) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return "", c.fail
	}
	c.msgs = append(c.msgs, *msg)
	return "captured:" + to.User.Masked(), nil
}

// Recipient is otp.Recipient, named here for brevity.
type Recipient = otp.Recipient

// Last returns the last message sent, or false.
func (c *Capture) Last() (otp.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) == 0 {
		return otp.Message{}, false
	}
	return c.msgs[len(c.msgs)-1], true
}

// For returns the last message sent for the challenge id, or false.
func (c *Capture) For(challengeID string) (otp.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if c.msgs[i].ChallengeID == challengeID {
			return c.msgs[i], true
		}
	}
	return otp.Message{}, false
}

// Count returns the number of messages sent.
func (c *Capture) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// Clock is a manual clock for tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
