package cms_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/cms"
	"github.com/roamsign/roamsign/tsa"
	"github.com/roamsign/roamsign/verify"
)

// ltPKI is a hierarchy publishing its CRLs over HTTP, a signer and a TSA
// answering over HTTP, as a B-LT signature needs them.
type ltPKI struct {
	*pki
	crls   *testpki.CRLServer
	leaf   *x509.Certificate
	key    *ecdsa.PrivateKey
	tsa    *testpki.TSA
	client *tsa.Client
}

func newLTPKI(t *testing.T) *ltPKI {
	t.Helper()
	srv := testpki.NewCRLServer()
	t.Cleanup(srv.Close)
	root, err := testpki.NewRoot(testpki.Options{CRLURL: srv.URLFor("/root.crl")})
	require.NoError(t, err)
	inter, err := root.NewIntermediate(testpki.Options{CRLURL: srv.URLFor("/inter.crl")})
	require.NoError(t, err)
	for path, ca := range map[string]*testpki.CA{"/root.crl": root, "/inter.crl": inter} {
		der, err := ca.BuildCRL(testpki.CRLSpec{})
		require.NoError(t, err)
		srv.Set(path, der)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := inter.IssueLeaf("ALI BIN ABU", "900101145678", key.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	ts, err := inter.NewTSA(testpki.LeafOptions{})
	require.NoError(t, err)
	tsaSrv := httptest.NewServer(ts.Responder())
	t.Cleanup(tsaSrv.Close)
	client, err := tsa.New(tsa.Config{TSAs: []tsa.TSA{{URL: tsaSrv.URL}}, Chain: tsa.Roots(root.Pool())})
	require.NoError(t, err)
	return &ltPKI{pki: &pki{root: root, inter: inter}, crls: srv, leaf: leaf, key: key, tsa: ts, client: client}
}

// TestBLT builds CAdES-B-T with a TSA over HTTP, then CAdES-B-LT with the
// material package verify used (verify reports B-LT), and checks that ten
// years after every certificate expired, offline, with the CRL server
// gone, it is indeterminate rather than valid; openssl accepts every
// stage.
func TestBLT(t *testing.T) {
	p := newLTPKI(t)
	ctx := context.Background()
	content := []byte("Akuan Terima: invoice 2026/117, RM 9,800.00")
	sig, err := cms.Sign(ctx, p.key, bytes.NewReader(content), []*x509.Certificate{p.leaf, p.inter.Cert}, cms.Options{})
	require.NoError(t, err)
	bt, err := cms.AddSignatureTimestamp(ctx, sig, p.client)
	require.NoError(t, err)
	mustVerify(t, p.pki, bt, content)
	opensslTSVerify(t, p, bt)

	v, err := verify.New(verify.Config{Anchors: []*x509.Certificate{p.root.Cert}})
	require.NoError(t, err)
	rs, err := v.VerifyCMS(ctx, verify.CMSRequest{Signature: bt, Content: content})
	require.NoError(t, err)
	require.Equal(t, verify.Valid, rs[0].Verdict, "%+v", rs[0].Checks)
	assert.Equal(t, verify.LevelBT, rs[0].Level)
	// The TSA's own path and evidence, from a verifier for time-stamping
	// certificates.
	tv, err := verify.New(verify.Config{Anchors: []*x509.Certificate{p.root.Cert},
		KeyUsage: x509.KeyUsageDigitalSignature, AllowedEKUs: []asn1.ObjectIdentifier{verify.OIDEKUTimeStamping}})
	require.NoError(t, err)
	tr := tv.VerifyChain(ctx, verify.ChainRequest{Leaf: p.tsa.Cert, Intermediates: []*x509.Certificate{p.inter.Cert}})
	require.Equal(t, verify.Valid, tr.Verdict, "%+v", tr.Checks)

	certs := append(append([][]byte(nil), rs[0].Validation.Certificates...), tr.Validation.Certificates...)
	lt, err := cms.AddCertificates(bt, certs)
	require.NoError(t, err)
	lt, err = cms.AddRevocationInfo(lt, append(rs[0].Validation.CRLs, tr.Validation.CRLs...), nil)
	require.NoError(t, err)
	mustVerify(t, p.pki, lt, content)
	opensslTSVerify(t, p, lt)

	sd, err := icms.ParseSignedData("test", lt, cms.MaxCMSSize)
	require.NoError(t, err)
	for _, c := range []*x509.Certificate{p.leaf, p.inter.Cert, p.root.Cert, p.tsa.Cert} {
		assert.Contains(t, sd.Certificates, c.Raw, c.Subject.CommonName)
	}
	assert.Len(t, sd.Certificates, 4, "each certificate once")
	assert.Len(t, sd.CRLs, 2)
	assert.Equal(t, sd.SignerInfos[0].Signature, mustSignatureValue(t, bt))

	rs, err = v.VerifyCMS(ctx, verify.CMSRequest{Signature: lt, Content: content})
	require.NoError(t, err)
	require.Equal(t, verify.Valid, rs[0].Verdict, "%+v", rs[0].Checks)
	assert.Equal(t, verify.LevelBLT, rs[0].Level)

	// Ten years after the last certificate expired, offline: nothing
	// proves that the signature timestamp existed while its authority was
	// valid (that takes an archive timestamp), so it cannot be valid,
	// with or without the B-LT material.
	later := p.root.Cert.NotAfter.AddDate(10, 0, 0)
	p.crls.Close()
	archive, err := verify.New(verify.Config{Anchors: []*x509.Certificate{p.root.Cert}, Offline: true, Now: func() time.Time { return later }})
	require.NoError(t, err)
	for _, sig := range [][]byte{lt, bt} {
		rs, err = archive.VerifyCMS(ctx, verify.CMSRequest{Signature: sig, Content: content})
		require.NoError(t, err)
		assert.Equal(t, verify.Indeterminate, rs[0].Verdict, "%+v", rs[0].Checks)
	}
}

func mustSignatureValue(t *testing.T, der []byte) []byte {
	t.Helper()
	sv, err := cms.SignatureValue(der)
	require.NoError(t, err)
	return sv
}

// opensslTSVerify checks the signature-time-stamp token of a CMS
// signature with `openssl ts -verify` against its signature value.
func opensslTSVerify(t *testing.T, p *ltPKI, der []byte) {
	t.Helper()
	sd, err := icms.ParseSignedData("test", der, cms.MaxCMSSize)
	require.NoError(t, err)
	a := icms.Attr(sd.SignerInfos[0].UnsignedAttrs, icms.RawAttrTimestampToken)
	require.NotNil(t, a)
	sum := sha256.Sum256(sd.SignerInfos[0].Signature)
	testpki.OpenSSLVerifyToken(t, a.Values[0], sum[:], []*x509.Certificate{p.root.Cert}, []*x509.Certificate{p.inter.Cert})
}

type stampFunc func(ctx context.Context, data []byte) ([]byte, error)

func (f stampFunc) Timestamp(ctx context.Context, data []byte) ([]byte, error) { return f(ctx, data) }

// TestCompleteTimestamped: a prepared signature completed with its
// signature time-stamp in one step is CAdES-B-T (openssl and verify accept
// it and the token), carries the token returned beside it, and is refused
// as Complete and AddSignatureTimestamp refuse: a signature that does not
// verify (before any TSA is asked), no Timestamper, a TSA's error, a token
// over other data.
func TestCompleteTimestamped(t *testing.T) {
	p := newLTPKI(t)
	ctx := context.Background()
	content := []byte("Akuan Terima: invoice 2026/118, RM 1,200.00")
	prep, err := cms.Prepare(roamsign.SHA256.Sum(content), []*x509.Certificate{p.leaf, p.inter.Cert}, cms.Options{})
	require.NoError(t, err)
	sig, err := p.key.Sign(rand.Reader, prep.Digest(), prep.SignerOpts())
	require.NoError(t, err)

	der, token, err := prep.CompleteTimestamped(ctx, sig, p.client)
	require.NoError(t, err)
	mustVerify(t, p.pki, der, content)
	opensslTSVerify(t, p, der)
	sd, err := icms.ParseSignedData("test", der, cms.MaxCMSSize)
	require.NoError(t, err)
	require.Equal(t, token, []byte(icms.Attr(sd.SignerInfos[0].UnsignedAttrs, icms.RawAttrTimestampToken).Values[0]))
	v, err := verify.New(verify.Config{Anchors: []*x509.Certificate{p.root.Cert}})
	require.NoError(t, err)
	rs, err := v.VerifyCMS(ctx, verify.CMSRequest{Signature: der, Content: content})
	require.NoError(t, err)
	require.Equal(t, verify.Valid, rs[0].Verdict, "%+v", rs[0].Checks)
	assert.Equal(t, verify.LevelBT, rs[0].Level)

	called := false
	_, _, err = prep.CompleteTimestamped(ctx, append([]byte{}, sig[:len(sig)-1]...), stampFunc(func(context.Context, []byte) ([]byte, error) {
		called = true
		return nil, nil
	}))
	require.ErrorIs(t, err, roamsign.ErrInvalidSignature)
	assert.False(t, called, "no time-stamp for a signature that does not verify")
	_, _, err = prep.CompleteTimestamped(ctx, sig, nil)
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	_, _, err = prep.CompleteTimestamped(ctx, sig, stampFunc(func(context.Context, []byte) ([]byte, error) {
		return nil, roamsign.E(roamsign.ErrRateLimited, "test", "quota")
	}))
	require.ErrorIs(t, err, roamsign.ErrRateLimited)
	_, _, err = prep.CompleteTimestamped(ctx, sig, stampFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
		return p.client.Timestamp(ctx, []byte("another signature"))
	}))
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
}

