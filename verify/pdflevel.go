package verify

import (
	"context"
	"crypto/x509"
)

// verifyAll verifies the signatures of a document, ordered by the end of
// their byte range, newest first: each valid document timestamp proves
// that what it covers (the earlier signatures, timestamps and /DSS)
// existed at its genTime (ETSI EN 319 102-1 clause 5.6, proofs of
// existence), so each earlier token is validated at the time proven for
// it. It then gives each signature its level.
func (d *pdfDoc) verifyAll(ctx context.Context, sigs []sigField, inter []*x509.Certificate) []*PDFSignature {
	out := make([]*PDFSignature, len(sigs))
	var stamps []*PDFSignature // the valid document timestamps, newest first
	for i := len(sigs) - 1; i >= 0; i-- {
		s := d.verifyOne(ctx, sigs[i], inter, provenBy(stamps, rangeEnd(sigs[i].sig)))
		out[i] = s
		if s.Kind == KindDocumentTimestamp && s.token != nil && s.token.verdict == Valid {
			stamps = append(stamps, s)
		}
	}
	d.levels(out, stamps)
	return out
}

// provenBy returns what proves the existence of a revision ending at end:
// the earliest genTime of the valid document timestamps that cover it.
func provenBy(stamps []*PDFSignature, end int64) tokenProof {
	p := tokenProof{newest: true}
	for _, ts := range covering(stamps, end) {
		if p.poe.IsZero() || ts.token.gen.Before(p.poe) {
			p.poe = ts.token.gen
		}
		p.newest = false
	}
	return p
}

// covering returns the document timestamps of stamps (newest first) that
// cover a revision ending at end, oldest first.
func covering(stamps []*PDFSignature, end int64) []*PDFSignature {
	var out []*PDFSignature
	for i := len(stamps) - 1; i >= 0; i-- {
		if ts := stamps[i]; ts.ByteRange[2]+ts.ByteRange[3] > end {
			out = append(out, ts)
		}
	}
	return out
}

// levels sets the PAdES level of each signature (ETSI EN 319 142-1):
// B-B needs /SubFilter ETSI.CAdES.detached and a baseline CMS; B-T a valid
// signature timestamp or, without one, a valid document timestamp
// covering the signature; B-LT the validation material of the signer's
// path and of that timestamp's path in the signature or the /DSS; B-LTA a
// valid document timestamp over a revision whose /DSS holds that
// material.
func (d *pdfDoc) levels(sigs, stamps []*PDFSignature) {
	for _, s := range sigs {
		if s.Kind == KindDocumentTimestamp || s.Result == nil || s.lt == nil {
			continue
		}
		if !padesBaseline(s) {
			if s.lt.base == LevelBB {
				s.Level = LevelCMS
			}
			continue
		}
		end := s.ByteRange[2] + s.ByteRange[3]
		cov := covering(stamps, end)
		tok := s.lt.token
		if tok == nil && len(cov) > 0 {
			tok = earliest(cov).token
		}
		lvl, need := s.lt.reach(s.Result, tok, d.dss)
		s.Level = lvl
		if lvl != LevelBLT {
			continue
		}
		for _, ts := range cov {
			if d.dssHolds(ts, need) {
				s.Level = LevelBLTA
				break
			}
		}
	}
}

// earliest returns the document timestamp with the earliest genTime.
func earliest(stamps []*PDFSignature) *PDFSignature {
	e := stamps[0]
	for _, ts := range stamps[1:] {
		if ts.token.gen.Before(e.token.gen) {
			e = ts
		}
	}
	return e
}

// dssHolds reports whether the /DSS of the revision that the document
// timestamp ts covers holds every item of need.
func (d *pdfDoc) dssHolds(ts *PDFSignature, need [][]byte) bool {
	set := d.dssOf(ts.ByteRange[2] + ts.ByteRange[3])
	for _, der := range need {
		if !set.has(der) {
			return false
		}
	}
	return true
}

// dssOf returns the DER set of the /DSS of the revision ending at end.
// Its items are only indexed, not parsed: reading them costs the
// document's budget their size.
func (d *pdfDoc) dssOf(end int64) *derSet {
	if set, ok := d.dssAt[end]; ok {
		return set
	}
	var set *derSet
	if r, err := d.readerAt(end); err == nil {
		set = dssSet(dssData(r, 1))
	}
	if d.dssAt == nil {
		d.dssAt = map[int64]*derSet{}
	}
	d.dssAt[end] = set
	return set
}

// padesBaseline reports whether a signature has what EN 319 142-1 clause
// 6.3 asks of a PAdES baseline signature beside its CMS: /SubFilter
// /ETSI.CAdES.detached, the claimed signing time in /M and no CMS
// signing-time attribute (the CMS content type is id-data, or the
// signature is invalid).
func padesBaseline(s *PDFSignature) bool {
	return s.SubFilter == "ETSI.CAdES.detached" && s.ClaimedTime != nil && s.Result.ClaimedSigningTime == nil
}
