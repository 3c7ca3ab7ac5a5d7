package verify

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	pdfsig "github.com/roamsign/roamsign/signer/pdf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stamper is a signer/pdf Timestamper whose tokens come from a test TSA,
// dated at.
type stamper struct {
	tsa *testpki.TSA
	at  time.Time
}

func (s stamper) Timestamp(_ context.Context, data []byte) ([]byte, error) {
	return s.tsa.Token(data, s.at)
}

// ltvFixture is a PAdES document built level by level on p's hierarchy:
// a signature with a signature timestamp (B-T), a /DSS with the CRLs of
// that day (B-LT), then a document timestamp (B-LTA), all by one TSA.
type ltvFixture struct {
	p              *pki
	tsa            *testpki.TSA
	bt, blt, blta  []byte
	crls           [][]byte // the CRLs of the /DSS: root's, then the intermediate's
	signedAt, dtAt time.Time
}

func newLTVFixture(t *testing.T) *ltvFixture {
	t.Helper()
	p := newPKI(t)
	tsa, err := p.inter.NewTSA(testpki.LeafOptions{NotBefore: p.now.Add(-47 * time.Hour)})
	require.NoError(t, err)
	f := &ltvFixture{p: p, tsa: tsa, signedAt: p.now.Add(-10 * time.Minute), dtAt: p.now.Add(-5 * time.Minute)}
	f.bt = signPDF(t, p, pdfxtest.Generate(pdfxtest.Options{AcroForm: true}), pdfsig.Options{Timestamper: stamper{tsa, f.signedAt}})
	for _, ca := range []*testpki.CA{p.root, p.inter} {
		der, err := ca.BuildCRL(testpki.CRLSpec{ThisUpdate: p.now.Add(-time.Hour)})
		require.NoError(t, err)
		f.crls = append(f.crls, der)
	}
	f.blt = withDSS(t, f.bt, f.crls, [][]byte{p.inter.Cert.Raw}, false)
	f.blta = docTimestamp(t, f.blt, tsa, f.dtAt)
	return f
}

// lastExpiry is when the last certificate of the fixture expires.
func (f *ltvFixture) lastExpiry(more ...*x509.Certificate) time.Time {
	last := f.p.root.Cert.NotAfter
	for _, c := range append([]*x509.Certificate{f.p.leaf, f.p.inter.Cert, f.tsa.Cert}, more...) {
		if c.NotAfter.After(last) {
			last = c.NotAfter
		}
	}
	return last
}

// offlineAt is a verifier whose clock reads at, with no network.
func (f *ltvFixture) offlineAt(at time.Time) *Verifier {
	return f.p.verifier(func(c *Config) {
		c.Now = func() time.Time { return at }
		c.Offline = true
	})
}

func dump(res *PDFResult) string {
	js, _ := json.MarshalIndent(res, "", " ")
	return string(js)
}

// TestPDFLevels: each stage reports the level it reaches on the day it
// is made, with the network up.
func TestPDFLevels(t *testing.T) {
	f := newLTVFixture(t)
	v := f.p.verifier()
	for _, c := range []struct {
		name string
		doc  []byte
		want Level
	}{
		{"B-B", signPDF(t, f.p, pdfxtest.Generate(pdfxtest.Options{AcroForm: true}), pdfsig.Options{}), LevelBB},
		{"B-T", f.bt, LevelBT},
		{"B-LT", f.blt, LevelBLT},
		{"B-LTA", f.blta, LevelBLTA},
		{"B-B with a document timestamp is B-T", addDocTimestamp(t, f.p, signPDF(t, f.p, pdfxtest.Generate(pdfxtest.Options{AcroForm: true}), pdfsig.Options{})), LevelBT},
		{"DSS without the intermediate's CRL is B-T", withDSS(t, f.bt, f.crls[:1], [][]byte{f.p.inter.Cert.Raw}, false), LevelBT},
		{"document timestamp before the DSS is B-LT", withDSS(t, docTimestamp(t, f.bt, f.tsa, f.dtAt), f.crls, nil, false), LevelBLT},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := verifyPDF(t, v, c.doc)
			require.Equal(t, Valid, res.Verdict, dump(res))
			assert.Equal(t, c.want, res.Signatures[0].Level, dump(res))
			for _, s := range res.Signatures[1:] {
				assert.Equal(t, KindDocumentTimestamp, s.Kind)
				assert.Empty(t, s.Level)
			}
		})
	}
}