func TestAddSignatureTimestampRefuses(t *testing.T) {
	p := newLTPKI(t)
	ctx := context.Background()
	sig, err := cms.SignDigest(ctx, p.key, roamsign.SHA256.Sum(nil), []*x509.Certificate{p.leaf, p.inter.Cert}, cms.Options{})
	require.NoError(t, err)
	_, err = cms.AddSignatureTimestamp(ctx, sig, nil)
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	_, err = cms.AddSignatureTimestamp(ctx, sig, stampFunc(func(context.Context, []byte) ([]byte, error) {
		return nil, roamsign.E(roamsign.ErrRateLimited, "test", "quota")
	}))
	require.ErrorIs(t, err, roamsign.ErrRateLimited)
	// A token over other data is refused.
	_, err = cms.AddSignatureTimestamp(ctx, sig, stampFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
		return p.client.Timestamp(ctx, []byte("another signature"))
	}))
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	_, err = cms.AddSignatureTimestamp(ctx, []byte("not CMS"), p.client)
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)

	// A token in BER (here its outer SEQUENCE of indefinite length) is
	// accepted and written in DER.
	var tokenDER []byte
	bt, err := cms.AddSignatureTimestamp(ctx, sig, stampFunc(func(ctx context.Context, data []byte) ([]byte, error) {
		tok, err := p.client.Timestamp(ctx, data)
		if err != nil {
			return nil, err
		}
		tokenDER = tok
		s := cryptobyte.String(tok)
		var body cryptobyte.String
		require.True(t, s.ReadASN1(&body, cbasn1.SEQUENCE))
		return append(append([]byte{0x30, 0x80}, body...), 0, 0), nil
	}))
	require.NoError(t, err)
	sd, err := icms.ParseSignedData("test", bt, cms.MaxCMSSize)
	require.NoError(t, err)
	require.False(t, sd.BER)
	require.Equal(t, tokenDER, []byte(icms.Attr(sd.SignerInfos[0].UnsignedAttrs, icms.RawAttrTimestampToken).Values[0]))
}

