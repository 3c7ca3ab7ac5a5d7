package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"slices"
	"time"

	icms "github.com/roamsign/roamsign/internal/cms"
)

// tokenProof says what may prove the time of an RFC 3161 token (ETSI EN
// 319 102-1 clause 5.6.2.4, past signature validation).
type tokenProof struct {
	// poe is the earliest genTime of a later, valid document timestamp
	// that covers the token: a proof that the token existed then. Zero
	// when nothing proves it.
	poe time.Time
	// newest marks a document timestamp that no valid later document
	// timestamp covers. With its authority no longer valid at the
	// verification time, it may stand on the validation material the
	// document itself carries for its authority's path at its genTime.
	newest bool
}

// How a token's time was proven (tokenResult.how).
const (
	provenByPOE      = "proven by a later document timestamp"
	provenNow        = "its authority is valid at the verification time"
	provenByDocument = "its authority's path validated at genTime from the document's own validation material"
)

// tokenResult is the outcome of an RFC 3161 token.
type tokenResult struct {
	gen     time.Time
	verdict Verdict
	sub     SubIndication
	reason  string
	how     string
	// tsa is the authority's path as validated when the token is valid.
	tsa *Result
	// material is the authority's path at genTime, for the level rules:
	// whether the document carries what validates it (tsa itself when its
	// evidence came from the document).
	material *Result
	// own is the DER of the certificates, CRLs and OCSP responses the
	// token carries.
	own *derSet
}

// check is the timestamp check's reason for a valid token.
func (t *tokenResult) check() string {
	return "genTime " + t.gen.UTC().Format(time.RFC3339) + "; " + t.how
}

// verifyTimestamp verifies an RFC 3161 token whose message imprint must be
// imprintOf(hash): its signature, imprint and TSTInfo, then its
// authority's path.
//
// The token's time is trusted only when something proves it: its
// authority's path is valid at the verification time now; or a later
// document timestamp proves the token existed at proof.poe and the path
// is valid then; or, for the newest document timestamp (proof.newest),
// the path is valid at genTime with revocation evidence that the document
// or the token carries. A token whose path is valid at its own genTime
// but that nothing proves is indeterminate (out_of_bounds_no_poe or
// revoked_no_poe). Revocation evidence is the token's own, ev, and what
// the sources give.
func (v *Verifier) verifyTimestamp(ctx context.Context, token []byte, imprintOf digester, now time.Time, proof tokenProof, ev ...*evidence) *tokenResult {
	fail := func(verdict Verdict, reason string) *tokenResult {
		return &tokenResult{verdict: verdict, reason: reason}
	}
	sd, err := parseSignedData(token, v.maxSig)
	if err != nil {
		return fail(Invalid, "timestamp token: "+err.Error())
	}
	if !sd.HasEContent || len(sd.SignerInfos) != 1 {
		return fail(Invalid, "timestamp token must carry TSTInfo and one signer")
	}
	var certs []*x509.Certificate
	for _, der := range sd.Certificates {
		c, err := v.parseCert(der)
		if err != nil {
			return fail(Invalid, "timestamp token: malformed certificate")
		}
		certs = append(certs, c)
	}
	tr := &Result{}
	cert := v.checkSigner(tr, sd, &sd.SignerInfos[0], bytesDigester(sd.EContent), certs, icms.OIDTSTInfo, true)
	if cert == nil {
		f := tr.Failed()
		return fail(Invalid, "timestamp token: "+f.Name+": "+f.Reason)
	}
	gen, imprintHash, imprint, err := parseTSTInfo(sd.EContent)
	if err != nil {
		return fail(Invalid, "timestamp token: "+err.Error())
	}
	want, err := imprintOf(imprintHash)
	if err != nil {
		return fail(Indeterminate, "timestamped data could not be read: "+err.Error())
	}
	if !bytes.Equal(want, imprint) {
		return fail(Invalid, "timestamp token covers another signature")
	}
	if gen.After(now.Add(time.Minute)) {
		return fail(Invalid, "timestamp genTime is in the future")
	}
	var inter []*x509.Certificate
	for _, c := range certs {
		if c != cert {
			inter = append(inter, c)
		}
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageTimeStamping) {
		return fail(Invalid, "timestamp authority: certificate lacks the timeStamping extended key usage")
	}
	all, own := v.embedded(sd)
	for _, e := range ev {
		all = all.merge(e)
	}
	res := v.proveToken(ctx, cert, inter, gen, now, proof, all)
	res.gen, res.own = gen, own
	if res.verdict == Valid {
		res.material = res.tsa
		if !decidedByDocument(res.tsa) {
			res.material = &Result{}
			v.checkPath(ctx, res.material, cert, inter, revocationCtx{now: now, at: gen, timestamped: true, ev: all}, v.tsaAnchors, PolicyConfig{})
		}
	}
	return res
}

// proveToken validates the path of a token's authority cert at the time
// proven for the token; see verifyTimestamp.
func (v *Verifier) proveToken(ctx context.Context, cert *x509.Certificate, inter []*x509.Certificate, gen, now time.Time, proof tokenProof, ev *evidence) *tokenResult {
	path := func(at time.Time, timestamped bool) *Result {
		tr := &Result{}
		v.checkPath(ctx, tr, cert, inter, revocationCtx{now: now, at: at, timestamped: timestamped, ev: ev}, v.tsaAnchors, PolicyConfig{})
		return tr
	}
	if !proof.poe.IsZero() && !proof.poe.Before(gen) {
		if tr := path(proof.poe, true); tr.Verdict == Valid {
			return &tokenResult{verdict: Valid, how: provenByPOE + " at " + proof.poe.UTC().Format(time.RFC3339), tsa: tr}
		}
	}
	cur := path(now, false)
	if cur.Verdict == Valid {
		return &tokenResult{verdict: Valid, how: provenNow, tsa: cur}
	}
	atGen := path(gen, true)
	if atGen.Verdict != Valid {
		f := atGen.Failed()
		return &tokenResult{verdict: f.Verdict, sub: f.SubIndication, reason: "timestamp authority: " + f.Reason}
	}
	if proof.newest && decidedByDocument(atGen) {
		return &tokenResult{verdict: Valid, how: provenByDocument, tsa: atGen}
	}
	f := cur.Failed()
	return &tokenResult{verdict: Indeterminate, sub: noPOESub(f.SubIndication),
		reason: "timestamp authority: not valid at the verification time (" + f.Reason + ") and no later timestamp proves the token existed while it was"}
}

// noPOESub is the sub-indication of a token whose authority's path failed
// at the verification time with sub, when nothing later proves the token:
// indeterminate, as EN 319 102-1 clause 5.6.2.1 says (expired:
// out_of_bounds_no_poe; revoked: revoked_no_poe; undecided revocation:
// try_later).
func noPOESub(sub SubIndication) SubIndication {
	switch {
	case sub == SubRevoked:
		return SubRevokedNoPOE
	case sub == "" || sub.Indication() == IndicationFailed:
		return SubOutOfBoundsNoPOE
	}
	return sub
}

// decidedByDocument reports whether every certificate of r's path below
// the anchor was decided by revocation evidence that the document or the
// signature carries (a /DSS, or the CMS itself).
func decidedByDocument(r *Result) bool {
	if len(r.Revocation) == 0 {
		return false
	}
	for _, in := range r.Revocation {
		if in.Origin != OriginDSS && in.Origin != OriginSignature {
			return false
		}
	}
	return true
}
