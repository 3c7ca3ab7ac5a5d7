package ltv

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"slices"
	"time"

	"github.com/roamsign/roamsign/internal/memo"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/verify"
)

// Bounds of the memo of validated paths.
const (
	// memoFor is the longest a validated path is remembered, also when
	// its CRLs are valid longer.
	memoFor = 5 * time.Minute
	// maxMemo bounds the memo; a full memo is emptied.
	maxMemo = 256
)

// chainMemo remembers paths the verifier found valid, so that a batch of
// documents signed by one signer and time-stamped by one authority
// validates each path once. An answer is reused only for the same request
// (role, whether the time is proven, the leaf, the intermediates and the
// material offered, all by DER), at a validation time from the one it was
// validated at up to the earliest expiry of its certificates and before
// the earliest nextUpdate of its CRLs, and only while the clock is before
// that nextUpdate and within memoFor (or Config.CRLMaxAge) of the
// validation. A path decided by OCSP, or with a certificate whose status
// was anything but good, is not remembered.
type chainMemo struct {
	now    func() time.Time
	maxAge time.Duration
	m      memo.Map[[sha256.Size]byte, memoEntry]
}

type memoEntry struct {
	vd pdf.ValidationData
	// from and until bound the validation times the answer holds for;
	// expires bounds the clock.
	from, until, expires time.Time
}

// newMemo returns the memo for a verifier configured by cfg, nil when its
// freshness policy makes an answer depend on the validation time in ways
// the memo does not follow (a maximum revocation freshness or a grace
// period).
func newMemo(cfg verify.Config) *chainMemo {
	if cfg.MaxRevocationFreshness > 0 || cfg.RevocationGracePeriod > 0 {
		return nil
	}
	m := &chainMemo{now: cfg.Now, maxAge: memoFor}
	if m.now == nil {
		m.now = time.Now
	}
	if cfg.CRLMaxAge > 0 && cfg.CRLMaxAge < m.maxAge {
		m.maxAge = cfg.CRLMaxAge
	}
	return m
}

// get returns the remembered answer to req.
func (m *chainMemo) get(key [sha256.Size]byte, req pdf.ChainRequest) (*pdf.ValidationData, bool) {
	e, ok := m.m.Get(key)
	if !ok || req.At.Before(e.from) || !req.At.Before(e.until) || !m.now().Before(e.expires) {
		return nil, false
	}
	vd := e.vd
	return &vd, true
}

// put remembers a valid answer r to req, when r allows it.
func (m *chainMemo) put(key [sha256.Size]byte, req pdf.ChainRequest, r *verify.Result) {
	if len(r.Validation.OCSPResponses) > 0 || len(r.Chain) == 0 {
		return
	}
	for _, ri := range r.Revocation {
		if ri.Status != verify.RevGood {
			return
		}
	}
	now := m.now()
	// Until the first expiry of the path's certificates, the leaf's first.
	e := memoEntry{from: req.At, until: r.Chain[0].NotAfter.Add(time.Nanosecond), expires: now.Add(m.maxAge)}
	for _, c := range r.Chain[1:] {
		e.until = earliest(e.until, c.NotAfter.Add(time.Nanosecond))
	}
	// The material's certificates (a CRL issuer's among them).
	for _, der := range r.Validation.Certificates {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		e.until = earliest(e.until, c.NotAfter.Add(time.Nanosecond))
	}
	for _, der := range r.Validation.CRLs {
		crl, err := x509.ParseRevocationList(der)
		if err != nil || crl.NextUpdate.IsZero() {
			return
		}
		e.until = earliest(e.until, crl.NextUpdate)
		e.expires = earliest(e.expires, crl.NextUpdate)
	}
	if !req.At.Before(e.until) || !now.Before(e.expires) {
		return
	}
	// Clipped: a caller appending to an answer never writes into the
	// memo's arrays.
	e.vd = pdf.ValidationData{Certificates: slices.Clip(r.Validation.Certificates), CRLs: slices.Clip(r.Validation.CRLs)}
	m.m.Put(key, e, maxMemo)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// memoKey identifies a request but its time: the role, whether the time
// is proven, and the DER of the leaf, of each intermediate and of each
// item of material offered, each preceded by its length.
func memoKey(req pdf.ChainRequest) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	timestamped := byte(0)
	if req.Timestamped {
		timestamped = 1
	}
	put([]byte{byte(req.Role), timestamped})
	put(req.Leaf.Raw)
	for _, list := range [][][]byte{certsDER(req.Intermediates), req.Known.Certificates, req.Known.CRLs, req.Known.OCSPResponses} {
		put(binary.BigEndian.AppendUint64(nil, uint64(len(list))))
		for _, der := range list {
			put(der)
		}
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func certsDER(certs []*x509.Certificate) [][]byte {
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.Raw
	}
	return out
}
