package apitest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
)

// MemStore is an in-memory store with the store contract's semantics for
// the methods the service and [MemChallenger] use. It is a test double for
// runs without a database; the real backends replace it where available.
type MemStore struct {
	mu    sync.Mutex
	users map[roamsign.UserID]*roamsign.UserRecord
	chals map[string]*roamsign.ChallengeRecord
	txs   map[string]*roamsign.TransactionRecord
	byReq map[string]string
	audit []roamsign.AuditRecord
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{
		users: map[roamsign.UserID]*roamsign.UserRecord{},
		chals: map[string]*roamsign.ChallengeRecord{},
		txs:   map[string]*roamsign.TransactionRecord{},
		byReq: map[string]string{},
	}
}

func nf(op string) error { return roamsign.E(roamsign.ErrNotFound, op, "not found") }

func cloneUser(u *roamsign.UserRecord) *roamsign.UserRecord {
	c := *u
	c.Hosts = append([]roamsign.HostID(nil), u.Hosts...)
	c.Media = append([]roamsign.MediumKind(nil), u.Media...)
	c.Devices = append([]string(nil), u.Devices...)
	c.Chain = append([][]byte(nil), u.Chain...)
	c.PINVerifier = append([]byte(nil), u.PINVerifier...)
	return &c
}

// CreateUser stores a new user.
func (m *MemStore) CreateUser(_ context.Context, u *roamsign.UserRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[u.ID]; ok {
		return roamsign.E(roamsign.ErrConflict, "memstore.CreateUser", "user exists")
	}
	m.users[u.ID] = cloneUser(u)
	return nil
}

// GetUser returns a copy of a user.
func (m *MemStore) GetUser(_ context.Context, id roamsign.UserID) (*roamsign.UserRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, nf("memstore.GetUser")
	}
	return cloneUser(u), nil
}

// UpdateUser applies fn atomically.
func (m *MemStore) UpdateUser(_ context.Context, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nf("memstore.UpdateUser")
	}
	c := cloneUser(u)
	if err := fn(c); err != nil {
		return err
	}
	m.users[id] = c
	return nil
}

// ListUsers lists users after a given id.
func (m *MemStore) ListUsers(_ context.Context, after roamsign.UserID, limit int) ([]roamsign.UserRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []roamsign.UserRecord
	for id, u := range m.users {
		if id > after {
			out = append(out, *cloneUser(u))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// AddPINFailure counts a PIN failure and locks at max.
func (m *MemStore) AddPINFailure(_ context.Context, id roamsign.UserID, max int, now time.Time) (int, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return 0, false, nf("memstore.AddPINFailure")
	}
	u.PINFailures++
	if u.PINFailures >= max && !u.Locked {
		u.Locked, u.LockedAt = true, now
	}
	return u.PINFailures, u.Locked, nil
}

// ResetPINFailures zeroes the PIN failure count.
func (m *MemStore) ResetPINFailures(_ context.Context, id roamsign.UserID) error {
	return m.UpdateUser(context.Background(), id, func(u *roamsign.UserRecord) error { u.PINFailures = 0; return nil })
}

// AddOTPFailure counts an OTP failure.
func (m *MemStore) AddOTPFailure(_ context.Context, id roamsign.UserID) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return 0, nf("memstore.AddOTPFailure")
	}
	u.OTPFailures++
	return u.OTPFailures, nil
}

// ResetOTPFailures zeroes the OTP failure count.
func (m *MemStore) ResetOTPFailures(_ context.Context, id roamsign.UserID) error {
	return m.UpdateUser(context.Background(), id, func(u *roamsign.UserRecord) error { u.OTPFailures = 0; return nil })
}

// CreateChallenge stores a challenge.
func (m *MemStore) CreateChallenge(_ context.Context, c *roamsign.ChallengeRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.chals[c.ID]; ok {
		return roamsign.E(roamsign.ErrConflict, "memstore.CreateChallenge", "exists")
	}
	cc := *c
	m.chals[c.ID] = &cc
	return nil
}

// GetChallenge returns a copy of a challenge.
func (m *MemStore) GetChallenge(_ context.Context, id string) (*roamsign.ChallengeRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.chals[id]
	if !ok {
		return nil, nf("memstore.GetChallenge")
	}
	cc := *c
	return &cc, nil
}

// MarkDelivered records the channel and destination.
func (m *MemStore) MarkDelivered(_ context.Context, id string, ch roamsign.Channel, sentTo string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.chals[id]
	if !ok {
		return nf("memstore.MarkDelivered")
	}
	c.Channel, c.SentTo = ch, sentTo
	return nil
}

// FailChallenge counts a failed try.
func (m *MemStore) FailChallenge(_ context.Context, id string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.chals[id]
	if !ok {
		return 0, nf("memstore.FailChallenge")
	}
	if c.Consumed {
		return c.Tries, roamsign.E(roamsign.ErrUsed, "memstore.FailChallenge", "consumed")
	}
	c.Tries++
	return c.Tries, nil
}

