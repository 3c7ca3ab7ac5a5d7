package main

import (
	"crypto/x509"
	"encoding/csv"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
)

// readReport returns the rows of a bulk enrolment report by user.
func readReport(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"line", "user", "status", "detail"}, recs[0])
	out := map[string][]string{}
	for _, r := range recs[1:] {
		out[r[1]] = r
	}
	return out
}

// TestBulkEnrol: a CSV of users is enrolled in runs that may be repeated:
// the first makes every key and request, a later one imports the chains
// the CA issued (a bad one fails its row only), and users already done
// are skipped; each run writes a per-row report. A file with a bad row is
// refused whole, before anything is enrolled.
func TestBulkEnrol(t *testing.T) {
	ca := newAgencyCA(t, "Agency")
	flags := prodFlags(t)
	work := t.TempDir()
	csrDir, chainDir := filepath.Join(work, "csr"), filepath.Join(work, "chains")
	require.NoError(t, os.Mkdir(chainDir, 0o700))
	users := []roamsign.UserID{"900101145678", "850715015101", "770202035511"}
	in := writeTemp(t, "users.csv", []byte("user,name,hosts,email,devices,algorithm\n"+
		string(users[0])+",ALIYA BINTI AHMAD,ifmis;epenyata,aliya@agensi.gov.my,fcm:aliya,EC-P256\n"+
		string(users[1])+",\"TAN, AH KOW\",ifmis,tan@agensi.gov.my,,EC-P256\n"+
		string(users[2])+",MUTHU A/L RAMASAMY,ifmis,muthu@agensi.gov.my,,EC-P256\n"))
	report := filepath.Join(work, "report.csv")
	bulk := func(extra ...string) (string, error) {
		t.Helper()
		args := append([]string{"bulk", "enrol", "-csv", in, "-csr-dir", csrDir, "-report", report}, flags...)
		out, errOut, err := runCmd(t, append(args, extra...)...)
		t.Logf("%s%s", out, errOut)
		return out, err
	}

	bad := writeTemp(t, "bad.csv", []byte("user,name,hosts\n900101145678,A,ifmis\n12345,B,ifmis\n"))
	_, _, err := runCmd(t, append([]string{"bulk", "enrol", "-csv", bad, "-csr-dir", csrDir, "-report", report}, flags...)...)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 3")
	assert.NoDirExists(t, csrDir, "a refused file enrolled someone")

	out, err := bulk()
	require.NoError(t, err)
	assert.Contains(t, out, "3 users: 3 requested")
	pubs := map[roamsign.UserID]any{}
	for _, u := range users {
		assert.Equal(t, "requested", readReport(t, report)[string(u)][2])
		b, err := os.ReadFile(filepath.Join(csrDir, string(u)+".csr.pem"))
		require.NoError(t, err)
		blk, _ := pem.Decode(b)
		require.NotNil(t, blk)
		csr, err := x509.ParseCertificateRequest(blk.Bytes)
		require.NoError(t, err)
		pubs[u] = csr.PublicKey
	}

	// The CA answers two of the requests; the third chain names another user.
	for i, u := range users {
		subject := u
		if i == 2 {
			subject = users[0]
		}
		leaf, err := ca.issuing.IssueLeaf("X", string(subject), pubs[u], testpki.LeafOptions{})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(chainDir, string(u)+".pem"), testpki.PEM(leaf, ca.issuing.Cert), 0o600))
	}
	_, err = bulk("-chain-dir", chainDir)
	require.ErrorContains(t, err, "no user CA is configured")
	out, err = bulk("-chain-dir", chainDir, "-user-ca", ca.anchorFile)
	require.Error(t, err, "a failed row sets the exit status")
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, out, "2 imported, 0 already done, 1 failed")
	rep := readReport(t, report)
	assert.Equal(t, "imported", rep[string(users[0])][2])
	assert.Equal(t, "imported", rep[string(users[1])][2])
	assert.Equal(t, "failed", rep[string(users[2])][2])
	assert.Contains(t, rep[string(users[2])][3], "does not carry the user id")

	require.NoError(t, os.Remove(filepath.Join(chainDir, string(users[2])+".pem")))
	out, err = bulk("-chain-dir", chainDir, "-user-ca", ca.anchorFile)
	require.NoError(t, err)
	assert.Contains(t, out, "0 requested, 1 awaiting a chain, 0 imported, 2 already done, 0 failed")
	rep = readReport(t, report)
	assert.Equal(t, "done", rep[string(users[0])][2])
	assert.Equal(t, "awaiting-chain", rep[string(users[2])][2])
}
