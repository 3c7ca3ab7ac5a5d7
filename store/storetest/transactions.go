package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

func eqTx(t testing.TB, got, want *roamsign.TransactionRecord) {
	t.Helper()
	eqTime(t, "tx CreatedAt", got.CreatedAt, want.CreatedAt)
	eqTime(t, "tx UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	g, w := *got, *want
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	for _, r := range []*roamsign.TransactionRecord{&g, &w} {
		if len(r.Items) == 0 {
			r.Items = nil
		}
		if len(r.Chain) == 0 {
			r.Chain = nil
		}
	}
	if fmt.Sprintf("%#v", g) != fmt.Sprintf("%#v", w) {
		t.Fatalf("transaction round trip:\n got %#v\nwant %#v", g, w)
	}
}

func auditCount(t testing.TB, s store.Store) int64 {
	t.Helper()
	seq, _, err := s.AuditHead(ctxT(t))
	noErr(t, err, "AuditHead")
	return seq
}

// ExpectUntouched fails unless a refused write left no trace: challenge
// challengeID is not consumed, the audit head is still at seq and, when
// txID is set, no transaction txID is stored.
func ExpectUntouched(t testing.TB, s store.Store, what, challengeID, txID string, seq int64) {
	t.Helper()
	ctx := ctxT(t)
	got, err := s.GetChallenge(ctx, challengeID)
	noErr(t, err, what+": GetChallenge")
	if got.Consumed {
		t.Fatalf("%s: challenge consumed by a refused write", what)
	}
	if txID != "" {
		_, err := s.GetTransaction(ctx, txID)
		IsKind(t, err, roamsign.ErrNotFound, what+": transaction stored")
	}
	if n := auditCount(t, s); n != seq {
		t.Fatalf("%s: audit head moved from %d to %d", what, seq, n)
	}
}

func testTransactionLifecycle(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	c := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c), "create")
	tx := NewTx(c)
	want := store.CloneTransaction(tx)
	a := NewAudit(roamsign.AuditAuthorised, c.User, tx.ID)
	noErr(t, s.BeginTransaction(ctx, c.ID, Base.Add(time.Second), tx, a), "BeginTransaction")
	if a.Seq != 1 || len(a.Hash) != store.HashSize {
		t.Fatalf("BeginTransaction audit not chained: seq %d", a.Seq)
	}
	ch, _ := s.GetChallenge(ctx, c.ID)
	if !ch.Consumed {
		t.Fatal("BeginTransaction did not consume the challenge")
	}
	got, err := s.GetTransaction(ctx, tx.ID)
	noErr(t, err, "GetTransaction")
	eqTx(t, got, want)
	got, err = s.GetTransactionByRequest(ctx, tx.Host, tx.RequestID)
	noErr(t, err, "GetTransactionByRequest")
	eqTx(t, got, want)
	_, err = s.GetTransaction(ctx, "missing")
	IsKind(t, err, roamsign.ErrNotFound, "GetTransaction missing")
	_, err = s.GetTransactionByRequest(ctx, "other-host", tx.RequestID)
	IsKind(t, err, roamsign.ErrNotFound, "GetTransactionByRequest other host")

	fin := store.CloneTransaction(tx)
	fin.State = roamsign.TxSigned
	fin.Items = []roamsign.SignedItem{
		{Index: 0, Status: roamsign.ItemSigned, Signature: []byte{1, 2, 3}},
		{Index: 1, Status: roamsign.ItemFailed, Error: "invalid_input"},
	}
	fin.Chain = [][]byte{{0x30, 1}, {0x30, 2}}
	fin.SigAlg = "ECDSA-SHA256"
	fin.UpdatedAt = Base.Add(2 * time.Second)
	want = store.CloneTransaction(fin)
	noErr(t, s.FinishTransaction(ctx, fin, NewAudit(roamsign.AuditSigned, c.User, tx.ID)), "FinishTransaction")
	got, _ = s.GetTransaction(ctx, tx.ID)
	eqTx(t, got, want)
	IsKind(t, s.FinishTransaction(ctx, fin, NewAudit(roamsign.AuditSigned, c.User, tx.ID)), roamsign.ErrConflict, "finish twice")
	if n := auditCount(t, s); n != 2 {
		t.Fatalf("audit records = %d, want 2 (the failed finish must not append)", n)
	}
	missing := store.CloneTransaction(fin)
	missing.ID = "missing"
	IsKind(t, s.FinishTransaction(ctx, missing, NewAudit(roamsign.AuditSigned, c.User, "missing")), roamsign.ErrNotFound, "finish missing")
	pend := store.CloneTransaction(fin)
	pend.State = roamsign.TxPending
	IsKind(t, s.FinishTransaction(ctx, pend, NewAudit(roamsign.AuditSigned, c.User, tx.ID)), roamsign.ErrInvalidInput, "finish to pending")
	if _, err := store.VerifyAudit(ctx, s, store.VerifyOptions{}); err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
}

