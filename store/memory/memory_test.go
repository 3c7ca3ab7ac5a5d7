package memory

import (
	"testing"

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
