package pdf_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/devtsa"
	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/ltv"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/tsa"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/require"
)

// rawStamper asks a responder for a token and returns it unchecked, so
// that only signer/pdf's own checks stand between a bad token and the
// document. mangle, when set, changes the digest asked for or the token.
type rawStamper struct {
	r      *devtsa.Responder
	digest func([]byte) []byte
	token  func([]byte) []byte
}

func (s rawStamper) TimestampDigest(_ context.Context, h roamsign.HashAlgorithm, digest []byte) ([]byte, error) {
	if s.digest != nil {
		digest = s.digest(digest)
	}
	req, err := (&timestamp.Request{HashAlgorithm: h.CryptoHash(), HashedMessage: digest, Certificates: true, Nonce: big.NewInt(7)}).Marshal()
	if err != nil {
		return nil, err
	}
	resp, err := s.r.Respond(req)
	if err != nil {
		return nil, err
	}
	ts, err := timestamp.ParseResponse(resp)
	if err != nil {
		return nil, err
	}
	if s.token != nil {
		return s.token(ts.RawToken), nil
	}
	return ts.RawToken, nil
}

// TestDocumentTimestampRefusesBadTokens: a token that does not cover the
// document, does not verify, is signed by a certificate that is not a
// TSA's, or whose TSA does not chain to the anchors is never embedded,
// whatever the time-stamper checked; and the faults of package tsa
// (authority down, slow, wrong nonce, quota) give a clear error, or fail
// over to the next authority.
func TestDocumentTimestampRefusesBadTokens(t *testing.T) {
	f := ltvtest.New(t)
	bt := f.BT(t, ltvtest.Document())
	other, err := testpki.NewRoot(testpki.Options{Name: "Other Root"})
	require.NoError(t, err)
	otherTSA, err := other.NewTSA(testpki.LeafOptions{})
	require.NoError(t, err)
	notTSA, err := f.CA.IssueLeaf("NOT A TSA", "800101145678", f.Key.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	good := f.TSA.Responder()
	cases := map[string]struct {
		ts   pdf.DigestTimestamper
		kind roamsign.Kind
	}{
		"wrong imprint": {rawStamper{r: good, digest: func(d []byte) []byte {
			return append([]byte{d[0] ^ 1}, d[1:]...)
		}}, roamsign.ErrInvalidSignature},
		"broken signature": {rawStamper{r: good, token: func(tok []byte) []byte {
			b := bytes.Clone(tok)
			b[len(b)-1] ^= 1
			return b
		}}, roamsign.ErrInvalidSignature},
		"not a TSA certificate": {rawStamper{r: &devtsa.Responder{Cert: notTSA, Key: f.Key, Chain: f.CA.Chain()[:1]}}, roamsign.ErrInvalidSignature},
		"TSA of another root":   {rawStamper{r: otherTSA.Responder()}, roamsign.ErrInvalidSignature},
		"TSA down":              {client(t, f, closedURL(t)), roamsign.ErrUnavailable},
		"TSA slow": {client(t, f, serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client go
			<-r.Context().Done()
		}))), roamsign.ErrUnavailable},
		"wrong nonce": {client(t, f, serve(t, &devtsa.Responder{Cert: f.TSA.Cert, Key: f.TSA.Key, Chain: f.CA.Chain()[:1],
			Tamper: func(ts *timestamp.Timestamp) { ts.Nonce = big.NewInt(1) }})), roamsign.ErrUnavailable},
		"quota": {client(t, f, serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60")
			http.Error(w, "quota", http.StatusTooManyRequests)
		}))), roamsign.ErrRateLimited},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := pdf.AddDocumentTimestamp(context.Background(), bytes.NewReader(bt), int64(len(bt)), &out,
				pdf.TimestampOptions{Timestamper: c.ts, Validator: f.Validator})
			require.ErrorIs(t, err, c.kind)
			require.Zero(t, out.Len(), "output written despite %v", err)
		})
	}
	t.Run("fail-over", func(t *testing.T) {
		c := client(t, f, closedURL(t), f.TSAServer.URL)
		var out bytes.Buffer
		rep, err := pdf.AddDocumentTimestamp(context.Background(), bytes.NewReader(bt), int64(len(bt)), &out,
			pdf.TimestampOptions{Timestamper: c, Validator: f.Validator})
		require.NoError(t, err)
		require.True(t, rep.Changed)
		require.Len(t, timestampTokens(t, out.Bytes()), 2)
	})
	t.Run("too small a reservation is made again", func(t *testing.T) {
		var out bytes.Buffer
		_, err := pdf.AddDocumentTimestamp(context.Background(), bytes.NewReader(bt), int64(len(bt)), &out,
			pdf.TimestampOptions{Timestamper: f.Client, Validator: f.Validator, ContentsSize: 100})
		require.NoError(t, err)
		v, err := verify.New(verify.Config{Anchors: f.Anchors()})
		require.NoError(t, err)
		doc := out.Bytes()
		res, err := v.VerifyPDF(context.Background(), verify.PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
		require.NoError(t, err)
		require.Equal(t, verify.Valid, res.Signatures[1].Verdict, "%+v", res.Signatures[1].Failed())
	})
}