// TestPDFDecade is the decade test: a B-LTA document verified ten years
// after every certificate expired, offline, with the CA's CRL server
// gone, is valid from its own /DSS, and so still B-LTA; the B-T and B-LT
// stages of the same document are indeterminate, as is a B-LTA whose
// document timestamp's authority has no material in the document.
func TestPDFDecade(t *testing.T) {
	f := newLTVFixture(t)
	day1 := verifyPDF(t, f.p.verifier(), f.blta)
	require.Equal(t, Valid, day1.Verdict, dump(day1))

	decade := f.lastExpiry().AddDate(10, 0, 0)
	f.p.srv.Close()
	v := f.offlineAt(decade)
	res := verifyPDF(t, v, f.blta)
	require.Equal(t, Valid, res.Verdict, dump(res))
	sig, ts := res.Signatures[0], res.Signatures[1]
	assert.Equal(t, LevelBLTA, sig.Level)
	assert.Equal(t, TimeSourceTimestamp, sig.TimeSource)
	assert.True(t, sig.TrustedTime.Equal(f.signedAt), "the signer's path at the signature timestamp's time")
	assert.Contains(t, sig.Check(CheckTimestamp).Reason, provenByPOE)
	assert.Contains(t, ts.Check(CheckTimestamp).Reason, provenByDocument)
	for _, in := range sig.Revocation {
		assert.Equal(t, OriginDSS, in.Origin)
	}

	for name, doc := range map[string][]byte{"B-T": f.bt, "B-LT": f.blt} {
		res := verifyPDF(t, v, doc)
		assert.Equal(t, Indeterminate, res.Verdict, "%s: %s", name, dump(res))
		assert.Equal(t, Indeterminate, res.Signatures[0].Check(CheckTimestamp).Verdict, name)
	}

	// A document timestamp by another TSA, whose path the /DSS does not
	// cover: nothing proves it, and it proves nothing.
	other, err := f.p.root.NewIntermediate(testpki.Options{Name: "roamsign Other Intermediate CA", NotBefore: f.p.now.Add(-48 * time.Hour)})
	require.NoError(t, err)
	otherTSA, err := other.NewTSA(testpki.LeafOptions{NotBefore: f.p.now.Add(-47 * time.Hour)})
	require.NoError(t, err)
	foreign := docTimestamp(t, f.blt, otherTSA, f.dtAt)
	otherCRL, err := other.BuildCRL(testpki.CRLSpec{ThisUpdate: f.p.now.Add(-time.Hour)})
	require.NoError(t, err)
	otherDecade := f.lastExpiry(other.Cert, otherTSA.Cert).AddDate(10, 0, 0)
	res = verifyPDF(t, f.offlineAt(otherDecade), foreign)
	assert.Equal(t, Indeterminate, res.Verdict, dump(res))
	assert.Equal(t, Indeterminate, res.Signatures[1].Check(CheckTimestamp).Verdict, dump(res))
	assert.NotEqual(t, LevelBLTA, res.Signatures[0].Level)
	// The same CRL handed over by the caller is not the document's own
	// material: still indeterminate. In the /DSS, before the timestamp, it is.
	supplied := f.p.verifier(func(c *Config) {
		c.Now = func() time.Time { return otherDecade }
		c.Offline = true
		c.Supplied = ValidationData{CRLs: [][]byte{otherCRL}}
	})
	res = verifyPDF(t, supplied, foreign)
	assert.Equal(t, Indeterminate, res.Verdict, dump(res))
	own := docTimestamp(t, withDSS(t, f.bt, append([][]byte{otherCRL}, f.crls...), [][]byte{f.p.inter.Cert.Raw}, false), otherTSA, f.dtAt)
	res = verifyPDF(t, f.offlineAt(otherDecade), own)
	assert.Equal(t, Valid, res.Verdict, dump(res))
	assert.Equal(t, LevelBLTA, res.Signatures[0].Level)
}

