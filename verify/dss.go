package verify

import (
	"github.com/roamsign/roamsign/internal/pdfx"
)

// Bounds of the document security store that are read.
const (
	maxDSSObjects = 1024
	maxDSSBytes   = 64 << 20
)

// dssEvidence parses the material of a document security store (see
// dssData).
func (v *Verifier) dssEvidence(d ValidationData) *evidence {
	ev := &evidence{}
	_ = v.addData(ev, d, OriginDSS, true)
	return ev
}

// dssSet returns the DER of every certificate, CRL and OCSP response of
// d, the material of a document security store.
func dssSet(d ValidationData) *derSet {
	out := &derSet{}
	out.add(d.Certificates, d.CRLs, d.OCSPResponses)
	return out
}

// dssData reads the document security store (/DSS, ETSI EN 319 142-1
// clause 5.4.2; ISO 32000-2 clause 12.8.4.3) of the revision r reads:
// the certificates, CRLs and OCSP responses of /Certs, /CRLs and /OCSPs,
// and those that /VRI entries name. Validation data is unsigned:
// it is only evidence, judged by the same rules as any other. Streams that
// cannot be read or parsed are skipped; the totals are bounded. Each byte
// read costs the document's budget cost.
func dssData(r *pdfx.Reader, cost int64) ValidationData {
	var d ValidationData
	root := dictOf(r, r.Trailer()["Root"])
	if root == nil {
		return d
	}
	dss := dictOf(r, root["DSS"])
	if dss == nil {
		return d
	}
	seen := map[pdfx.Ref]bool{}
	count, total := 0, 0
	streams := func(o pdfx.Object) [][]byte {
		arr, _ := resolve(r, o).(pdfx.Array)
		var out [][]byte
		for _, el := range arr {
			ref, ok := el.(pdfx.Ref)
			if !ok || seen[ref] || count >= maxDSSObjects || total >= maxDSSBytes {
				continue
			}
			seen[ref] = true
			count++
			s, ok := resolve(r, ref).(*pdfx.Stream)
			if !ok {
				continue
			}
			data, err := r.StreamData(s)
			if err != nil || r.Budget().Spend(cost*int64(len(data))) != nil {
				continue // parsing is charged to the document's budget
			}
			total += len(data)
			out = append(out, data)
		}
		return out
	}
	add := func(dict pdfx.Dict, certs, crls, ocsps pdfx.Name) {
		d.Certificates = append(d.Certificates, streams(dict[certs])...)
		d.CRLs = append(d.CRLs, streams(dict[crls])...)
		d.OCSPResponses = append(d.OCSPResponses, streams(dict[ocsps])...)
	}
	add(dss, "Certs", "CRLs", "OCSPs")
	if vri := dictOf(r, dss["VRI"]); vri != nil {
		n := 0
		for _, o := range vri {
			if n++; n > maxDSSObjects {
				break
			}
			if e := dictOf(r, o); e != nil {
				add(e, "Cert", "CRL", "OCSP")
			}
		}
	}
	return d
}
