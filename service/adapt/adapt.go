// Package adapt connects the roamsign parts to the narrow interfaces of
// package service: the OTP manager (package otp) as a service.Challenger,
// a key store (package hsm) as a service.KeyStore, and the raw batch signer
// (package signer) and CMS signer (package signer/cms) as
// service.FormSigners. It holds no logic of its own beyond translation and
// the CMS self-check.
//
// # Overview
//
//	svc, err := service.New(cfg, service.Deps{
//		Store:      st,                                   // store/sqlite, store/postgres
//		Keys:       adapt.Keys(keyStore),                 // hsm.OpenPKCS11 / hsm.OpenSoftware
//		Challenges: adapt.OTP(otpManager),                // otp.New
//		Forms: map[roamsign.OutputForm]service.FormSigner{
//			roamsign.FormRaw: adapt.Raw{},
//			roamsign.FormCMS: adapt.CMS{},
//		},
//		Directory: adapt.Directory(resolver),               // optional: medium.Resolver
//	})
//
// [KeyStoreCheck] gives the readiness check of the key store for
// transport/ops's Handler; the store's Ping is the database check.
//
// # Concurrency
//
// Every adapter is safe for concurrent use. Batches are signed on as many
// goroutines as the key reports (roamsign.Concurrency: the PKCS#11 session
// pool size).
package adapt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"sync"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/medium"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/signer"
)

// OTP returns m as a service.Challenger.
func OTP(m *otp.Manager) service.Challenger { return otpChallenger{m} }

type otpChallenger struct{ m *otp.Manager }

func (o otpChallenger) Issue(ctx context.Context, spec service.ChallengeSpec) (*roamsign.OTPResponse, error) {
	ch, err := o.m.Issue(ctx, otp.IssueRequest{
		User: spec.User.ID, Host: spec.Host, Hashes: spec.Hashes, DataHeader: spec.DataHeader, Channel: spec.Channel,
		HashesLater: spec.HashesLater,
	})
	if err != nil {
		return nil, err
	}
	return &roamsign.OTPResponse{
		ChallengeID: ch.ID, Nonce: ch.Nonce, ExpiresAt: ch.ExpiresAt, Channel: ch.Channel,
		SentTo: ch.SentTo, VerificationCode: ch.VerificationCode,
	}, nil
}

func (o otpChallenger) CheckOTP(ctx context.Context, id string, nonce []byte, code string, hashes []roamsign.Hash) error {
	_, err := o.m.CheckTried(ctx, otp.VerifyRequest{ID: id, Nonce: nonce, OTP: roamsign.Secret(code), Hashes: hashes})
	return err
}

// Keys returns ks as a service.KeyStore. Keys are looked up once and
// cached: a hsm.Key stays valid while its store is open.
func Keys(ks hsm.KeyStore) service.KeyStore { return &keyStore{ks: ks} }

type keyStore struct {
	ks    hsm.KeyStore
	cache sync.Map // id -> hsm.Key
}

func (k *keyStore) GenerateKey(ctx context.Context, alg roamsign.KeyAlgorithm, label string) (string, crypto.Signer, error) {
	key, err := k.ks.Generate(ctx, hsm.GenerateRequest{Label: label, Algorithm: alg})
	if err != nil {
		return "", nil, err
	}
	k.cache.Store(key.ID(), key)
	return key.ID(), key, nil
}

func (k *keyStore) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	if v, ok := k.cache.Load(ref); ok {
		return v.(hsm.Key), nil
	}
	key, err := k.ks.Key(ctx, ref)
	if err != nil {
		return nil, err
	}
	k.cache.Store(ref, key)
	return key, nil
}

// Raw is the raw form through package signer: PKCS#1 v1.5 or ECDSA DER
// signatures, one per hash, signed on the key's sessions in parallel.
type Raw struct {
	// Config tunes the batch signer (zero: the key's concurrency).
	Config signer.Config
}

var _ service.FormSigner = Raw{}

// SignBatch signs every hash; any failed item fails the batch. It leaves
// the verification of the signatures to [Raw.CheckBatch], which the
// service runs on every batch before it records or returns a signature.
func (r Raw) SignBatch(ctx context.Context, key crypto.Signer, _ []*x509.Certificate, hashes []roamsign.Hash) ([][]byte, string, error) {
	cfg := r.Config
	cfg.CallerVerifies = true
	s, err := signer.New(key, cfg)
	if err != nil {
		return nil, "", err
	}
	res, err := s.SignBatch(ctx, hashes, signer.Options{})
	if err != nil {
		return nil, "", err
	}
	sigs := make([][]byte, len(res))
	for i, x := range res {
		sigs[i] = x.Signature
	}
	return sigs, algName(key.Public(), hashes), nil
}

// CheckBatch verifies every signature against the leaf certificate.
func (Raw) CheckBatch(ctx context.Context, chain []*x509.Certificate, hashes []roamsign.Hash, sigs [][]byte) error {
	return service.RawSigner{}.CheckBatch(ctx, chain, hashes, sigs)
}

// algName names the signature algorithm of a batch; batches of mixed
// digest algorithms are named after the first.
func algName(pub crypto.PublicKey, hashes []roamsign.Hash) string {
	h := hashes[0].Algorithm.String()
	switch pub.(type) {
	case *rsa.PublicKey:
		return h + "-RSA-PKCS1v15"
	case *ecdsa.PublicKey:
		return "ECDSA-" + h
	}
	return h
}

// KeyStoreCheck returns the readiness check of ks: [hsm.ReadinessCheck],
// which finds the MAC keys named by macIDs and the user key that signed
// most recently in the store itself (not in a cache) and fails while one
// is missing or the token is lost; probing also drives a PKCS#11 store's
// recovery.
func KeyStoreCheck(ks hsm.KeyStore, macIDs ...string) func(context.Context) error {
	return hsm.ReadinessCheck(ks, macIDs...)
}

// Directory returns a medium resolver as a service.Directory.
func Directory(r medium.Resolver) service.Directory { return directory{r} }

type directory struct{ r medium.Resolver }

func (d directory) Lookup(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*roamsign.MediumResponse, error) {
	a, err := d.r.Resolve(ctx, user, host)
	if err != nil {
		return nil, err
	}
	return a.Response(), nil
}