// testTransactionAtomicity proves that a BeginTransaction failing in the
// middle leaves nothing behind: the challenge unconsumed, no transaction and
// no audit record.
func testTransactionAtomicity(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	now := Base.Add(time.Second)
	c1 := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c1), "create")
	tx1 := NewTx(c1)
	noErr(t, s.BeginTransaction(ctx, c1.ID, now, tx1, NewAudit(roamsign.AuditAuthorised, "u1", tx1.ID)), "first BeginTransaction")
	before := auditCount(t, s)

	check := func(what string, c *roamsign.ChallengeRecord, txID string) {
		t.Helper()
		ExpectUntouched(t, s, what, c.ID, txID, before)
	}

	// Duplicate (host, request id): the consume step has already happened
	// inside the database transaction when the insert fails.
	c2 := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c2), "create")
	tx2 := NewTx(c2)
	tx2.RequestID = tx1.RequestID
	IsKind(t, s.BeginTransaction(ctx, c2.ID, now, tx2, NewAudit(roamsign.AuditAuthorised, "u1", tx2.ID)), roamsign.ErrConflict, "duplicate request id")
	check("duplicate request id", c2, tx2.ID)

	// Same request id on another host is fine.
	tx2b := NewTx(c2)
	tx2b.Host, tx2b.RequestID = "finance", tx1.RequestID
	c3 := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c3), "create")

	// Duplicate transaction id.
	tx3 := NewTx(c3)
	tx3.ID = tx1.ID
	IsKind(t, s.BeginTransaction(ctx, c3.ID, now, tx3, NewAudit(roamsign.AuditAuthorised, "u1", tx3.ID)), roamsign.ErrConflict, "duplicate transaction id")
	check("duplicate transaction id", c3, "")

	// Invalid audit record: rejected before anything is written.
	tx4 := NewTx(c3)
	bad := NewAudit("", "u1", tx4.ID)
	IsKind(t, s.BeginTransaction(ctx, c3.ID, now, tx4, bad), roamsign.ErrInvalidInput, "invalid audit")
	check("invalid audit", c3, tx4.ID)

	// A used, expired or unknown challenge: no transaction, no audit.
	tx5 := NewTx(c1)
	IsKind(t, s.BeginTransaction(ctx, c1.ID, now, tx5, NewAudit(roamsign.AuditAuthorised, "u1", tx5.ID)), roamsign.ErrUsed, "used challenge")
	_, err := s.GetTransaction(ctx, tx5.ID)
	IsKind(t, err, roamsign.ErrNotFound, "tx for used challenge")
	tx5b := NewTx(c3)
	IsKind(t, s.BeginTransaction(ctx, c3.ID, c3.ExpiresAt, tx5b, NewAudit(roamsign.AuditAuthorised, "u1", tx5b.ID)), roamsign.ErrExpired, "expired challenge")
	check("expired challenge", c3, tx5b.ID)
	tx6 := NewTx(c3)
	IsKind(t, s.BeginTransaction(ctx, "missing", now, tx6, NewAudit(roamsign.AuditAuthorised, "u1", tx6.ID)), roamsign.ErrInvalidInput, "challenge id mismatch")
	tx6.ChallengeID = "missing"
	IsKind(t, s.BeginTransaction(ctx, "missing", now, tx6, NewAudit(roamsign.AuditAuthorised, "u1", tx6.ID)), roamsign.ErrNotFound, "unknown challenge")
	check("unknown challenge", c3, tx6.ID)

	noErr(t, s.BeginTransaction(ctx, c2.ID, now, tx2b, NewAudit(roamsign.AuditAuthorised, "u1", tx2b.ID)), "same request id on another host")
	if _, err := store.VerifyAudit(ctx, s, store.VerifyOptions{}); err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
}

