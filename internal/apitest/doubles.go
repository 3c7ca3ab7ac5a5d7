package apitest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/service"
)

// ChallengeStore is the store subset [MemChallenger] uses (store contract
// signatures).
type ChallengeStore interface {
	CreateChallenge(ctx context.Context, c *roamsign.ChallengeRecord) error
	GetChallenge(ctx context.Context, id string) (*roamsign.ChallengeRecord, error)
	MarkDelivered(ctx context.Context, id string, ch roamsign.Channel, sentTo string) error
}

// MemChallenger is a test [service.Challenger]: it stores challenges with
// an HMAC of the OTP (never the OTP) and "delivers" the OTP into an
// in-memory outbox that tests read, standing in for package otp.
type MemChallenger struct {
	Store ChallengeStore
	TTL   time.Duration // default 5 minutes
	Tries int           // default 3
	Now   func() time.Time
	// OTPOnly makes CheckOTP compare the OTP alone, ignoring the nonce and
	// the hashes it is given, as a challenger that leaves the binding to
	// its caller would. The in-memory deployments use it, so that the
	// conformance suite proves the service binds nonce and hashes itself.
	OTPOnly bool

	key    [32]byte
	mu     sync.Mutex
	outbox map[roamsign.UserID]string
}

var _ service.Challenger = (*MemChallenger)(nil)

// NewMemChallenger returns a challenger over st.
func NewMemChallenger(st ChallengeStore) *MemChallenger {
	c := &MemChallenger{Store: st, outbox: map[roamsign.UserID]string{}}
	_, _ = rand.Read(c.key[:])
	return c
}

func (c *MemChallenger) mac(id string, nonce []byte, otp string, digest [32]byte) []byte {
	m := hmac.New(sha256.New, c.key[:])
	for _, p := range [][]byte{[]byte(id), nonce, []byte(otp), digest[:]} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

func (c *MemChallenger) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Issue creates and "delivers" a challenge.
func (c *MemChallenger) Issue(ctx context.Context, spec service.ChallengeSpec) (*roamsign.OTPResponse, error) {
	var rb [16]byte
	nonce := make([]byte, 16)
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	var ob [4]byte
	if _, err := rand.Read(ob[:]); err != nil {
		return nil, err
	}
	otp := fmt.Sprintf("%06d", binary.BigEndian.Uint32(ob[:])%1000000)
	id := base64.RawURLEncoding.EncodeToString(rb[:])
	digest := roamsign.HashListDigest(spec.Hashes)
	ttl, tries := c.TTL, c.Tries
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	if tries == 0 {
		tries = 3
	}
	now := c.now()
	rec := &roamsign.ChallengeRecord{
		ID: id, User: spec.User.ID, Host: spec.Host, KeyRef: spec.User.KeyRef, Nonce: nonce, MAC: c.mac(id, nonce, otp, digest),
		HashList: digest, Count: len(spec.Hashes), DataHeader: spec.DataHeader,
		CreatedAt: now, ExpiresAt: now.Add(ttl), MaxTries: tries,
	}
	if err := c.Store.CreateChallenge(ctx, rec); err != nil {
		return nil, err
	}
	sentTo := "a***@example.test"
	if err := c.Store.MarkDelivered(ctx, id, roamsign.ChannelEmail, sentTo); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.outbox[spec.User.ID] = otp
	c.mu.Unlock()
	vc := sha256.Sum256(append(append([]byte{}, nonce...), digest[:]...))
	return &roamsign.OTPResponse{
		ChallengeID: id, Nonce: nonce, ExpiresAt: rec.ExpiresAt, Channel: roamsign.ChannelEmail,
		SentTo: sentTo, VerificationCode: hex.EncodeToString(vc[:2]),
	}, nil
}

// CheckOTP compares otp (bound to nonce and hashes unless OTPOnly) against
// the challenge's MAC. The service has
// taken the attempt's try of the challenge; OTP failures per user are
// package otp's policy and not kept here.
func (c *MemChallenger) CheckOTP(ctx context.Context, id string, nonce []byte, otp string, hashes []roamsign.Hash) error {
	rec, err := c.Store.GetChallenge(ctx, id)
	if err != nil {
		return err
	}
	if rec.Consumed {
		return roamsign.E(roamsign.ErrUsed, "memchallenger.CheckOTP", "used")
	}
	digest := roamsign.HashListDigest(hashes)
	if c.OTPOnly {
		nonce, digest = rec.Nonce, rec.HashList
	}
	if !hmac.Equal(rec.MAC, c.mac(id, nonce, otp, digest)) {
		return roamsign.E(roamsign.ErrAuthorization, "memchallenger.CheckOTP", "mismatch")
	}
	return nil
}

// LastOTP returns the last OTP "delivered" to user.
func (c *MemChallenger) LastOTP(user roamsign.UserID) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outbox[user]
}

// SoftKeys is an in-memory [service.KeyStore] for tests without an HSM.
type SoftKeys struct {
	mu   sync.Mutex
	keys map[string]crypto.Signer
}

var _ service.KeyStore = (*SoftKeys)(nil)

// NewSoftKeys returns an empty key store.
func NewSoftKeys() *SoftKeys { return &SoftKeys{keys: map[string]crypto.Signer{}} }

// GenerateKey makes a key in memory.
func (k *SoftKeys) GenerateKey(_ context.Context, alg roamsign.KeyAlgorithm, _ string) (string, crypto.Signer, error) {
	var (
		s   crypto.Signer
		err error
	)
	switch alg {
	case roamsign.RSA2048:
		s, err = rsa.GenerateKey(rand.Reader, 2048)
	case roamsign.ECP256:
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case roamsign.ECP384:
		s, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		return "", nil, roamsign.E(roamsign.ErrUnsupported, "softkeys.GenerateKey", "algorithm %s", alg)
	}
	if err != nil {
		return "", nil, err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	ref := hex.EncodeToString(id[:])
	k.mu.Lock()
	k.keys[ref] = s
	k.mu.Unlock()
	return ref, s, nil
}

// Signer returns a key by reference.
func (k *SoftKeys) Signer(_ context.Context, ref string) (crypto.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.keys[ref]
	if !ok {
		return nil, roamsign.E(roamsign.ErrNotFound, "softkeys.Signer", "no key %q", ref)
	}
	return s, nil
}
