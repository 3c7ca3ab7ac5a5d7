package pdf

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/digitorus/timestamp"
	"github.com/roamsign/roamsign"
	"github.com/stretchr/testify/require"
)

func TestTSAClient(t *testing.T) {
	p := newPKI(t)
	tsa := newTSA(t, p)
	c := &TSAClient{URL: tsa.URL}
	tok, err := c.Timestamp(context.Background(), []byte("signature value"))
	require.NoError(t, err)
	ts, err := timestamp.Parse(tok)
	require.NoError(t, err)
	want := sha256.Sum256([]byte("signature value"))
	if ts.HashAlgorithm != crypto.SHA256 || string(ts.HashedMessage) != string(want[:]) {
		t.Fatal("token does not cover the data")
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("not a response"))
	}))
	defer bad.Close()
	if _, err := (&TSAClient{URL: bad.URL}).Timestamp(context.Background(), []byte("x")); !errors.Is(err, roamsign.ErrInvalidSignature) {
		t.Fatalf("garbage response: err = %v", err)
	}
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 5000))
	}))
	defer big.Close()
	if _, err := (&TSAClient{URL: big.URL, MaxResponse: 1000}).Timestamp(context.Background(), []byte("x")); !errors.Is(err, roamsign.ErrTooLarge) {
		t.Fatalf("oversized response: err = %v", err)
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	if _, err := (&TSAClient{URL: down.URL}).Timestamp(context.Background(), []byte("x")); !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("TSA down: err = %v", err)
	}
}
