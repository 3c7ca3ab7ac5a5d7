package memory

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// Options configure a memory store. The zero value is ready to use.
type Options struct {
	// Now is the clock used for audit records without a time and for
	// transactions expired by ExpireTransactions; time.Now when nil.
	Now func() time.Time
}

// Store is an in-memory [store.Store]. It is safe for concurrent use.
type Store struct {
	now func() time.Time

	mu         sync.Mutex
	closed     bool
	held       chan struct{} // WithLock's lock, made on first use
	challenges map[string]*roamsign.ChallengeRecord
	users      map[roamsign.UserID]*roamsign.UserRecord
	txs        map[string]*roamsign.TransactionRecord
	byRequest  map[reqKey]string
	audit      []*roamsign.AuditRecord
	// headSeq and headHash are the chain head, kept apart from the log
	// like the backends' chain-head row.
	headSeq  int64
	headHash []byte
	steps    map[roamsign.UserID]int64
	backoff  map[pair]*roamsign.OTPBackoffRecord
	sessions map[sessionKey]*session
}

// pair keys the OTP failure records.
type pair struct {
	user roamsign.UserID
	host roamsign.HostID
}

type reqKey struct {
	host roamsign.HostID
	req  string
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New(opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{
		now:        now,
		challenges: map[string]*roamsign.ChallengeRecord{},
		users:      map[roamsign.UserID]*roamsign.UserRecord{},
		txs:        map[string]*roamsign.TransactionRecord{},
		byRequest:  map[reqKey]string{},
		steps:      map[roamsign.UserID]int64{},
		backoff:    map[pair]*roamsign.OTPBackoffRecord{},
		sessions:   map[sessionKey]*session{},
	}
}

// lock takes the mutex and checks the store is open and ctx is live.
func (s *Store) lock(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "context done")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return roamsign.E(roamsign.ErrClosed, op, "store closed")
	}
	return nil
}

func notFound(op, what string) error {
	return roamsign.E(roamsign.ErrNotFound, op, "%s not found", what)
}

// withRecord takes the lock and runs fn on the record m[id], or reports
// what as not found. fn runs under the lock.
func withRecord[K comparable, V any](ctx context.Context, s *Store, op, what string, m map[K]*V, id K, fn func(*V) error) error {
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	r, ok := m[id]
	if !ok {
		return notFound(op, what)
	}
	return fn(r)
}

func (s *Store) withChallenge(ctx context.Context, op, id string, fn func(*roamsign.ChallengeRecord) error) error {
	return withRecord(ctx, s, op, "challenge", s.challenges, id, fn)
}

func (s *Store) withUser(ctx context.Context, op string, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error {
	return withRecord(ctx, s, op, "user", s.users, id, fn)
}

// CreateChallenge implements [store.Store].
func (s *Store) CreateChallenge(ctx context.Context, c *roamsign.ChallengeRecord) error {
	return s.issue(ctx, "memory.CreateChallenge", c, roamsign.IssueLimits{})
}

// IssueChallenge implements [store.Store]: the limits are checked and the
// challenge stored under the store's lock.
func (s *Store) IssueChallenge(ctx context.Context, c *roamsign.ChallengeRecord, limits roamsign.IssueLimits) error {
	return s.issue(ctx, "memory.IssueChallenge", c, limits)
}

func (s *Store) issue(ctx context.Context, op string, c *roamsign.ChallengeRecord, limits roamsign.IssueLimits) error {
	if err := store.CheckIssueArgs(op, c, limits); err != nil {
		return err
	}
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := store.CheckIssue(op, c, limits, s.nthNewest(c)); err != nil {
		return err
	}
	if _, ok := s.challenges[c.ID]; ok {
		return roamsign.E(roamsign.ErrConflict, op, "challenge id exists")
	}
	cp := store.CloneChallenge(c)
	store.NormChallenge(cp)
	s.challenges[c.ID] = cp
	return nil
}

// nthNewest is [store.NthNewest] over the stored challenges, for the
// scopes of c. It runs under the lock.
func (s *Store) nthNewest(c *roamsign.ChallengeRecord) store.NthNewest {
	return func(sc store.IssueScope, n int, since time.Time) (time.Time, bool, error) {
		var times []time.Time
		for _, x := range s.challenges {
			if x.CreatedAt.IsZero() || x.CreatedAt.Before(since) || (sc.ByUser && x.User != c.User) || (sc.ByHost && x.Host != c.Host) {
				continue
			}
			times = append(times, x.CreatedAt)
		}
		if len(times) < n {
			return time.Time{}, false, nil
		}
		slices.SortFunc(times, func(a, b time.Time) int { return b.Compare(a) })
		return times[n-1], true, nil
	}
}

// GetChallenge implements [store.Store].
func (s *Store) GetChallenge(ctx context.Context, id string) (*roamsign.ChallengeRecord, error) {
	var out *roamsign.ChallengeRecord
	err := s.withChallenge(ctx, "memory.GetChallenge", id, func(c *roamsign.ChallengeRecord) error {
		out = store.CloneChallenge(c)
		return nil
	})
	return out, err
}

// MarkDelivered implements [store.Store].
func (s *Store) MarkDelivered(ctx context.Context, id string, ch roamsign.Channel, sentTo string) error {
	const op = "memory.MarkDelivered"
	if !ch.Valid() || len(sentTo) > store.MaxTextLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "unknown channel or destination too long")
	}
	return s.withChallenge(ctx, op, id, func(c *roamsign.ChallengeRecord) error {
		c.Channel, c.SentTo = ch, sentTo
		return nil
	})
}