func TestAddCertificates(t *testing.T) {
	p := newLTPKI(t)
	sig, err := cms.SignDigest(context.Background(), p.key, roamsign.SHA256.Sum(nil), []*x509.Certificate{p.leaf, p.inter.Cert}, cms.Options{})
	require.NoError(t, err)
	same, err := cms.AddCertificates(sig, [][]byte{p.leaf.Raw, p.inter.Cert.Raw})
	require.NoError(t, err)
	assert.Equal(t, sig, same, "nothing new, nothing changed")
	withCRL, err := cms.AddRevocationInfo(sig, [][]byte{mustCRL(t, p.inter)}, nil)
	require.NoError(t, err)
	more, err := cms.AddCertificates(withCRL, [][]byte{p.root.Cert.Raw})
	require.NoError(t, err)
	sd, err := icms.ParseSignedData("test", more, cms.MaxCMSSize)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{p.leaf.Raw, p.inter.Cert.Raw, p.root.Cert.Raw}, toBytes(sd.Certificates), "order kept, signer first")
	assert.Len(t, sd.CRLs, 1, "revocation information kept")

	_, err = cms.AddCertificates(sig, [][]byte{[]byte("not a certificate")})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	_, err = cms.AddCertificates(sig[:len(sig)-1], nil)
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	var many [][]byte
	for range icms.MaxCertificates {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		c, err := p.inter.IssueLeaf("X", "900101145678", k.Public(), testpki.LeafOptions{})
		require.NoError(t, err)
		many = append(many, c.Raw)
	}
	_, err = cms.AddCertificates(sig, many)
	require.True(t, errors.Is(err, roamsign.ErrTooLarge), "%v", err)
}

