package storetest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// testRowKey is an in-memory row key: HMAC-SHA-256 under random bytes.
type testRowKey []byte

func (k testRowKey) MAC(_ context.Context, data []byte) ([]byte, error) {
	m := hmac.New(sha256.New, k)
	m.Write(data)
	return m.Sum(nil), nil
}

// NewSealer returns a [store.Sealer] under a fresh random row key, logging
// to t.
func NewSealer(t testing.TB) *store.Sealer {
	k := make(testRowKey, 32)
	_, _ = rand.Read(k)
	s, err := store.NewSealer(k, nil)
	require.NoError(t, err)
	return s
}

// Exec runs one raw SQL statement on a store's database, as a database
// writer without the row key would. Parameters are written "?"; a backend
// numbering its parameters rewrites them ([Dollar]).
type Exec func(query string, args ...any) error

// Dollar rewrites the "?" parameters of query as "$1", "$2", … (for
// PostgreSQL).
func Dollar(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$")
			b.WriteString(itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TamperFactory returns a fresh store sealing its rows with a row key, and
// raw write access to its database.
type TamperFactory func(t *testing.T) (store.Store, Exec)

// RunTamper runs the tamper scenarios against a sealed SQL backend: each
// changes rows with raw SQL, as a database writer without the row key
// would (issue: sole control against a database writer), and expects the
// store to refuse the row (ErrUnavailable, [store.ErrTampered]) and to
// record the refusal in the audit log.
func RunTamper(t *testing.T, open TamperFactory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, exec Exec)
	}{
		{"KeyAndChainOfAnotherUser", tamperKeySwap},
		{"PINVerifierReplaced", tamperVerifier},
		{"ContactRedirected", tamperContact},
		{"UnlockedByResettingCounters", tamperUnlock},
		{"ChallengeMovedToAnotherUserOrHost", tamperChallengeMoved},
		{"ChallengeReopened", tamperReopened},
		{"OldChallengeRowRestored", tamperRestored},
		{"TransactionRebound", tamperTransaction},
		{"SealRemoved", tamperSealRemoved},
		{"UntamperedRowsWork", untampered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, exec := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s, exec)
		})
	}
}

// Victim and Attacker are the two users of the tamper scenarios.
const (
	Victim   roamsign.UserID = "900101145678"
	Attacker roamsign.UserID = "880202145679"
)

func seedUsers(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	v := NewUser(Victim)
	a := NewUser(Attacker)
	a.KeyRef, a.Chain, a.Email, a.Devices = "ffee01", [][]byte{{0x30, 0x82, 0x09}}, "attacker@example.my", []string{"dev-a"}
	require.NoError(t, s.CreateUser(ctx, v))
	require.NoError(t, s.CreateUser(ctx, a))
}

// refused checks that err is the refusal of a tampered row and that the
// audit log holds a record of it for user.
func refused(t *testing.T, s store.Store, err error, user roamsign.UserID, what string) {
	t.Helper()
	require.Error(t, err, what)
	require.True(t, errors.Is(err, roamsign.ErrUnavailable), "%s: want ErrUnavailable, got %v", what, err)
	require.True(t, errors.Is(err, store.ErrTampered), "%s: want ErrTampered, got %v", what, err)
	found := false
	require.NoError(t, s.ScanAudit(ctxT(t), 1, func(a *roamsign.AuditRecord) error {
		if a.Event == roamsign.AuditTampered && a.User == user {
			found = true
		}
		return nil
	}))
	require.True(t, found, "%s: no %s audit record for the refused row", what, roamsign.AuditTampered)
}

func tamperKeySwap(t *testing.T, s store.Store, exec Exec) {
	seedUsers(t, s)
	require.NoError(t, exec(`UPDATE users SET key_ref = (SELECT key_ref FROM users WHERE id = ?),
		chain = (SELECT chain FROM users WHERE id = ?) WHERE id = ?`, Victim, Victim, Attacker))
	_, err := s.GetUser(ctxT(t), Attacker)
	refused(t, s, err, Attacker, "GetUser with another user's key")
	_, err = s.ListUsers(ctxT(t), "", 10)
	refused(t, s, err, Attacker, "ListUsers with another user's key")
	err = s.UpdateUser(ctxT(t), Attacker, func(*roamsign.UserRecord) error { return nil })
	refused(t, s, err, Attacker, "UpdateUser with another user's key")
}