// MarkUndeliverable implements [store.Store].
func (s *Store) MarkUndeliverable(ctx context.Context, id string) error {
	return s.withChallenge(ctx, "memory.MarkUndeliverable", id, func(c *roamsign.ChallengeRecord) error {
		c.Undeliverable = true
		return nil
	})
}

// TakeTry implements [store.Store].
func (s *Store) TakeTry(ctx context.Context, id string) (int, error) {
	const op = "memory.TakeTry"
	var n int
	err := s.withChallenge(ctx, op, id, func(c *roamsign.ChallengeRecord) error {
		var err error
		n, err = store.SpendTry(op, c)
		return err
	})
	return n, err
}

// ConsumeChallenge implements [store.Store].
func (s *Store) ConsumeChallenge(ctx context.Context, id string, now time.Time) error {
	const op = "memory.ConsumeChallenge"
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.consume(op, id, now)
}

func (s *Store) consume(op, id string, now time.Time) error {
	c, ok := s.challenges[id]
	if !ok {
		return notFound(op, "challenge")
	}
	return store.Consume(op, c, now)
}

// PurgeChallenges implements [store.Store].
func (s *Store) PurgeChallenges(ctx context.Context, expiredBefore time.Time) (int, error) {
	const op = "memory.PurgeChallenges"
	if err := s.lock(ctx, op); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for id, c := range s.challenges {
		if c.ExpiresAt.Before(expiredBefore) {
			delete(s.challenges, id)
			n++
		}
	}
	return n, nil
}

// CreateUser implements [store.Store].
func (s *Store) CreateUser(ctx context.Context, u *roamsign.UserRecord) error {
	const op = "memory.CreateUser"
	if err := store.ValidateUser(u); err != nil {
		return err
	}
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return roamsign.E(roamsign.ErrConflict, op, "user exists")
	}
	cp := store.CloneUser(u)
	store.NormUser(cp)
	s.users[u.ID] = cp
	return nil
}

// GetUser implements [store.Store].
func (s *Store) GetUser(ctx context.Context, id roamsign.UserID) (*roamsign.UserRecord, error) {
	var out *roamsign.UserRecord
	err := s.withUser(ctx, "memory.GetUser", id, func(u *roamsign.UserRecord) error {
		out = store.CloneUser(u)
		return nil
	})
	return out, err
}

// UpdateUser implements [store.Store]. fn runs under the store's lock and
// must not call back into the store.
func (s *Store) UpdateUser(ctx context.Context, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error {
	const op = "memory.UpdateUser"
	return s.withUser(ctx, op, id, func(u *roamsign.UserRecord) error {
		cp := store.CloneUser(u)
		if err := fn(cp); err != nil {
			return err
		}
		if cp.ID != id {
			return roamsign.E(roamsign.ErrInvalidInput, op, "the user id cannot change")
		}
		if err := store.ValidateUser(cp); err != nil {
			return err
		}
		cp = store.CloneUser(cp)
		store.NormUser(cp)
		s.users[id] = cp
		return nil
	})
}

// ListUsers implements [store.Store].
func (s *Store) ListUsers(ctx context.Context, after roamsign.UserID, limit int) ([]roamsign.UserRecord, error) {
	const op = "memory.ListUsers"
	if limit <= 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "limit must be positive")
	}
	if err := s.lock(ctx, op); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	ids := make([]roamsign.UserID, 0, len(s.users))
	for id := range s.users {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]roamsign.UserRecord, 0, len(ids))
	for _, id := range ids {
		out = append(out, *store.CloneUser(s.users[id]))
	}
	return out, nil
}

// AddPINFailure implements [store.Store].
func (s *Store) AddPINFailure(ctx context.Context, id roamsign.UserID, max int, now time.Time) (int, bool, error) {
	const op = "memory.AddPINFailure"
	if max <= 0 {
		return 0, false, roamsign.E(roamsign.ErrInvalidInput, op, "max must be positive")
	}
	var (
		n      int
		locked bool
	)
	err := s.withUser(ctx, op, id, func(u *roamsign.UserRecord) error {
		n, locked = store.CountPINFailure(u, max, now)
		return nil
	})
	return n, locked, err
}

