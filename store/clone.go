package store

import (
	"bytes"
	"slices"
	"time"

	"github.com/roamsign/roamsign"
)

func cloneBlobs(in [][]byte) [][]byte {
	if in == nil {
		return nil
	}
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = bytes.Clone(b)
	}
	return out
}

// CloneChallenge returns a deep copy of c.
func CloneChallenge(c *roamsign.ChallengeRecord) *roamsign.ChallengeRecord {
	out := *c
	out.Nonce = bytes.Clone(c.Nonce)
	out.MAC = bytes.Clone(c.MAC)
	return &out
}

// CloneUser returns a deep copy of u.
func CloneUser(u *roamsign.UserRecord) *roamsign.UserRecord {
	out := *u
	out.Hosts = slices.Clone(u.Hosts)
	out.Media = slices.Clone(u.Media)
	out.Devices = slices.Clone(u.Devices)
	out.Chain = cloneBlobs(u.Chain)
	out.PINVerifier = bytes.Clone(u.PINVerifier)
	return &out
}

// CloneTransaction returns a deep copy of tx.
func CloneTransaction(tx *roamsign.TransactionRecord) *roamsign.TransactionRecord {
	out := *tx
	if tx.Items != nil {
		out.Items = make([]roamsign.SignedItem, len(tx.Items))
		for i, it := range tx.Items {
			it.Signature = bytes.Clone(it.Signature)
			out.Items[i] = it
		}
	}
	out.Chain = cloneBlobs(tx.Chain)
	return &out
}

// CloneAudit returns a deep copy of a.
func CloneAudit(a *roamsign.AuditRecord) *roamsign.AuditRecord {
	out := *a
	out.HashList = bytes.Clone(a.HashList)
	out.PrevHash = bytes.Clone(a.PrevHash)
	out.Hash = bytes.Clone(a.Hash)
	return &out
}

// NormChallenge normalises the times of c in place (see [NormTime]).
func NormChallenge(c *roamsign.ChallengeRecord) {
	c.CreatedAt, c.ExpiresAt, c.ConsumedAt = NormTime(c.CreatedAt), NormTime(c.ExpiresAt), NormTime(c.ConsumedAt)
}

// NormUser normalises the times of u in place.
func NormUser(u *roamsign.UserRecord) {
	u.LockedAt, u.CreatedAt, u.UpdatedAt = NormTime(u.LockedAt), NormTime(u.CreatedAt), NormTime(u.UpdatedAt)
}

// NormTransaction normalises the times of tx in place.
func NormTransaction(tx *roamsign.TransactionRecord) {
	tx.CreatedAt, tx.UpdatedAt = NormTime(tx.CreatedAt), NormTime(tx.UpdatedAt)
}

// ChallengeState returns nil when c may be consumed at now, else the error
// ConsumeChallenge reports, checked in the documented order. The attempt
// that consumes has taken its try already, so Tries may equal MaxTries.
func ChallengeState(op string, c *roamsign.ChallengeRecord, now time.Time) error {
	switch {
	case c.Consumed:
		return roamsign.E(roamsign.ErrUsed, op, "challenge already used")
	case c.Undeliverable:
		return roamsign.E(roamsign.ErrForbidden, op, "challenge was never delivered")
	case c.Tries > c.MaxTries:
		return roamsign.E(roamsign.ErrLocked, op, "challenge tries exhausted")
	case !now.Before(c.ExpiresAt):
		return roamsign.E(roamsign.ErrExpired, op, "challenge expired")
	}
	return nil
}

// TryRefusal returns the error TakeTry reports for c when it cannot take a
// try: ErrUsed when c is consumed, ErrLocked when every try is taken.
func TryRefusal(op string, c *roamsign.ChallengeRecord) error {
	if c.Consumed {
		return roamsign.E(roamsign.ErrUsed, op, "challenge already used")
	}
	return roamsign.E(roamsign.ErrLocked, op, "challenge has no tries left")
}