func tamperVerifier(t *testing.T, s store.Store, exec Exec) {
	seedUsers(t, s)
	// A valid, unpeppered Argon2id verifier of a PIN the writer chose.
	v := "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$SuwWWqnZHdJQeX0eFj3p6tOD/3KNBs0emwUahR+Rr0o"
	require.NoError(t, exec(`UPDATE users SET pin_verifier = ? WHERE id = ?`, []byte(v), Victim))
	_, err := s.GetUser(ctxT(t), Victim)
	refused(t, s, err, Victim, "GetUser with a replaced PIN verifier")
	_, _, err = s.AddPINFailure(ctxT(t), Victim, 5, Base)
	refused(t, s, err, Victim, "AddPINFailure with a replaced PIN verifier")
}

func tamperContact(t *testing.T, s store.Store, exec Exec) {
	seedUsers(t, s)
	require.NoError(t, exec(`UPDATE users SET email = ? WHERE id = ?`, "attacker@example.my", Victim))
	_, err := s.GetUser(ctxT(t), Victim)
	refused(t, s, err, Victim, "GetUser with a changed e-mail")

	require.NoError(t, exec(`UPDATE users SET email = (SELECT email FROM users WHERE id = ?), devices = ? WHERE id = ?`,
		Attacker, `["dev-1","dev-a"]`, Attacker))
	_, err = s.GetUser(ctxT(t), Attacker)
	refused(t, s, err, Attacker, "GetUser with changed devices")
}

func tamperUnlock(t *testing.T, s store.Store, exec Exec) {
	ctx := ctxT(t)
	seedUsers(t, s)
	for range 3 {
		_, _, err := s.AddPINFailure(ctx, Victim, 3, Base)
		require.NoError(t, err)
	}
	u, err := s.GetUser(ctx, Victim)
	require.NoError(t, err)
	require.True(t, u.Locked)
	require.NoError(t, exec(`UPDATE users SET locked = ?, pin_failures = 0, locked_at = NULL WHERE id = ?`, false, Victim))
	_, err = s.GetUser(ctx, Victim)
	refused(t, s, err, Victim, "GetUser unlocked by a database writer")
	_, _, err = s.AddPINFailure(ctx, Victim, 3, Base)
	refused(t, s, err, Victim, "AddPINFailure on a user unlocked by a database writer")
	err = s.ResetPINFailures(ctx, Victim)
	refused(t, s, err, Victim, "ResetPINFailures on a user unlocked by a database writer")
}

func tamperChallengeMoved(t *testing.T, s store.Store, exec Exec) {
	ctx := ctxT(t)
	seedUsers(t, s)
	c := NewChallenge(Attacker, "hr")
	c.KeyRef = "ffee01"
	require.NoError(t, s.CreateChallenge(ctx, c))
	require.NoError(t, exec(`UPDATE challenges SET user_id = ? WHERE id = ?`, Victim, c.ID))
	_, err := s.GetChallenge(ctx, c.ID)
	refused(t, s, err, Victim, "GetChallenge moved to another user")
	_, err = s.TakeTry(ctx, c.ID)
	refused(t, s, err, Victim, "TakeTry of a challenge moved to another user")

	d := NewChallenge(Attacker, "hr")
	require.NoError(t, s.CreateChallenge(ctx, d))
	require.NoError(t, exec(`UPDATE challenges SET host = ?, key_ref = ? WHERE id = ?`, "finance", "0a1b2c", d.ID))
	_, err = s.GetChallenge(ctx, d.ID)
	refused(t, s, err, Attacker, "GetChallenge moved to another host and key")
	err = s.BeginTransaction(ctx, d.ID, Base, NewTx(d), NewAudit(roamsign.AuditAuthorised, Attacker, ""))
	refused(t, s, err, Attacker, "BeginTransaction on a challenge moved to another host")
}

// signOnce consumes c with a transaction under request id req.
func signOnce(t *testing.T, s store.Store, c *roamsign.ChallengeRecord, req string) error {
	tx := NewTx(c)
	tx.RequestID = req
	return s.BeginTransaction(ctxT(t), c.ID, Base.Add(time.Second), tx, NewAudit(roamsign.AuditAuthorised, c.User, tx.ID))
}