// ResetPINFailures implements [store.Store].
func (s *Store) ResetPINFailures(ctx context.Context, id roamsign.UserID) error {
	return s.withUser(ctx, "memory.ResetPINFailures", id, func(u *roamsign.UserRecord) error {
		store.ClearPINFailures(u)
		return nil
	})
}

// GetOTPBackoff implements [store.Store].
func (s *Store) GetOTPBackoff(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*roamsign.OTPBackoffRecord, error) {
	const op = "memory.GetOTPBackoff"
	if err := s.lock(ctx, op); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	r, ok := s.backoff[pair{user, host}]
	if !ok {
		return nil, notFound(op, "OTP failure record")
	}
	cp := *r
	return &cp, nil
}

// AddOTPFailure implements [store.Store].
func (s *Store) AddOTPFailure(ctx context.Context, user roamsign.UserID, host roamsign.HostID, now time.Time, policy roamsign.OTPBackoff) (*roamsign.OTPBackoffRecord, error) {
	const op = "memory.AddOTPFailure"
	if err := s.lock(ctx, op); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	next, err := store.CountOTPFailure(op, s.backoff[pair{user, host}], user, host, now, policy)
	if err != nil {
		return nil, err
	}
	s.backoff[pair{user, host}] = next
	cp := *next
	return &cp, nil
}

// ResetOTPFailures implements [store.Store].
func (s *Store) ResetOTPFailures(ctx context.Context, user roamsign.UserID, host roamsign.HostID) ([]roamsign.OTPBackoffRecord, error) {
	const op = "memory.ResetOTPFailures"
	if err := store.CheckOTPPair(op, user, host, true); err != nil {
		return nil, err
	}
	if err := s.lock(ctx, op); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []roamsign.OTPBackoffRecord
	for k, r := range s.backoff {
		if k.user == user && (host == "" || k.host == host) {
			out = append(out, *r)
			delete(s.backoff, k)
		}
	}
	return store.SortOTPBackoff(out), nil
}