// TestLTVRefusesUnvalidatedMaterial: material is embedded only when the
// validator accepts the path; a path it refuses fails the call and
// nothing is written.
func TestLTVRefusesUnvalidatedMaterial(t *testing.T) {
	f := ltvtest.New(t)
	bt := f.BT(t, ltvtest.Document())
	other, err := testpki.NewRoot(testpki.Options{Name: "Other Root"})
	require.NoError(t, err)
	v, err := ltv.New(verify.Config{Anchors: []*x509.Certificate{other.Cert}})
	require.NoError(t, err)
	var out bytes.Buffer
	_, err = pdf.AddLTV(context.Background(), bytes.NewReader(bt), int64(len(bt)), &out, pdf.LTVOptions{Validator: v})
	require.ErrorIs(t, err, roamsign.ErrInvalidSignature)
	require.Zero(t, out.Len())

	// Material that does not parse is refused too, and so is a
	// certificate given as a CRL after the same bytes were embedded as a
	// certificate (what parsed as a certificate is not taken for a CRL).
	_, err = pdf.AddLTV(context.Background(), bytes.NewReader(bt), int64(len(bt)), &out, pdf.LTVOptions{Validator: garbage{[]byte("not a CRL")}})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	require.Zero(t, out.Len())
	rep, err := pdf.AddLTV(context.Background(), bytes.NewReader(bt), int64(len(bt)), io.Discard, pdf.LTVOptions{Validator: f.Validator})
	require.NoError(t, err)
	require.True(t, rep.Changed)
	_, err = pdf.AddLTV(context.Background(), bytes.NewReader(bt), int64(len(bt)), &out, pdf.LTVOptions{Validator: garbage{f.CA.Cert.Raw}})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	require.Zero(t, out.Len())

	// B-LT is built on B-T.
	bb := signBB(t, f)
	_, err = pdf.AddLTV(context.Background(), bytes.NewReader(bb), int64(len(bb)), &out, pdf.LTVOptions{Validator: f.Validator})
	require.ErrorIs(t, err, pdf.ErrNoSignatureTimestamp)
	require.True(t, errors.Is(err, roamsign.ErrInvalidInput))
	doc := ltvtest.Document()
	_, err = pdf.AddLTV(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out, pdf.LTVOptions{Validator: f.Validator})
	require.ErrorIs(t, err, pdf.ErrNoSignature)
}

// garbage is a validator whose material is one CRL that is not a CRL.
type garbage struct{ crl []byte }

func (g garbage) ValidateChain(context.Context, pdf.ChainRequest) (*pdf.ValidationData, error) {
	return &pdf.ValidationData{CRLs: [][]byte{g.crl}}, nil
}

func signBB(t testing.TB, f *ltvtest.Fixture) []byte {
	t.Helper()
	doc := ltvtest.Document()
	var out bytes.Buffer
	require.NoError(t, pdf.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out, f.Key, f.Chain, pdf.Options{}))
	return out.Bytes()
}

// client returns a tsa.Client of the given authorities, in order, with
// a short timeout.
func client(t testing.TB, f *ltvtest.Fixture, urls ...string) *tsa.Client {
	t.Helper()
	var list []tsa.TSA
	for _, u := range urls {
		list = append(list, tsa.TSA{URL: u})
	}
	c, err := tsa.New(tsa.Config{TSAs: list, Chain: tsa.Roots(f.Root.Pool()), Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	return c
}

func serve(t testing.TB, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func closedURL(t testing.TB) string {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	return s.URL
}