func tamperReopened(t *testing.T, s store.Store, exec Exec) {
	ctx := ctxT(t)
	seedUsers(t, s)
	c := NewChallenge(Victim, "hr")
	require.NoError(t, s.CreateChallenge(ctx, c))
	_, err := s.TakeTry(ctx, c.ID)
	require.NoError(t, err)
	require.NoError(t, signOnce(t, s, c, "req-1"))
	require.NoError(t, exec(`UPDATE challenges SET consumed = ?, consumed_at = NULL, tries = 0 WHERE id = ?`, false, c.ID))
	_, err = s.GetChallenge(ctx, c.ID)
	refused(t, s, err, Victim, "GetChallenge re-opened by a database writer")
	_, err = s.TakeTry(ctx, c.ID)
	refused(t, s, err, Victim, "TakeTry of a re-opened challenge")
	err = signOnce(t, s, c, "req-2")
	refused(t, s, err, Victim, "a second transaction under a new request id")
}

func tamperRestored(t *testing.T, s store.Store, exec Exec) {
	ctx := ctxT(t)
	seedUsers(t, s)
	c := NewChallenge(Victim, "hr")
	require.NoError(t, s.CreateChallenge(ctx, c))
	// The writer keeps a copy of the open challenge, sealed as it was.
	require.NoError(t, exec(`CREATE TABLE saved AS SELECT * FROM challenges WHERE 1 = 0`))
	require.NoError(t, exec(`INSERT INTO saved SELECT * FROM challenges WHERE id = ?`, c.ID))
	_, err := s.TakeTry(ctx, c.ID)
	require.NoError(t, err)
	require.NoError(t, signOnce(t, s, c, "req-1"))
	// …and puts it back once it was used.
	require.NoError(t, exec(`DELETE FROM challenges WHERE id = ?`, c.ID))
	require.NoError(t, exec(`INSERT INTO challenges SELECT * FROM saved`))
	_, err = s.TakeTry(ctx, c.ID)
	refused(t, s, err, Victim, "TakeTry of a restored challenge")
	err = signOnce(t, s, c, "req-2")
	refused(t, s, err, Victim, "a second transaction on a restored challenge")
}

func tamperTransaction(t *testing.T, s store.Store, exec Exec) {
	ctx := ctxT(t)
	seedUsers(t, s)
	c := NewChallenge(Victim, "hr")
	require.NoError(t, s.CreateChallenge(ctx, c))
	tx := NewTx(c)
	require.NoError(t, s.BeginTransaction(ctx, c.ID, Base, tx, NewAudit(roamsign.AuditAuthorised, Victim, tx.ID)))
	require.NoError(t, exec(`UPDATE transactions SET user_id = ? WHERE id = ?`, Attacker, tx.ID))
	_, err := s.GetTransaction(ctx, tx.ID)
	refused(t, s, err, Attacker, "GetTransaction moved to another user")
	_, err = s.GetTransactionByRequest(ctx, tx.Host, tx.RequestID)
	refused(t, s, err, Attacker, "GetTransactionByRequest moved to another user")
	done := store.CloneTransaction(tx)
	done.State, done.UpdatedAt = roamsign.TxSigned, Base.Add(time.Second)
	err = s.FinishTransaction(ctx, done, NewAudit(roamsign.AuditSigned, Victim, tx.ID))
	refused(t, s, err, Attacker, "FinishTransaction of a rebound transaction")
}

func tamperSealRemoved(t *testing.T, s store.Store, exec Exec) {
	ctx := ctxT(t)
	seedUsers(t, s)
	require.NoError(t, exec(`UPDATE users SET seal = NULL WHERE id = ?`, Victim))
	_, err := s.GetUser(ctx, Victim)
	refused(t, s, err, Victim, "GetUser without a seal")
	c := NewChallenge(Victim, "hr")
	require.NoError(t, s.CreateChallenge(ctx, c))
	require.NoError(t, exec(`UPDATE challenges SET seal = NULL WHERE id = ?`, c.ID))
	_, err = s.GetChallenge(ctx, c.ID)
	refused(t, s, err, Victim, "GetChallenge without a seal")
}

