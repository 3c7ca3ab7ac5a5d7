package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store/internal/sqlcodec"
	"github.com/roamsign/roamsign/store/storetest"
)

func benchStore(b *testing.B, opts Options) *Store {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkChallenges: create + consume round trips through the store,
// with and without row seals (an in-memory row key: the cost of sealing,
// not of the HSM), and the raw baseline: the same INSERT and UPDATE as two bare transactions on
// the same connection settings, without the store's checks and retries.
func BenchmarkChallenges(b *testing.B) {
	for _, g := range []int{1, 8} {
		b.Run(fmt.Sprintf("store/goroutines=%d", g), func(b *testing.B) {
			storetest.BenchChallenges(b, benchStore(b, Options{}), g)
		})
		b.Run(fmt.Sprintf("sealed/goroutines=%d", g), func(b *testing.B) {
			storetest.BenchChallenges(b, benchStore(b, Options{Sealer: storetest.NewSealer(b)}), g)
		})
		b.Run(fmt.Sprintf("raw/goroutines=%d", g), func(b *testing.B) {
			s := benchStore(b, Options{})
			ctx := context.Background()
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = storetest.RandID()
			}
			b.ResetTimer()
			storetest.RunSplit(b, g, func(i int) error {
				if _, err := s.w.ExecContext(ctx, `INSERT INTO challenges (`+sqlcodec.ChallengeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
					ids[i], "u1", "hr", []byte{1}, []byte{2}, []byte{3}, 1, "", "", "", 1, 2, 0, 3, 0, nil, 0, "", nil, 0); err != nil {
					return err
				}
				_, err := s.w.ExecContext(ctx, `UPDATE challenges SET consumed = 1, consumed_at = 1 WHERE id = ? AND consumed = 0`, ids[i])
				return err
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
		})
	}
}

func BenchmarkAuditAppend(b *testing.B) {
	for _, g := range []int{1, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			storetest.BenchAuditAppend(b, benchStore(b, Options{}), g)
		})
	}
}

// BenchmarkVerifyAudit verifies a log of $ROAMSIGN_BENCH_AUDIT_N records
// (1,000,000 by default), bulk-loaded outside the timer.
func BenchmarkVerifyAudit(b *testing.B) {
	n := storetest.BenchAuditN(b)
	s := benchStore(b, Options{})
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO audit (`+sqlcodec.AuditCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		b.Fatal(err)
	}
	var last *roamsign.AuditRecord
	err = storetest.ChainRecords(n, func(a *roamsign.AuditRecord) error {
		last = a
		_, err := ins.ExecContext(ctx, a.Seq, a.Time.UnixMicro(), a.Event, a.User, a.Host, a.DataHeader, a.HashList, a.Count, a.CertSerial,
			a.Channel, a.Outcome, a.TransactionID, a.Detail, a.PrevHash, a.Hash)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ?`, last.Seq, last.Hash); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Run("verify", func(b *testing.B) { storetest.BenchVerify(b, s, int64(n)) })
	b.Run("raw-scan", func(b *testing.B) { storetest.BenchScan(b, s, int64(n)) })
}

// BenchmarkAuditHash is the raw baseline for BenchmarkVerifyAudit.
func BenchmarkAuditHash(b *testing.B) { storetest.BenchAuditHash(b) }
