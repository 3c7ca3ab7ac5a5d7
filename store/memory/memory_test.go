package memory

import (
	"context"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return New(Options{}) })
}

func TestAuditTamper(t *testing.T) {
	cases := []struct {
		name   string
		tamper func([]*roamsign.AuditRecord) []*roamsign.AuditRecord
		seq    int64
		reason store.BreakReason
	}{
		{"edit", func(a []*roamsign.AuditRecord) []*roamsign.AuditRecord { a[2].Detail = "nothing happened"; return a }, 3, store.BreakEdited},
		{"delete middle", func(a []*roamsign.AuditRecord) []*roamsign.AuditRecord { return append(a[:2], a[3:]...) }, 3, store.BreakDeleted},
		{"delete last", func(a []*roamsign.AuditRecord) []*roamsign.AuditRecord { return a[:len(a)-1] }, 5, store.BreakTruncated},
		{"swap", func(a []*roamsign.AuditRecord) []*roamsign.AuditRecord { a[1], a[2] = a[2], a[1]; return a }, 2, store.BreakDeleted},
		{"rehash", func(a []*roamsign.AuditRecord) []*roamsign.AuditRecord {
			a[1].Outcome = "forbidden"
			a[1].Hash = store.AuditHash(a[1])
			return a
		}, 3, store.BreakRelinked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			storetest.SeedAudit(t, s, 5)
			s.mu.Lock()
			s.audit = tc.tamper(s.audit)
			s.mu.Unlock()
			storetest.ExpectBreak(t, s, tc.seq, tc.reason)
		})
	}
}

// liveLog appends a record right after each scan of the log, as a busy
// server does while its audit log is being verified.
type liveLog struct{ *Store }

func (l liveLog) ScanAudit(ctx context.Context, from int64, fn func(*roamsign.AuditRecord) error) error {
	if err := l.Store.ScanAudit(ctx, from, fn); err != nil {
		return err
	}
	return l.Store.AppendAudit(ctx, &roamsign.AuditRecord{Event: roamsign.AuditSigned, User: "900101145678", Host: "h", Outcome: "ok", Time: time.Now().UTC()})
}

func TestVerifyAuditOnLiveLog(t *testing.T) {
	ctx := context.Background()
	s := New(Options{})
	for i := 0; i < 3; i++ {
		if err := s.AppendAudit(ctx, &roamsign.AuditRecord{Event: roamsign.AuditAuthorised, User: "900101145678", Host: "h", Outcome: "ok", Time: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := store.VerifyAudit(ctx, liveLog{s}, store.VerifyOptions{})
	if err != nil {
		t.Fatalf("a record appended during verification was reported as a break: %v", err)
	}
	if res.HeadSeq != 3 {
		t.Fatalf("verified up to %d, want the head read at the start (3)", res.HeadSeq)
	}
	// The next verification covers the appended record.
	if res, err = store.VerifyAudit(ctx, s, store.VerifyOptions{}); err != nil || res.HeadSeq != 4 {
		t.Fatalf("second verification: %+v %v", res, err)
	}
}