// untampered: rows written by the store itself pass every check, through
// every sealed write, and nothing is recorded as tampered.
func untampered(t *testing.T, s store.Store, _ Exec) {
	ctx := ctxT(t)
	seedUsers(t, s)
	c := NewChallenge(Victim, "hr")
	require.NoError(t, s.CreateChallenge(ctx, c))
	require.NoError(t, s.MarkDelivered(ctx, c.ID, roamsign.ChannelEmail, "s***@example.my"))
	_, err := s.TakeTry(ctx, c.ID)
	require.NoError(t, err)
	_, _, err = s.AddPINFailure(ctx, Victim, 5, Base)
	require.NoError(t, err)
	require.NoError(t, s.ResetPINFailures(ctx, Victim))
	require.NoError(t, s.UpdateUser(ctx, Victim, func(u *roamsign.UserRecord) error { u.Email = "new@example.my"; return nil }))
	tx := NewTx(c)
	require.NoError(t, s.BeginTransaction(ctx, c.ID, Base, tx, NewAudit(roamsign.AuditAuthorised, Victim, tx.ID)))
	done := store.CloneTransaction(tx)
	done.State, done.UpdatedAt = roamsign.TxSigned, Base.Add(time.Second)
	require.NoError(t, s.FinishTransaction(ctx, done, NewAudit(roamsign.AuditSigned, Victim, tx.ID)))
	_, err = s.GetTransaction(ctx, tx.ID)
	require.NoError(t, err)
	u, err := s.GetUser(ctx, Victim)
	require.NoError(t, err)
	require.Equal(t, "new@example.my", u.Email)
	_, err = s.ListUsers(ctx, "", 10)
	require.NoError(t, err)
	require.NoError(t, s.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		require.NotEqual(t, roamsign.AuditTampered, a.Event)
		return nil
	}))
}

// RunUpgrade checks the upgrade of a database whose rows were written
// without seals: a store with a row key refuses them (and records it)
// until SealUnsealed, the operator's explicit, audited step, seals them.
// unsealed is the store without a row key, sealed one on the same
// database with a row key.
func RunUpgrade(t *testing.T, unsealed, sealed store.Store) {
	ctx := ctxT(t)
	seedUsers(t, unsealed)
	c := NewChallenge(Victim, "hr")
	require.NoError(t, unsealed.CreateChallenge(ctx, c))
	tx := NewTx(c)
	require.NoError(t, unsealed.BeginTransaction(ctx, c.ID, Base, tx, NewAudit(roamsign.AuditAuthorised, Victim, tx.ID)))

	_, err := sealed.GetUser(ctx, Victim)
	refused(t, sealed, err, Victim, "GetUser of a row stored without a seal")
	rs, ok := sealed.(store.RowSealing)
	require.True(t, ok, "%T seals no rows", sealed)
	n, err := rs.SealUnsealed(ctx)
	require.NoError(t, err)
	require.Equal(t, store.SealCount{Users: 2, Challenges: 1, Transactions: 1}, n)
	_, err = sealed.GetUser(ctx, Victim)
	require.NoError(t, err)
	_, err = sealed.GetChallenge(ctx, c.ID)
	require.NoError(t, err)
	_, err = sealed.GetTransaction(ctx, tx.ID)
	require.NoError(t, err)
	var audited bool
	require.NoError(t, sealed.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		audited = audited || a.Event == roamsign.AuditSealed
		return nil
	}))
	require.True(t, audited, "no %s audit record", roamsign.AuditSealed)
	n, err = rs.SealUnsealed(ctx)
	require.NoError(t, err)
	require.Equal(t, store.SealCount{}, n, "a second run finds nothing to seal")
}

// testLastUserEvent: the latest of a user's records among the events
// asked for, whatever other users and events follow; ErrNotFound when none.
func testLastUserEvent(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	_, err := s.LastUserEvent(ctx, Victim, roamsign.AuditLocked, roamsign.AuditPINReset)
	IsKind(t, err, roamsign.ErrNotFound, "LastUserEvent of a user without records")
	for _, a := range []*roamsign.AuditRecord{
		NewAudit(roamsign.AuditLocked, Victim, ""),
		NewAudit(roamsign.AuditPINReset, Victim, ""),
		NewAudit(roamsign.AuditLocked, Victim, ""),
		NewAudit(roamsign.AuditPINReset, Attacker, ""),
		NewAudit(roamsign.AuditSigned, Victim, ""),
	} {
		require.NoError(t, s.AppendAudit(ctx, a))
	}
	got, err := s.LastUserEvent(ctx, Victim, roamsign.AuditLocked, roamsign.AuditPINReset)
	require.NoError(t, err)
	require.Equal(t, roamsign.AuditLocked, got.Event)
	require.Equal(t, int64(3), got.Seq)
	got, err = s.LastUserEvent(ctx, Attacker, roamsign.AuditLocked, roamsign.AuditPINReset)
	require.NoError(t, err)
	require.Equal(t, roamsign.AuditPINReset, got.Event)
	_, err = s.LastUserEvent(ctx, Victim, roamsign.AuditEnrolled)
	IsKind(t, err, roamsign.ErrNotFound, "LastUserEvent of an event the user has none of")
}
