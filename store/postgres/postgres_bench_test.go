package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pgtest"
	"github.com/roamsign/roamsign/store/internal/sqlcodec"
	"github.com/roamsign/roamsign/store/storetest"
)

func benchStore(b *testing.B) *Store {
	s, err := Open(context.Background(), pgtest.NewDatabase(b), Options{MaxConns: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkChallenges: create + consume round trips through the store over
// loopback, and the raw baseline: the same INSERT and conditional UPDATE
// as bare statements on the same pool.
func BenchmarkChallenges(b *testing.B) {
	for _, g := range []int{1, 8} {
		b.Run(fmt.Sprintf("store/goroutines=%d", g), func(b *testing.B) {
			storetest.BenchChallenges(b, benchStore(b), g)
		})
		b.Run(fmt.Sprintf("raw/goroutines=%d", g), func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = storetest.RandID()
			}
			b.ResetTimer()
			storetest.RunSplit(b, g, func(i int) error {
				if _, err := s.pool.Exec(ctx, `INSERT INTO challenges (`+sqlcodec.ChallengeCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)`,
					ids[i], "u1", "hr", []byte{1}, []byte{2}, []byte{3}, 1, "", "", "", storetest.Base, storetest.Base, 0, 3, false, nil, false, "", nil, 0); err != nil {
					return err
				}
				_, err := s.pool.Exec(ctx, `UPDATE challenges SET consumed = true, consumed_at = $2 WHERE id = $1 AND NOT consumed`, ids[i], storetest.Base)
				return err
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
		})
	}
}

func BenchmarkAuditAppend(b *testing.B) {
	for _, g := range []int{1, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			storetest.BenchAuditAppend(b, benchStore(b), g)
		})
	}
}

// BenchmarkVerifyAudit verifies a log of $ROAMSIGN_BENCH_AUDIT_N records
// (1,000,000 by default), bulk-loaded with COPY outside the timer.
func BenchmarkVerifyAudit(b *testing.B) {
	n := storetest.BenchAuditN(b)
	s := benchStore(b)
	ctx := context.Background()
	rows := make([][]any, 0, 10000)
	var last *roamsign.AuditRecord
	cols := []string{"seq", "time", "event", "user_id", "host", "data_header", "hash_list", "count", "cert_serial",
		"channel", "outcome", "transaction_id", "detail", "prev_hash", "hash"}
	flush := func() error {
		_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"audit"}, cols, pgx.CopyFromRows(rows))
		rows = rows[:0]
		return err
	}
	err := storetest.ChainRecords(n, func(a *roamsign.AuditRecord) error {
		last = a
		rows = append(rows, []any{a.Seq, a.Time, string(a.Event), string(a.User), string(a.Host), a.DataHeader, a.HashList, a.Count,
			a.CertSerial, string(a.Channel), a.Outcome, a.TransactionID, a.Detail, a.PrevHash, a.Hash})
		if len(rows) == cap(rows) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2`, last.Seq, last.Hash); err != nil {
		b.Fatal(err)
	}
	b.Run("verify", func(b *testing.B) { storetest.BenchVerify(b, s, int64(n)) })
	b.Run("raw-scan", func(b *testing.B) { storetest.BenchScan(b, s, int64(n)) })
}

// BenchmarkAuditHash is the raw baseline for BenchmarkVerifyAudit.
func BenchmarkAuditHash(b *testing.B) { storetest.BenchAuditHash(b) }
