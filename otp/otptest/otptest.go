// Package otptest provides test support for package otp: an in-memory
// [Store] (store/memory, the reference of the store contract, with test
// helpers), a [Capture] sender that records delivered messages so a test
// can read the OTP, and a manual [Clock].
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
	"github.com/roamsign/roamsign/store/memory"
)

// Store is the in-memory store of package store/memory, the reference of
// the store contract, with helpers for tests: users put directly and the
// challenges created so far.
type Store struct {
	*memory.Store

	mu  sync.Mutex
	ids []string
}

var _ otp.Store = (*Store)(nil)

// NewStore returns an empty store holding the given users.
func NewStore(users ...*roamsign.UserRecord) *Store {
	s := &Store{Store: memory.New(memory.Options{})}
	for _, u := range users {
		s.PutUser(u)
	}
	return s
}

// PutUser creates or replaces a user. It panics on a record the store
// refuses, which is a mistake in the test.
func (s *Store) PutUser(u *roamsign.UserRecord) {
	ctx := context.Background()
	err := s.UpdateUser(ctx, u.ID, func(r *roamsign.UserRecord) error {
		*r = *u
		return nil
	})
	if roamsign.KindOf(err) == roamsign.ErrNotFound {
		err = s.CreateUser(ctx, u)
	}
	if err != nil {
		panic("otptest.PutUser: " + err.Error())
	}
}

// IssueChallenge stores c as the memory store does and remembers its id.
func (s *Store) IssueChallenge(ctx context.Context, c *roamsign.ChallengeRecord, limits roamsign.IssueLimits) error {
	if err := s.Store.IssueChallenge(ctx, c, limits); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, c.ID)
	return nil
}

// Challenges returns copies of every challenge issued through the store
// and still stored, in issue order.
func (s *Store) Challenges() []*roamsign.ChallengeRecord {
	s.mu.Lock()
	ids := slices.Clone(s.ids)
	s.mu.Unlock()
	out := make([]*roamsign.ChallengeRecord, 0, len(ids))
	for _, id := range ids {
		if c, err := s.GetChallenge(context.Background(), id); err == nil {
			out = append(out, c)
		}
	}
	return out
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