func (m *MemStore) consumeLocked(id string, now time.Time) error {
	const op = "memstore.ConsumeChallenge"
	c, ok := m.chals[id]
	switch {
	case !ok:
		return nf(op)
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

func reqKey(h roamsign.HostID, r string) string { return string(h) + "\x00" + r }

func cloneTx(t *roamsign.TransactionRecord) *roamsign.TransactionRecord {
	c := *t
	c.Items = append([]roamsign.SignedItem(nil), t.Items...)
	c.Chain = append([][]byte(nil), t.Chain...)
	return &c
}

// BeginTransaction consumes the challenge, inserts the pending transaction
// and appends the audit record, all or nothing.
func (m *MemStore) BeginTransaction(_ context.Context, challengeID string, now time.Time, tx *roamsign.TransactionRecord, a *roamsign.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byReq[reqKey(tx.Host, tx.RequestID)]; ok {
		return roamsign.E(roamsign.ErrConflict, "memstore.BeginTransaction", "request id exists")
	}
	if err := m.consumeLocked(challengeID, now); err != nil {
		return err
	}
	m.txs[tx.ID] = cloneTx(tx)
	m.byReq[reqKey(tx.Host, tx.RequestID)] = tx.ID
	m.appendLocked(a)
	return nil
}

// FinishTransaction moves a pending transaction to its final state.
func (m *MemStore) FinishTransaction(_ context.Context, tx *roamsign.TransactionRecord, a *roamsign.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.txs[tx.ID]
	if !ok {
		return nf("memstore.FinishTransaction")
	}
	if t.State != roamsign.TxPending {
		return roamsign.E(roamsign.ErrConflict, "memstore.FinishTransaction", "not pending")
	}
	m.txs[tx.ID] = cloneTx(tx)
	m.appendLocked(a)
	return nil
}

// GetTransaction returns a transaction.
func (m *MemStore) GetTransaction(_ context.Context, id string) (*roamsign.TransactionRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.txs[id]
	if !ok {
		return nil, nf("memstore.GetTransaction")
	}
	return cloneTx(t), nil
}

// GetTransactionByRequest returns a transaction by host and request id.
func (m *MemStore) GetTransactionByRequest(_ context.Context, h roamsign.HostID, r string) (*roamsign.TransactionRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byReq[reqKey(h, r)]
	if !ok {
		return nil, nf("memstore.GetTransactionByRequest")
	}
	return cloneTx(m.txs[id]), nil
}

// ExpireTransactions fails stale pending transactions and deletes old
// finished ones.
func (m *MemStore) ExpireTransactions(_ context.Context, pendingBefore, deleteBefore time.Time) (failed, deleted int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, t := range m.txs {
		switch {
		case t.State == roamsign.TxPending && t.CreatedAt.Before(pendingBefore):
			t.State, t.Error, t.UpdatedAt = roamsign.TxFailed, roamsign.ErrExpired.Code(), pendingBefore
			failed++
		case t.State != roamsign.TxPending && t.UpdatedAt.Before(deleteBefore):
			delete(m.txs, id)
			delete(m.byReq, reqKey(t.Host, t.RequestID))
			deleted++
		}
	}
	return failed, deleted, nil
}

// AppendAudit appends a hash-chained audit record.
func (m *MemStore) AppendAudit(_ context.Context, a *roamsign.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.appendLocked(a)
	return nil
}

func (m *MemStore) appendLocked(a *roamsign.AuditRecord) {
	prev := make([]byte, 32)
	if n := len(m.audit); n > 0 {
		prev = m.audit[n-1].Hash
	}
	a.Seq = int64(len(m.audit) + 1)
	a.PrevHash = prev
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(a.Seq))
	h.Write(b[:])
	h.Write(prev)
	for _, s := range []string{a.Time.UTC().Format(time.RFC3339Nano), string(a.Event), string(a.User), string(a.Host),
		a.DataHeader, string(a.HashList), a.CertSerial, string(a.Channel), a.Outcome, a.TransactionID, a.Detail} {
		binary.BigEndian.PutUint64(b[:], uint64(len(s)))
		h.Write(b[:])
		h.Write([]byte(s))
	}
	a.Hash = h.Sum(nil)
	m.audit = append(m.audit, *a)
}

// ScanAudit streams audit records with Seq >= from.
func (m *MemStore) ScanAudit(_ context.Context, from int64, fn func(*roamsign.AuditRecord) error) error {
	m.mu.Lock()
	recs := append([]roamsign.AuditRecord(nil), m.audit...)
	m.mu.Unlock()
	for i := range recs {
		if recs[i].Seq >= from {
			if err := fn(&recs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
