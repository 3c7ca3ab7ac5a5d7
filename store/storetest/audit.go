package storetest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// SeedAudit appends n audit records and returns them as appended.
func SeedAudit(t testing.TB, s store.Store, n int) []*roamsign.AuditRecord {
	t.Helper()
	ctx := ctxT(t)
	out := make([]*roamsign.AuditRecord, 0, n)
	for i := range n {
		a := NewAudit(roamsign.AuditOTPRequested, "u1", fmt.Sprintf("tx-%d", i))
		a.Time = Base.Add(time.Duration(i) * time.Millisecond)
		noErr(t, s.AppendAudit(ctx, a), "AppendAudit")
		out = append(out, a)
	}
	return out
}

// ExpectBreak fails unless VerifyAudit reports a break at seq with reason.
func ExpectBreak(t testing.TB, s store.AuditScanner, seq int64, reason store.BreakReason) {
	t.Helper()
	_, err := store.VerifyAudit(ctxT(t), s, store.VerifyOptions{})
	var brk *store.ChainBreakError
	if !errors.As(err, &brk) {
		t.Fatalf("VerifyAudit after tampering: got %v, want a chain break at seq %d (%s)", err, seq, reason)
	}
	if !errors.Is(err, roamsign.ErrInvalidSignature) {
		t.Fatalf("chain break is not ErrInvalidSignature: %v", err)
	}
	if brk.Seq != seq || brk.Reason != reason {
		t.Fatalf("VerifyAudit break = seq %d (%s), want seq %d (%s): %v", brk.Seq, brk.Reason, seq, reason, err)
	}
}

func testAuditChain(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	res, err := store.VerifyAudit(ctx, s, store.VerifyOptions{})
	noErr(t, err, "VerifyAudit empty")
	if res.Records != 0 {
		t.Fatalf("empty log has %d records", res.Records)
	}
	recs := SeedAudit(t, s, 5)
	for i, a := range recs {
		if a.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i, a.Seq)
		}
		prev := store.ZeroHash()
		if i > 0 {
			prev = recs[i-1].Hash
		}
		if !bytes.Equal(a.PrevHash, prev) || !bytes.Equal(a.Hash, store.AuditHash(a)) {
			t.Fatalf("record %d not chained", i)
		}
	}
	// The time was normalised before hashing and reads back equal.
	var got []*roamsign.AuditRecord
	noErr(t, s.ScanAudit(ctx, 3, func(a *roamsign.AuditRecord) error {
		got = append(got, store.CloneAudit(a))
		return nil
	}), "ScanAudit")
	if len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 {
		t.Fatalf("ScanAudit from 3 returned %d records", len(got))
	}
	for i, g := range got {
		w := recs[i+2]
		eqTime(t, "audit Time", g.Time, w.Time)
		g.Time, w.Time = time.Time{}, time.Time{}
		if fmt.Sprintf("%#v", *g) != fmt.Sprintf("%#v", *w) {
			t.Fatalf("audit round trip:\n got %#v\nwant %#v", *g, *w)
		}
	}
	stop := errors.New("stop")
	n := 0
	err = s.ScanAudit(ctx, 1, func(*roamsign.AuditRecord) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ScanAudit did not stop on error: %v after %d", err, n)
	}
	res, err = store.VerifyAudit(ctx, s, store.VerifyOptions{})
	noErr(t, err, "VerifyAudit")
	if res.Records != 5 || res.HeadSeq != 5 || !bytes.Equal(res.HeadHash, recs[4].Hash) {
		t.Fatalf("VerifyAudit = %+v", res)
	}
	_, err = store.VerifyAudit(ctx, s, store.VerifyOptions{ExpectHead: 6})
	var brk *store.ChainBreakError
	if !errors.As(err, &brk) || brk.Reason != store.BreakTruncated {
		t.Fatalf("VerifyAudit ExpectHead beyond the log: %v", err)
	}
	// A zero time takes the store's clock.
	a := NewAudit(roamsign.AuditPINSet, "u1", "")
	a.Time = time.Time{}
	noErr(t, s.AppendAudit(ctx, a), "AppendAudit zero time")
	if a.Time.IsZero() || a.Time.Location() != time.UTC {
		t.Fatalf("zero audit time not filled: %v", a.Time)
	}
}

func testAuditInvalid(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	for name, a := range map[string]*roamsign.AuditRecord{
		"nil":         nil,
		"no event":    {Time: Base},
		"long detail": {Time: Base, Event: roamsign.AuditSigned, Detail: strings.Repeat("d", store.MaxAuditDetail+1)},
		"long digest": {Time: Base, Event: roamsign.AuditSigned, HashList: make([]byte, store.MaxAuditHash+1)},
	} {
		IsKind(t, s.AppendAudit(ctx, a), roamsign.ErrInvalidInput, name)
	}
	if n := auditCount(t, s); n != 0 {
		t.Fatalf("rejected audit records were stored: %d", n)
	}
}

