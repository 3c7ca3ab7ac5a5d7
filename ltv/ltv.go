// Package ltv connects package verify to the long-term validation of
// package signer/pdf: [Validator] is a pdf.ChainValidator that validates a
// signer's or a time-stamping authority's path with a verify.Verifier and
// returns the material that decided it (verify's Result.Validation), so
// that pdf.AddLTV, pdf.AddDocumentTimestamp and pdf.Extend embed only what
// verify validated. It holds no rule of its own beyond translation.
//
// # Overview
//
//	v, err := ltv.New(verify.Config{Anchors: roots, TSAAnchors: tsaRoots})
//	rep, err := pdf.Extend(ctx, in, size, out, pdf.ExtendOptions{Validator: v, Timestamper: tsaClient})
//
// # Configuration
//
// [New] builds two verifiers from one verify.Config: one for signers (the
// configuration as given) and one for time-stamping authorities (the TSA
// anchors, digitalSignature or nonRepudiation, id-kp-timeStamping as the
// only allowed extended key usage). Revocation is checked as the
// configuration says; material already in the document is offered first
// (as supplied material), so what is embedded and still sufficient is
// returned again rather than fetched anew.
//
// A Validator made by [New] remembers, for a few minutes, the paths it
// found valid, so that a batch of documents by one signer and one
// time-stamping authority validates each path once: an answer is reused
// only for the same certificates and offered material, at a validation
// time between the one it was validated at and the earliest expiry of its
// certificates and nextUpdate of its CRLs, and never once the clock
// passes that nextUpdate. Paths decided by OCSP, with a status other than
// good, or under a maximum revocation freshness or a grace period are
// always validated anew.
//
// # Concurrency
//
// A Validator is safe for concurrent use.
package ltv

import (
	"context"
	"crypto/x509"
	"encoding/asn1"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/verify"
)

// Validator validates certificate paths with package verify for package
// signer/pdf.
type Validator struct {
	// Signers validates signers' paths; TSAs validates time-stamping
	// authorities' paths.
	Signers, TSAs *verify.Verifier
	// memo remembers valid paths (New sets it; see chainMemo).
	memo *chainMemo
}

var _ pdf.ChainValidator = (*Validator)(nil)

// New returns a Validator whose signer verifier is configured by cfg and
// whose TSA verifier by cfg with cfg.TSAAnchors (cfg.Anchors when nil) as
// anchors and time-stamping key purposes. Errors are verify.New's.
func New(cfg verify.Config) (*Validator, error) {
	s, err := verify.New(cfg)
	if err != nil {
		return nil, err
	}
	tc := cfg
	if len(cfg.TSAAnchors) > 0 {
		tc.Anchors = cfg.TSAAnchors
	}
	tc.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	tc.AllowedEKUs = []asn1.ObjectIdentifier{verify.OIDEKUTimeStamping}
	tc.AllowAnyEKU = false
	t, err := verify.New(tc)
	if err != nil {
		return nil, err
	}
	return &Validator{Signers: s, TSAs: t, memo: newMemo(cfg)}, nil
}

// ValidateChain validates req's path with the verifier of its role at
// req.At and returns the path's certificates and the deciding revocation
// material. A verdict other than valid is an error: of kind
// roamsign.ErrInvalidSignature when invalid, roamsign.ErrUnavailable when
// indeterminate (for example no revocation evidence could be obtained).
func (v *Validator) ValidateChain(ctx context.Context, req pdf.ChainRequest) (*pdf.ValidationData, error) {
	const op = "ltv.ValidateChain"
	ver := v.Signers
	if req.Role == pdf.TSAChain {
		ver = v.TSAs
	}
	if ver == nil || req.Leaf == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no verifier for the %s path, or no certificate", req.Role)
	}
	// A request without a validation time is validated at the clock's
	// time: its answer is not remembered, as it holds for no fixed time.
	memo := v.memo
	if req.At.IsZero() {
		memo = nil
	}
	var key [32]byte
	if memo != nil {
		key = memoKey(req)
		if vd, ok := memo.get(key, req); ok {
			return vd, nil
		}
	}
	r := ver.VerifyChain(ctx, verify.ChainRequest{
		Leaf: req.Leaf, Intermediates: req.Intermediates, At: req.At, Timestamped: req.Timestamped,
		Supplied: verify.ValidationData{Certificates: req.Known.Certificates, CRLs: req.Known.CRLs, OCSPResponses: req.Known.OCSPResponses},
	})
	if r.Verdict != verify.Valid || r.Validation == nil {
		kind := roamsign.ErrInvalidSignature
		if r.Verdict == verify.Indeterminate {
			kind = roamsign.ErrUnavailable
		}
		why := string(r.Verdict)
		if f := r.Failed(); f != nil {
			why = f.Name + " " + string(f.Verdict) + ": " + f.Reason
		}
		return nil, roamsign.E(kind, op, "%s %q: %s", req.Role, req.Leaf.Subject.CommonName, why)
	}
	if memo != nil {
		memo.put(key, req, r)
	}
	return &pdf.ValidationData{
		Certificates:  r.Validation.Certificates,
		CRLs:          r.Validation.CRLs,
		OCSPResponses: r.Validation.OCSPResponses,
	}, nil
}