// TestPDFRenewal: before the first document timestamp's authority
// expires, a renewal adds the CRLs of that day for it to the /DSS and a
// new document timestamp by a new TSA; twenty years later, offline, the
// document is valid: the new timestamp stands on its own /DSS material,
// proves the old one at its time, which proves the signature timestamp.
func TestPDFRenewal(t *testing.T) {
	f := newLTVFixture(t)
	renewAt := f.tsa.Cert.NotAfter.Add(-30 * 24 * time.Hour)
	tsa2, err := f.p.inter.NewTSA(testpki.LeafOptions{NotBefore: renewAt.Add(-time.Hour)})
	require.NoError(t, err)
	crls := append([][]byte(nil), f.crls...)
	for _, ca := range []*testpki.CA{f.p.root, f.p.inter} {
		der, err := ca.BuildCRL(testpki.CRLSpec{ThisUpdate: renewAt.Add(-time.Hour)})
		require.NoError(t, err)
		crls = append(crls, der)
	}
	renewed := docTimestamp(t, withDSS(t, f.blta, crls, [][]byte{f.p.inter.Cert.Raw}, false), tsa2, renewAt)
	f.p.srv.Close()

	at := renewAt.Add(time.Hour)
	res := verifyPDF(t, f.offlineAt(at), renewed)
	require.Equal(t, Valid, res.Verdict, dump(res))
	require.Len(t, res.Signatures, 3)
	assert.Equal(t, LevelBLTA, res.Signatures[0].Level)

	// Twenty years after every certificate expired.
	later := f.lastExpiry(tsa2.Cert).AddDate(20, 0, 0)
	res = verifyPDF(t, f.offlineAt(later), renewed)
	require.Equal(t, Valid, res.Verdict, dump(res))
	assert.Equal(t, LevelBLTA, res.Signatures[0].Level)
	assert.Contains(t, res.Signatures[1].Check(CheckTimestamp).Reason, provenByPOE, "the first document timestamp is proven by the second")
	assert.Contains(t, res.Signatures[2].Check(CheckTimestamp).Reason, provenByDocument)

	// A renewal made after the first authority's certificate expired
	// proves nothing about the first timestamp: indeterminate.
	late := f.tsa.Cert.NotAfter.Add(30 * 24 * time.Hour)
	tsa3, err := f.p.inter.NewTSA(testpki.LeafOptions{NotBefore: late.Add(-time.Hour)})
	require.NoError(t, err)
	crls = append([][]byte(nil), f.crls...)
	for _, ca := range []*testpki.CA{f.p.root, f.p.inter} {
		der, err := ca.BuildCRL(testpki.CRLSpec{ThisUpdate: late.Add(-time.Hour)})
		require.NoError(t, err)
		crls = append(crls, der)
	}
	tooLate := docTimestamp(t, withDSS(t, f.blta, crls, [][]byte{f.p.inter.Cert.Raw}, false), tsa3, late)
	res = verifyPDF(t, f.offlineAt(f.lastExpiry(tsa3.Cert).AddDate(20, 0, 0)), tooLate)
	assert.Equal(t, Indeterminate, res.Verdict, dump(res))
	assert.Equal(t, Indeterminate, res.Signatures[1].Check(CheckTimestamp).Verdict, dump(res))
	assert.Equal(t, SubOutOfBoundsNoPOE, res.Signatures[1].SubIndication)
}

// TestPDFBLTStale: a B-LT document verified offline once its /DSS CRLs
// are past their nextUpdate, the TSA still valid: the signature
// timestamp's authority cannot be shown valid now and nothing later proves
// the token, so it is indeterminate (try_later); with the CA's current
// CRLs (online) it is valid again.
func TestPDFBLTStale(t *testing.T) {
	f := newLTVFixture(t)
	later := f.p.now.Add(72 * time.Hour)
	res := verifyPDF(t, f.offlineAt(later), f.blt)
	require.Equal(t, Indeterminate, res.Verdict, dump(res))
	assert.Equal(t, SubTryLater, res.Signatures[0].Check(CheckTimestamp).SubIndication)
	for path, ca := range map[string]*testpki.CA{"/root.crl": f.p.root, "/inter.crl": f.p.inter} {
		f.p.publish(path, ca, testpki.CRLSpec{ThisUpdate: later.Add(-time.Hour)})
	}
	online := f.p.verifier(func(c *Config) { c.Now = func() time.Time { return later } })
	res = verifyPDF(t, online, f.blt)
	require.Equal(t, Valid, res.Verdict, dump(res))
	assert.Equal(t, LevelBLT, res.Signatures[0].Level, "the /DSS still holds the material for the signature timestamp's time")
	// B-LTA needs no current status: its document timestamp proves the
	// signature timestamp.
	res = verifyPDF(t, f.offlineAt(later), f.blta)
	require.Equal(t, Valid, res.Verdict, dump(res))
	assert.Equal(t, LevelBLTA, res.Signatures[0].Level)
}
