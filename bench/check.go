package bench

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/verify"
)

// CheckRaw verifies every raw signature of res against its leaf
// certificate (see [CheckRawSignature]).
func CheckRaw(res *roamsign.SignResponse, hashes []roamsign.Hash) error {
	const op = "bench.CheckRaw"
	if res == nil || len(res.Chain) == 0 {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "no certificate chain")
	}
	if len(res.Items) != len(hashes) {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "%d items for %d hashes", len(res.Items), len(hashes))
	}
	leaf, err := parseLeaf(op, res.Chain)
	if err != nil {
		return err
	}
	for i, it := range res.Items {
		if it.Status != roamsign.ItemSigned {
			continue
		}
		if it.Index != i {
			return roamsign.E(roamsign.ErrInvalidSignature, op, "item %d has index %d", i, it.Index)
		}
		if err := checkRaw(op, leaf, hashes[i], it.Signature); err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, fmt.Sprintf("item %d", i))
		}
	}
	return nil
}

// CheckRawSignature verifies one raw signature over h against the leaf
// certificate of chain with [verify.VerifyDigestSignature]
// (RSASSA-PKCS1-v1_5 for RSA keys, ASN.1 ECDSA for EC keys): the host-side
// check, independent of the server's own self-check.
func CheckRawSignature(chain [][]byte, h roamsign.Hash, sig []byte) error {
	const op = "bench.CheckRawSignature"
	leaf, err := parseLeaf(op, chain)
	if err != nil {
		return err
	}
	return checkRaw(op, leaf, h, sig)
}

func parseLeaf(op string, chain [][]byte) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidSignature, op, "no certificate chain")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "leaf certificate")
	}
	return leaf, nil
}

func checkRaw(op string, leaf *x509.Certificate, h roamsign.Hash, sig []byte) error {
	if err := verify.VerifyDigestSignature(leaf.PublicKey, h.Algorithm.CryptoHash(), h.Value, sig, false); err != nil {
		return roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "")
	}
	return nil
}

// Mailbox reads OTPs from a development mailbox: a URL answering GET with a
// JSON array of messages {"to","subject","body"}, as the example server's
// /dev/mailbox.json does. It finds the message carrying the challenge's
// verification code and takes the first "OTP ...: value" line.
type Mailbox struct {
	URL    string
	Client *http.Client
	// Wait bounds the polling for one OTP; default 10 seconds.
	Wait time.Duration
}

var (
	otpLine   = regexp.MustCompile(`(?m)OTP[^:\n]*:\s*(\S+)`)
	vcodeLine = regexp.MustCompile(`(?mi)^\s*verification code:\s*(\S+)\s*$`)
)

// OTP implements [OTPSource].
func (m *Mailbox) OTP(ctx context.Context, _ roamsign.UserID, ch *roamsign.OTPResponse) (roamsign.Secret, error) {
	const op = "bench.Mailbox.OTP"
	wait := m.Wait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		code, err := m.find(ctx, ch.VerificationCode)
		if err != nil || code != "" {
			return roamsign.Secret(code), err
		}
		select {
		case <-ctx.Done():
			return "", roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "no OTP in the mailbox for challenge "+ch.ChallengeID)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (m *Mailbox) find(ctx context.Context, vcode string) (string, error) {
	const op = "bench.Mailbox.OTP"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL, nil)
	if err != nil {
		return "", roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "mailbox URL")
	}
	c := m.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", roamsign.Wrap(roamsign.ErrUnavailable, op, err, "mailbox")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", roamsign.E(roamsign.ErrUnavailable, op, "mailbox answered %s", resp.Status)
	}
	var msgs []struct {
		Time time.Time `json:"time"`
		Body string    `json:"body"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&msgs); err != nil {
		return "", roamsign.Wrap(roamsign.ErrUnavailable, op, err, "mailbox JSON")
	}
	// Verification codes are short and repeat; among the messages carrying
	// this one, the newest is the challenge's (the mailbox's order is not
	// relied on).
	best, bestAt := "", time.Time{}
	for _, m := range msgs {
		if vcode != "" {
			sm := vcodeLine.FindStringSubmatch(m.Body)
			if sm == nil || sm[1] != vcode {
				continue
			}
		}
		if sm := otpLine.FindStringSubmatch(m.Body); sm != nil && (best == "" || m.Time.After(bestAt)) {
			best, bestAt = sm[1], m.Time
		}
	}
	if best != "" {
		return best, nil
	}
	return "", nil
}
