package tsa_test

import (
	"bytes"
	"context"
	"crypto"
	"testing"

	"github.com/digitorus/timestamp"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/tsa"
)

// BenchmarkStamp is one verified token from a TSA on loopback: request,
// HTTP round trip, the responder's work, and every check of the reply
// (CMS signature, ESS, certificate purpose, path to the root).
// BenchmarkResponder is the responder's work alone (parsing the request,
// its ECDSA signature, encoding), the part no client can save.
func BenchmarkStamp(b *testing.B) {
	p := newPKI(b)
	srv := serve(b, p.responder())
	c := newClient(b, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: srv.URL})
	digest := roamsign.SHA256.Sum([]byte("signature value"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Stamp(context.Background(), tsa.Request{Digest: digest}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponder(b *testing.B) {
	p := newPKI(b)
	r := p.responder()
	req, err := timestamp.CreateRequest(bytes.NewReader([]byte("signature value")), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Respond(req); err != nil {
			b.Fatal(err)
		}
	}
}
