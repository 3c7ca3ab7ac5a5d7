package store

import (
	"time"

	"github.com/roamsign/roamsign"
)

// The state changes below are the rules of the store contract's counters
// and states, applied to a record in memory. Every backend applies them
// inside its own atomic step (a locked map, or a row read for update in a
// database transaction), so that the sealed backends can seal the result.

// SpendTry takes one try of c for [ChallengeStore.TakeTry] and returns the
// new count: c must be unconsumed with a try left, else [TryRefusal].
func SpendTry(op string, c *roamsign.ChallengeRecord) (int, error) {
	if c.Consumed || c.Tries >= c.MaxTries {
		return 0, TryRefusal(op, c)
	}
	c.Tries++
	return c.Tries, nil
}

// Consume is the single-use step of [ChallengeStore.ConsumeChallenge]: it
// refuses c by [ChallengeState] at now, else marks it consumed at now.
func Consume(op string, c *roamsign.ChallengeRecord, now time.Time) error {
	if err := ChallengeState(op, c, now); err != nil {
		return err
	}
	c.Consumed, c.ConsumedAt = true, NormTime(now)
	return nil
}

// CountPINFailure counts one PIN failure of u for
// [UserStore.AddPINFailure]: the max-th locks u at now, once.
func CountPINFailure(u *roamsign.UserRecord, max int, now time.Time) (failures int, locked bool) {
	u.PINFailures++
	if u.PINFailures >= max && !u.Locked {
		u.Locked, u.LockedAt = true, NormTime(now)
	}
	return u.PINFailures, u.Locked
}

// ClearPINFailures clears u's PIN failure count and lock for
// [UserStore.ResetPINFailures].
func ClearPINFailures(u *roamsign.UserRecord) {
	u.PINFailures, u.Locked, u.LockedAt = 0, false, time.Time{}
}

// FinishPending moves the stored pending transaction cur to the finished
// state of t for [TransactionStore.FinishTransaction] (t normalised);
// ErrConflict when cur is not pending.
func FinishPending(op string, cur, t *roamsign.TransactionRecord) error {
	if cur.State != roamsign.TxPending {
		return roamsign.E(roamsign.ErrConflict, op, "transaction is not pending")
	}
	cur.State, cur.Items, cur.Chain, cur.SigAlg, cur.Error, cur.UpdatedAt = t.State, t.Items, t.Chain, t.SigAlg, t.Error, t.UpdatedAt
	return nil
}

// ExpirePending marks the pending transaction t failed as expired at now,
// for [TransactionStore.ExpireTransactions].
func ExpirePending(t *roamsign.TransactionRecord, now time.Time) {
	t.State, t.Error, t.UpdatedAt = roamsign.TxFailed, roamsign.ErrExpired.Code(), NormTime(now)
}
