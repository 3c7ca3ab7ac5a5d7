package main

import (
	"context"
	"crypto/ecdsa"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/sqlite"
)

// TestAuditAnchorDetectsRewrite runs the attacks of a database writer on
// the audit chain of a server that anchored its checkpoints: a wholesale
// rewrite (triggers dropped, checkpoints removed, a record edited, every
// hash and the head recomputed) and a rewind (the newest records deleted
// and the head set back). Each leaves a chain that checks out on its own;
// `audit verify` reports both against the anchor file.
func TestAuditAnchorDetectsRewrite(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	signHashAPI(t, s, demoUser1, demoPIN1, []byte("baucar PV2026/000200\n"))
	signHashAPI(t, s, demoUser2, demoPIN2, []byte("baucar PV2026/000201\n"))
	require.NoError(t, s.stop())

	out, _, err := runCmd(t, "audit", "verify", "-data-dir", dir, "-quiet")
	require.NoError(t, err, out)
	assert.Contains(t, out, "audit chain intact")
	head := auditRecords(t, dir)
	last := head[len(head)-1]
	require.Equal(t, roamsign.AuditCheckpoint, last.Event, "the server's last record is its shutdown checkpoint")
	assert.Contains(t, out, "anchored: records 1..", "the report says how far the anchor reaches")
	assert.Contains(t, out, "0 newer records not anchored yet")

	rewound := t.TempDir()
	require.NoError(t, os.CopyFS(rewound, os.DirFS(dir)))

	t.Run("rewrite", func(t *testing.T) {
		recs := auditRecords(t, dir)
		edited := false
		for i, r := range recs {
			if r.Event == roamsign.AuditCheckpoint {
				// The signed checkpoints would give the rewrite away: each
				// becomes a harmless record, so the log keeps its length.
				recs[i] = &roamsign.AuditRecord{Time: r.Time, Event: roamsign.AuditOTPRequested, User: demoUser1, Host: demoHost, Outcome: "ok"}
			}
			if r.Event == roamsign.AuditSigned && !edited {
				r.DataHeader, edited = "nothing was signed here", true
			}
		}
		require.True(t, edited, "no signature record to edit")
		rewriteAudit(t, dir, recs)
		assertBrokenOnlyByAnchor(t, dir, "rewritten")
	})
	t.Run("rewind", func(t *testing.T) {
		recs := auditRecords(t, rewound)
		rewriteAudit(t, rewound, recs[:len(recs)-3])
		assertBrokenOnlyByAnchor(t, rewound, "expected at least")
	})
}

// assertBrokenOnlyByAnchor checks that the chain in dir is intact on its
// own and that `audit verify` reports it broken, with want in the report.
func assertBrokenOnlyByAnchor(t *testing.T, dir, want string) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "roamsign.db"), sqlite.Options{})
	require.NoError(t, err)
	_, err = store.VerifyAudit(context.Background(), st, store.VerifyOptions{})
	require.NoError(t, st.Close())
	require.NoError(t, err, "the attack must leave a chain that checks out on its own")

	out, errOut, err := runCmd(t, "audit", "verify", "-data-dir", dir, "-quiet")
	require.Equal(t, exitError{1}, err, "audit verify accepted the attacked log\nstdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "audit chain BROKEN")
	assert.Contains(t, out, want)
}

// auditRecords returns copies of every audit record in dir's database.
func auditRecords(t *testing.T, dir string) []*roamsign.AuditRecord {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "roamsign.db"), sqlite.Options{})
	require.NoError(t, err)
	defer st.Close()
	var out []*roamsign.AuditRecord
	require.NoError(t, st.ScanAudit(context.Background(), 1, func(a *roamsign.AuditRecord) error {
		out = append(out, store.CloneAudit(a))
		return nil
	}))
	require.NotEmpty(t, out)
	return out
}

// rewriteAudit replaces the audit log in dir's database with recs,
// renumbered and re-chained with correct hashes, and sets the head to
// match — what someone with write access to the database file can do
// after dropping the append-only triggers.
func rewriteAudit(t *testing.T, dir string, recs []*roamsign.AuditRecord) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "roamsign.db"))
	require.NoError(t, err)
	defer db.Close()
	tx, err := db.Begin()
	require.NoError(t, err)
	for _, q := range []string{`DROP TRIGGER audit_no_update`, `DROP TRIGGER audit_no_delete`, `DELETE FROM audit`} {
		_, err := tx.Exec(q)
		require.NoError(t, err, q)
	}
	var prevSeq int64
	var prevHash []byte
	for _, r := range recs {
		store.ChainAudit(r, prevSeq, prevHash, r.Time)
		_, err := tx.Exec(`INSERT INTO audit (seq, time, event, user_id, host, data_header, hash_list, count, cert_serial, channel, outcome, transaction_id, detail, prev_hash, hash)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			r.Seq, r.Time.UnixMicro(), string(r.Event), string(r.User), string(r.Host), r.DataHeader, r.HashList, r.Count,
			r.CertSerial, string(r.Channel), r.Outcome, r.TransactionID, r.Detail, r.PrevHash, r.Hash)
		require.NoError(t, err)
		prevSeq, prevHash = r.Seq, r.Hash
	}
	_, err = tx.Exec(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, prevSeq, prevHash)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
}

// TestAnchorFileTornLine: a crash while an anchor is written leaves a
// partial last line, which is skipped; the line before it is the newest
// anchor.
func TestAnchorFileTornLine(t *testing.T) {
	f := anchorFile{filepath.Join(t.TempDir(), "a", "checkpoints.jsonl")}
	got, err := f.Latest()
	require.NoError(t, err)
	assert.Nil(t, got, "no file, no anchor")
	require.NoError(t, f.check())
	for seq := int64(2); seq <= 400; seq++ {
		require.NoError(t, f.Append(anchor{Seq: seq, Detail: strings.Repeat("x", 100)}))
	}
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = fh.WriteString(`{"seq":401,"deta`)
	require.NoError(t, err)
	require.NoError(t, fh.Close())
	got, err = f.Latest()
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, int64(400), got.Seq)
}

// TestAuditKeyOnceForReplicas: replicas starting together on a fresh key
// store make one checkpoint key between them, and all use it.
func TestAuditKeyOnceForReplicas(t *testing.T) {
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	ks, err := openKeys(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer ks.Close()
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "roamsign.db"), sqlite.Options{})
	require.NoError(t, err)
	defer st.Close()

	const n = 8
	keys := make([]hsm.Key, n)
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			keys[i], errs[i] = auditKey(ctx, ks, st)
		}()
	}
	start.Done()
	done.Wait()
	for i := range n {
		require.NoError(t, errs[i], "replica %d", i)
		assert.True(t, keys[i].Public().(*ecdsa.PublicKey).Equal(keys[0].Public()), "replica %d signs with another key", i)
	}
	list, err := ks.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, auditKeyID, list[0].ID)
}