func mustCRL(t *testing.T, ca *testpki.CA) []byte {
	der, err := ca.BuildCRL(testpki.CRLSpec{})
	require.NoError(t, err)
	return der
}

func toBytes[T ~[]byte](in []T) [][]byte {
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = b
	}
	return out
}

// FuzzAddCertificates: any input is refused with a typed error or gives a
// SignedData that parses, with the same signers.
func FuzzAddCertificates(f *testing.F) {
	p := ecPKI(f)
	sig, err := cms.SignDigest(context.Background(), p.keys["p256"], roamsign.SHA256.Sum(nil), p.chains["p256"], cms.Options{})
	require.NoError(f, err)
	f.Add(sig)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := cms.AddCertificates(data, [][]byte{p.root.Cert.Raw})
		if err != nil {
			if roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		before, _ := icms.ParseSignedData("fuzz", data, cms.MaxCMSSize)
		after, err := icms.ParseSignedData("fuzz", out, cms.MaxCMSSize)
		if err != nil || len(after.SignerInfos) != len(before.SignerInfos) {
			t.Fatalf("result does not parse the same: %v", err)
		}
	})
}

// A detached CAdES-B-B signature made CAdES-B-T by a time-stamping
// authority through package tsa, which verifies the token first.
func ExampleAddSignatureTimestamp() {
	ctx := context.Background()
	key, leaf, client, done, err := exampleSignerAndTSA()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	sig, _ := cms.Sign(ctx, key, strings.NewReader("payment voucher PV2026/000123"), []*x509.Certificate{leaf}, cms.Options{})
	bt, err := cms.AddSignatureTimestamp(ctx, sig, client)
	if err != nil {
		fmt.Println(err)
		return
	}
	before, _ := cms.SignatureValue(sig)
	after, _ := cms.SignatureValue(bt)
	fmt.Println("signature unchanged:", bytes.Equal(before, after))
	fmt.Println("time-stamped:", len(bt) > len(sig))
	// Output:
	// signature unchanged: true
	// time-stamped: true
}

// A host completes a remote signature as CAdES-B-T in one step: the
// signature is checked, then time-stamped by an authority through package
// tsa, which verifies the token first.
func ExamplePrepared_CompleteTimestamped() {
	ctx := context.Background()
	key, leaf, client, done, err := exampleSignerAndTSA() // key: held by the remote service
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	prep, err := cms.Prepare(roamsign.SHA256.Sum([]byte("payment voucher PV2026/000124")), []*x509.Certificate{leaf}, cms.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	signature, _ := key.Sign(rand.Reader, prep.Digest(), prep.SignerOpts()) // the remote signature
	der, token, err := prep.CompleteTimestamped(ctx, signature, client)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("signed:", len(der) > len(token), "time-stamped:", len(token) > 0)
	// Output: signed: true time-stamped: true
}

// exampleSignerAndTSA returns the examples' signer (a key and its
// certificate from a test root) and a tsa.Client of a time-stamping
// authority of the same root, served over HTTP until done is called.
func exampleSignerAndTSA() (key *ecdsa.PrivateKey, leaf *x509.Certificate, client *tsa.Client, done func(), err error) {
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, nil, nil, nil, err
	}
	if leaf, err = root.IssueLeaf("ALI BIN ABU", "900101145678", key.Public(), testpki.LeafOptions{}); err != nil {
		return nil, nil, nil, nil, err
	}
	authority, err := root.NewTSA(testpki.LeafOptions{})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	srv := httptest.NewServer(authority.Responder())
	if client, err = tsa.New(tsa.Config{TSAs: []tsa.TSA{{URL: srv.URL}}, Chain: tsa.Roots(root.Pool())}); err != nil {
		srv.Close()
		return nil, nil, nil, nil, err
	}
	return key, leaf, client, srv.Close, nil
}