// BeginTransaction implements [store.Store].
func (s *Store) BeginTransaction(ctx context.Context, challengeID string, now time.Time, tx *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error {
	const op = "memory.BeginTransaction"
	if err := store.PrepareBegin(op, challengeID, tx, audit); err != nil {
		return err
	}
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	// Check everything before changing anything, so a failure leaves no trace.
	c, ok := s.challenges[challengeID]
	if !ok {
		return notFound(op, "challenge")
	}
	if err := store.ChallengeState(op, c, now); err != nil {
		return err
	}
	if _, ok := s.txs[tx.ID]; ok {
		return roamsign.E(roamsign.ErrConflict, op, "transaction id exists")
	}
	k := reqKey{tx.Host, tx.RequestID}
	if _, ok := s.byRequest[k]; ok {
		return roamsign.E(roamsign.ErrConflict, op, "request id already used by this host")
	}
	c.Consumed, c.ConsumedAt = true, store.NormTime(now)
	cp := store.CloneTransaction(tx)
	store.NormTransaction(cp)
	s.txs[tx.ID] = cp
	s.byRequest[k] = tx.ID
	s.appendLocked(audit)
	return nil
}

// FinishTransaction implements [store.Store].
func (s *Store) FinishTransaction(ctx context.Context, tx *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error {
	const op = "memory.FinishTransaction"
	if err := store.PrepareFinish(op, tx, audit); err != nil {
		return err
	}
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := s.txs[tx.ID]
	if !ok {
		return notFound(op, "transaction")
	}
	if cur.State != roamsign.TxPending {
		return roamsign.E(roamsign.ErrConflict, op, "transaction is not pending")
	}
	in := store.CloneTransaction(tx)
	cur.State, cur.Items, cur.Chain, cur.SigAlg, cur.Error, cur.UpdatedAt = in.State, in.Items, in.Chain, in.SigAlg, in.Error, store.NormTime(in.UpdatedAt)
	s.appendLocked(audit)
	return nil
}

// GetTransaction implements [store.Store].
func (s *Store) GetTransaction(ctx context.Context, id string) (*roamsign.TransactionRecord, error) {
	var out *roamsign.TransactionRecord
	err := withRecord(ctx, s, "memory.GetTransaction", "transaction", s.txs, id, func(tx *roamsign.TransactionRecord) error {
		out = store.CloneTransaction(tx)
		return nil
	})
	return out, err
}

// GetTransactionByRequest implements [store.Store].
func (s *Store) GetTransactionByRequest(ctx context.Context, host roamsign.HostID, requestID string) (*roamsign.TransactionRecord, error) {
	const op = "memory.GetTransactionByRequest"
	if err := s.lock(ctx, op); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	id, ok := s.byRequest[reqKey{host, requestID}]
	if !ok {
		return nil, notFound(op, "transaction")
	}
	return store.CloneTransaction(s.txs[id]), nil
}

// ExpireTransactions implements [store.Store].
func (s *Store) ExpireTransactions(ctx context.Context, pendingBefore, deleteBefore time.Time) (int, int, error) {
	const op = "memory.ExpireTransactions"
	if err := s.lock(ctx, op); err != nil {
		return 0, 0, err
	}
	defer s.mu.Unlock()
	now := store.NormTime(s.now())
	var failed, deleted int
	for id, tx := range s.txs {
		switch {
		case tx.State == roamsign.TxPending && tx.CreatedAt.Before(pendingBefore):
			store.ExpirePending(tx, now)
			s.appendLocked(store.ExpiredAudit(tx, now))
			failed++
		case tx.State != roamsign.TxPending && tx.UpdatedAt.Before(deleteBefore):
			delete(s.txs, id)
			delete(s.byRequest, reqKey{tx.Host, tx.RequestID})
			deleted++
		}
	}
	return failed, deleted, nil
}

// AppendAudit implements [store.Store].
func (s *Store) AppendAudit(ctx context.Context, a *roamsign.AuditRecord) error {
	const op = "memory.AppendAudit"
	if err := store.ValidateAudit(a); err != nil {
		return err
	}
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.appendLocked(a)
	return nil
}

func (s *Store) appendLocked(a *roamsign.AuditRecord) {
	prevSeq, prevHash := s.headSeq, s.headHash
	store.ChainAudit(a, prevSeq, prevHash, s.now())
	s.audit = append(s.audit, store.CloneAudit(a))
	s.headSeq, s.headHash = a.Seq, bytes.Clone(a.Hash)
}

// AppendCheckpoint implements [store.Store].
func (s *Store) AppendCheckpoint(ctx context.Context, cp store.Checkpoint) (*roamsign.AuditRecord, error) {
	const op = "memory.AppendCheckpoint"
	if err := s.lock(ctx, op); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	prevSeq, prevHash := s.headSeq, s.headHash
	a, err := store.CheckpointRecord(cp, prevSeq, prevHash)
	if err != nil {
		return nil, err
	}
	s.appendLocked(a)
	return a, nil
}

// ScanAudit implements [store.Store]. fn runs without the store's lock.
func (s *Store) ScanAudit(ctx context.Context, from int64, fn func(*roamsign.AuditRecord) error) error {
	const op = "memory.ScanAudit"
	if from < 1 {
		from = 1
	}
	for i := from - 1; ; i++ {
		if err := s.lock(ctx, op); err != nil {
			return err
		}
		if i >= int64(len(s.audit)) {
			s.mu.Unlock()
			return nil
		}
		a := store.CloneAudit(s.audit[i])
		s.mu.Unlock()
		if err := fn(a); err != nil {
			return err
		}
	}
}

// LastUserEvent implements [store.UserEvents].
func (s *Store) LastUserEvent(ctx context.Context, user roamsign.UserID, events ...roamsign.AuditEvent) (*roamsign.AuditRecord, error) {
	const op = "memory.LastUserEvent"
	if err := s.lock(ctx, op); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	for i := len(s.audit) - 1; i >= 0; i-- {
		if a := s.audit[i]; a.User == user && slices.Contains(events, a.Event) {
			return store.CloneAudit(a), nil
		}
	}
	return nil, notFound(op, "audit record")
}

// AuditHead implements [store.AuditHeader].
func (s *Store) AuditHead(ctx context.Context) (int64, []byte, error) {
	const op = "memory.AuditHead"
	if err := s.lock(ctx, op); err != nil {
		return 0, nil, err
	}
	defer s.mu.Unlock()
	return s.headSeq, bytes.Clone(s.headHash), nil
}

// AdvanceStep implements [store.OTPStepStore].
func (s *Store) AdvanceStep(ctx context.Context, user roamsign.UserID, step int64) (bool, error) {
	const op = "memory.AdvanceStep"
	if user == "" || len(user) > store.MaxIDLen {
		return false, roamsign.E(roamsign.ErrInvalidInput, op, "user id missing or too long")
	}
	if err := s.lock(ctx, op); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	if last, ok := s.steps[user]; ok && step <= last {
		return false, nil
	}
	s.steps[user] = step
	return true, nil
}

// Ping implements [store.Store].
func (s *Store) Ping(ctx context.Context) error {
	if err := s.lock(ctx, "memory.Ping"); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// Close implements [store.Store].
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