// AuditAppendRace appends concurrently from the given stores and verifies
// the chain is gap-free and valid.
func AuditAppendRace(t *testing.T, workers, each int, stores ...store.Store) {
	ctx := ctxT(t)
	errs := parallel(workers, func(w int) error {
		s := stores[w%len(stores)]
		for i := range each {
			if err := s.AppendAudit(ctx, NewAudit(roamsign.AuditSigned, "u1", fmt.Sprintf("w%d-%d", w, i))); err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		noErr(t, err, "concurrent AppendAudit")
	}
	for _, s := range stores {
		res, err := store.VerifyAudit(ctx, s, store.VerifyOptions{})
		noErr(t, err, "VerifyAudit after concurrent appends")
		if res.Records != int64(workers*each) {
			t.Fatalf("VerifyAudit saw %d records, want %d", res.Records, workers*each)
		}
	}
}

func testAuditAppendRace(t *testing.T, s store.Store) { AuditAppendRace(t, 8, 25, s) }

func testAuditCheckpoint(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	keys := TestKeys(t)
	cp, err := s.AppendCheckpoint(ctx, store.Checkpoint{Signer: keys[0], KeyID: "audit-1"})
	noErr(t, err, "AppendCheckpoint on empty log")
	if cp.Seq != 1 || cp.Event != roamsign.AuditCheckpoint {
		t.Fatalf("checkpoint record: %+v", cp)
	}
	for _, k := range keys {
		SeedAudit(t, s, 3)
		_, err := s.AppendCheckpoint(ctx, store.Checkpoint{Signer: k, Time: Base})
		noErr(t, err, "AppendCheckpoint")
	}
	for i, k := range keys {
		if i == 0 {
			continue
		}
		// Only one key signed all checkpoints here: the others fail.
		_, err := store.VerifyAudit(ctx, s, store.VerifyOptions{CheckpointKey: k.Public()})
		var brk *store.ChainBreakError
		if !errors.As(err, &brk) || brk.Reason != store.BreakCheckpoint {
			t.Fatalf("checkpoint under another key: %v", err)
		}
	}
	_, err = s.AppendCheckpoint(ctx, store.Checkpoint{})
	IsKind(t, err, roamsign.ErrInvalidInput, "checkpoint without signer")
	one := keys[0]
	var seqs []int64
	noErr(t, s.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		if a.Event == roamsign.AuditCheckpoint {
			seqs = append(seqs, a.Seq)
			err := store.VerifyCheckpoint(a, one.Public())
			signedByOne := a.Seq == 1 || a.Seq == 5
			if (err == nil) != signedByOne {
				t.Errorf("checkpoint seq %d under key 0: %v", a.Seq, err)
			}
		}
		return nil
	}), "ScanAudit")
	if len(seqs) != 1+len(keys) {
		t.Fatalf("checkpoints at %v", seqs)
	}
	res, err := store.VerifyAudit(ctx, s, store.VerifyOptions{})
	noErr(t, err, "VerifyAudit without key")
	if res.Checkpoints != len(seqs) {
		t.Fatalf("VerifyAudit counted %d checkpoints, want %d", res.Checkpoints, len(seqs))
	}
}

// testAuditNoSecrets drives a full sign flow and checks no audit field
// carries the challenge's nonce or MAC in any common encoding.
func testAuditNoSecrets(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	c := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c), "create")
	tx := NewTx(c)
	noErr(t, s.BeginTransaction(ctx, c.ID, Base, tx, NewAudit(roamsign.AuditAuthorised, "u1", tx.ID)), "BeginTransaction")
	tx.State = roamsign.TxSigned
	noErr(t, s.FinishTransaction(ctx, tx, NewAudit(roamsign.AuditSigned, "u1", tx.ID)), "FinishTransaction")
	var secrets []string
	for _, b := range [][]byte{c.MAC, c.Nonce} {
		secrets = append(secrets, string(b), hex.EncodeToString(b), base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
	}
	var n atomic.Int64
	noErr(t, s.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		n.Add(1)
		blob := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", a.Event, a.User, a.Host, a.DataHeader, a.HashList, a.CertSerial, a.Channel, a.Outcome, a.TransactionID, a.Detail)
		for _, sec := range secrets {
			if strings.Contains(blob, sec) {
				t.Errorf("audit record %d carries a challenge secret", a.Seq)
			}
		}
		return nil
	}), "ScanAudit")
	if n.Load() != 2 {
		t.Fatalf("audit records = %d, want 2", n.Load())
	}
}
