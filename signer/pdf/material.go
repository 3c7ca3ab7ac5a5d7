package pdf

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"github.com/roamsign/roamsign/internal/derset"
	"github.com/roamsign/roamsign/internal/memo"
)

// ErrNoSignatureTimestamp is returned (wrapped) by [AddLTV] and [Extend]
// for a document with a signature that has no signature time-stamp:
// PAdES B-LT is built on B-T (ETSI EN 319 142-1 clause 6.3). Its kind is
// roamsign.ErrInvalidInput.
var ErrNoSignatureTimestamp = roamsign.E(roamsign.ErrInvalidInput, "pdf", "a signature has no signature time-stamp (B-LT needs B-T)")

// ErrNoSignature is returned (wrapped) by [AddLTV] and [Extend] for a
// document without PAdES signature or document time-stamp. Its kind is
// roamsign.ErrInvalidInput.
var ErrNoSignature = roamsign.E(roamsign.ErrInvalidInput, "pdf", "the document has no PAdES signature or document time-stamp")

// sigMaterial is the material gathered for one signature.
type sigMaterial struct {
	sig *sigInfo
	vd  ValidationData
}

// gather validates, for each signature, the signer's path and the
// signature time-stamp's TSA path at the time-stamp's genTime, and for
// each document time-stamp its TSA's path at its genTime, with v, and
// returns the material that decided each. known is offered to v first. A
// path that does not validate fails the whole call: nothing unvalidated
// is ever embedded.
func gather(ctx context.Context, op string, sigs []*sigInfo, v ChainValidator, known ValidationData) ([]sigMaterial, error) {
	out := make([]sigMaterial, 0, len(sigs))
	for _, s := range sigs {
		var reqs []ChainRequest
		switch s.kind {
		case kindCAdES:
			if s.ts == nil {
				return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, ErrNoSignatureTimestamp, "signature "+s.field)
			}
			reqs = append(reqs,
				ChainRequest{Role: SignerChain, Leaf: s.signer, Intermediates: others(s.certs, s.signer), At: s.ts.genTime, Timestamped: true},
				ChainRequest{Role: TSAChain, Leaf: s.ts.signer, Intermediates: others(s.ts.certs, s.ts.signer), At: s.ts.genTime, Timestamped: true})
		case kindDocTimestamp:
			reqs = append(reqs, ChainRequest{Role: TSAChain, Leaf: s.ts.signer, Intermediates: others(s.ts.certs, s.ts.signer), At: s.ts.genTime, Timestamped: true})
		}
		m := sigMaterial{sig: s}
		for _, req := range reqs {
			req.Known = known
			vd, err := v.ValidateChain(ctx, req)
			if err != nil {
				return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "the "+req.Role.String()+" path of "+s.field+" does not validate; its material is not embedded")
			}
			if err := checkMaterial(op, vd); err != nil {
				return nil, err
			}
			m.vd = union(m.vd, *vd)
		}
		out = append(out, m)
	}
	return out, nil
}

// checkMaterial refuses material that does not parse: a validator's
// answer is embedded only when each item is what it claims to be. A batch
// signed by one signer embeds the same certificates and CRLs in every
// document: certificates go through certMemo, and a CRL that parsed before
// (the same bytes, compared in full) is not parsed again.
func checkMaterial(op string, vd *ValidationData) error {
	if vd == nil {
		return roamsign.E(roamsign.ErrInternal, op, "the validator returned no material")
	}
	for _, c := range vd.Certificates {
		if _, err := certMemo.Parse(c); err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "the validator returned a certificate that does not parse")
		}
	}
	for _, c := range vd.CRLs {
		if err := crlParses(c); err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "the validator returned a CRL that does not parse")
		}
	}
	for _, o := range vd.OCSPResponses {
		if el, rest, err := icms.FirstElement(o); err != nil || len(rest) != 0 || len(el) != len(o) || len(o) > maxTokenSize {
			return roamsign.E(roamsign.ErrInvalidInput, op, "the validator returned an OCSP response that is not one DER element")
		}
	}
	return nil
}

// parsedCRLs remembers CRLs that parsed, by their bytes: the CRLs of a
// batch are the same few, met again for every document, and a national
// CA's CRL of megabytes is then compared at memory speed instead of parsed
// each time. At most 4, of at most 4 MiB each.
var parsedCRLs = memo.ByContent[struct{}]{Max: 4, MaxSize: 4 << 20}

// crlParses parses der as a CRL unless the same bytes parsed before; only
// successes are remembered.
func crlParses(der []byte) error {
	_, err := parsedCRLs.Remember(der, func(own []byte) (struct{}, error) {
		_, err := x509.ParseRevocationList(own)
		return struct{}{}, err
	})
	return err
}

// union returns a with b's items that a lacks, in order.
func union(a, b ValidationData) ValidationData {
	return ValidationData{
		Certificates:  addNew(a.Certificates, b.Certificates),
		CRLs:          addNew(a.CRLs, b.CRLs),
		OCSPResponses: addNew(a.OCSPResponses, b.OCSPResponses),
	}
}

// addNew returns list with the items it lacks appended, in order.
func addNew(list, items [][]byte) [][]byte {
	if len(items) == 0 {
		return list
	}
	var seen derset.Map[struct{}]
	for _, x := range list {
		seen.Add(x, struct{}{})
	}
	for _, x := range items {
		if seen.Add(x, struct{}{}) {
			list = append(list, x)
		}
	}
	return list
}

// missing returns b's items that a lacks.
func missing(a, b ValidationData) ValidationData {
	u := union(a, b)
	return ValidationData{
		Certificates:  u.Certificates[len(a.Certificates):],
		CRLs:          u.CRLs[len(a.CRLs):],
		OCSPResponses: u.OCSPResponses[len(a.OCSPResponses):],
	}
}

// renewal says whether the newest document time-stamp should be covered
// by a new one at now: there is none, its TSA's certificate expires within
// before, or its imprint uses a weaker hash than h.
func renewal(sigs []*sigInfo, now time.Time, before time.Duration, h roamsign.HashAlgorithm) (bool, string) {
	var newest *sigInfo
	for _, s := range sigs {
		if s.kind == kindDocTimestamp {
			newest = s
		}
	}
	switch {
	case newest == nil:
		return true, "no document time-stamp yet"
	case newest.ts.signer.NotAfter.Before(now.Add(before)):
		return true, "the newest document time-stamp's certificate expires on " + newest.ts.signer.NotAfter.UTC().Format(time.DateOnly)
	case newest.ts.tst.Hash.Size() < h.Size():
		return true, "the newest document time-stamp uses a weaker hash than " + h.String()
	}
	return false, ""
}
