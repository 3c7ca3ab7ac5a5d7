package apitest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/leakcheck"
)

// testAuditChain: the audit log chains record to record and holds the
// signatures of the tests before it.
func testAuditChain(t *testing.T, s *suite) {
	if s.Audit == nil {
		t.Skip("deployment exposes no audit log")
	}
	var prev []byte
	var n, signed int
	err := s.Audit(context.Background(), func(a *roamsign.AuditRecord) error {
		n++
		if prev != nil && !bytes.Equal(a.PrevHash, prev) {
			return fmt.Errorf("record %d does not chain to %d", a.Seq, a.Seq-1)
		}
		prev = a.Hash
		if a.Event == roamsign.AuditSigned {
			signed++
		}
		return nil
	})
	require.NoError(t, err)
	require.NotZero(t, n, "audit log is empty")
	require.NotZero(t, signed, "audit log has no signature")
}

// testNoSecretsInLogs: no PIN or OTP of the tests before it was logged.
// A leak planted in a copy of the logs proves the check sees one.
func testNoSecretsInLogs(t *testing.T, s *suite) {
	if s.Logs == nil {
		t.Skip("deployment exposes no logs")
	}
	logs := s.Logs()
	require.NotEmpty(t, logs, "nothing was logged")
	all := append(s.secrets.all(), PIN.Reveal())
	planted := logs + `{"level":"INFO","msg":"planted","otp":"` + all[0] + `"}` + "\n"
	require.NotEmpty(t, leakcheck.Find(planted, all...), "the leak check missed a planted leak")
	leakcheck.Check(t, "the logs", logs, all...)
}
