package tsa

import (
	"context"

	"github.com/roamsign/roamsign"
)

// TimestampDigest returns the DER time-stamp token over digest, a hash h
// of data the caller streamed itself (a PDF document time-stamp covers the
// whole file, which is never held in memory). The token is verified as
// [Client.Stamp] says.
func (c *Client) TimestampDigest(ctx context.Context, h roamsign.HashAlgorithm, digest []byte) ([]byte, error) {
	tok, err := c.Stamp(ctx, Request{Hash: h, Digest: digest})
	if err != nil {
		return nil, err
	}
	return tok.DER, nil
}

// TokenSizeHint returns the size in bytes of the largest token this
// client has obtained, zero before the first: what a signer reserves for
// the next one (plus a margin), instead of a fixed guess.
func (c *Client) TokenSizeHint() int { return int(c.largest.Load()) }

// noteSize records the size of a token obtained.
func (c *Client) noteSize(n int) {
	for {
		old := c.largest.Load()
		if int64(n) <= old || c.largest.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}