func testTransactionExpire(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	mk := func(created time.Time) *roamsign.TransactionRecord {
		c := NewChallenge("u1", "hr")
		noErr(t, s.CreateChallenge(ctx, c), "create")
		tx := NewTx(c)
		tx.CreatedAt, tx.UpdatedAt = created, created
		noErr(t, s.BeginTransaction(ctx, c.ID, Base, tx, NewAudit(roamsign.AuditAuthorised, "u1", tx.ID)), "BeginTransaction")
		return tx
	}
	oldPending := mk(Base.Add(-time.Hour))
	newPending := mk(Base)
	oldDone := mk(Base.Add(-48 * time.Hour))
	oldDone.State, oldDone.UpdatedAt = roamsign.TxSigned, Base.Add(-47*time.Hour)
	noErr(t, s.FinishTransaction(ctx, oldDone, NewAudit(roamsign.AuditSigned, "u1", oldDone.ID)), "finish")
	newDone := mk(Base.Add(-time.Minute))
	newDone.State, newDone.UpdatedAt = roamsign.TxFailed, Base
	newDone.Error = "unavailable"
	noErr(t, s.FinishTransaction(ctx, newDone, NewAudit(roamsign.AuditSignFailed, "u1", newDone.ID)), "finish")

	failed, deleted, err := s.ExpireTransactions(ctx, Base.Add(-time.Minute), Base.Add(-24*time.Hour))
	noErr(t, err, "ExpireTransactions")
	if failed != 1 || deleted != 1 {
		t.Fatalf("ExpireTransactions = %d failed, %d deleted; want 1, 1", failed, deleted)
	}
	got, _ := s.GetTransaction(ctx, oldPending.ID)
	if got.State != roamsign.TxFailed || got.Error != roamsign.ErrExpired.Code() {
		t.Fatalf("expired pending tx: state %q error %q", got.State, got.Error)
	}
	got, _ = s.GetTransaction(ctx, newPending.ID)
	if got.State != roamsign.TxPending {
		t.Fatalf("recent pending tx changed to %q", got.State)
	}
	_, err = s.GetTransaction(ctx, oldDone.ID)
	IsKind(t, err, roamsign.ErrNotFound, "retention-deleted tx")
	_, err = s.GetTransactionByRequest(ctx, oldDone.Host, oldDone.RequestID)
	IsKind(t, err, roamsign.ErrNotFound, "retention-deleted tx by request")
	if _, err := s.GetTransaction(ctx, newDone.ID); err != nil {
		t.Fatalf("recent finished tx deleted: %v", err)
	}
	// The expired transaction has its terminal audit record, in a chain
	// that still verifies; the one still pending has none.
	var closing []*roamsign.AuditRecord
	noErr(t, s.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		if a.Event == roamsign.AuditSignFailed && a.Outcome == roamsign.ErrExpired.Code() {
			c := *a
			closing = append(closing, &c)
		}
		return nil
	}), "ScanAudit")
	if len(closing) != 1 || closing[0].TransactionID != oldPending.ID || closing[0].User != oldPending.User ||
		closing[0].Host != oldPending.Host || closing[0].Count != oldPending.Count || !bytes.Equal(closing[0].HashList, oldPending.HashList[:]) {
		t.Fatalf("terminal audit records of expired transactions: %+v", closing)
	}
	if _, err := store.VerifyAudit(ctx, s, store.VerifyOptions{}); err != nil {
		t.Fatalf("VerifyAudit after ExpireTransactions: %v", err)
	}
}
