package pdf

import (
	"crypto/x509"
	"time"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"github.com/roamsign/roamsign/internal/pdfx"
)

const (
	inspectOp = "pdf.AddLTV"
	// maxSignatures bounds the signatures and document time-stamps read.
	maxSignatures = 256
	// maxTokenSize bounds a CMS or time-stamp token read from /Contents.
	maxTokenSize = 1 << 20
)

// sigKind tells a CAdES signature from a document time-stamp.
type sigKind int

const (
	kindCAdES sigKind = iota + 1
	kindDocTimestamp
)

// stamp is a parsed time-stamp token: its genTime, the TSA's certificate
// and the certificates it carries.
type stamp struct {
	genTime time.Time
	signer  *x509.Certificate
	certs   []*x509.Certificate
	tst     *icms.TSTInfo
	sd      *icms.SignedData
}

// sigInfo is one signature or document time-stamp of a document.
type sigInfo struct {
	kind     sigKind
	field    string
	contents []byte // the whole /Contents value, padding included
	// For a CAdES signature: its signer, certificates and signature
	// time-stamp (nil when B-B). For a document time-stamp: ts only.
	signer *x509.Certificate
	certs  []*x509.Certificate
	ts     *stamp
	// byteRange end: the revision the signature covers ends there.
	end int64
}

// knownSig is a signature parsed already: the one a host completes, which
// it holds in memory.
type knownSig struct {
	ref pdfx.Ref // its signature dictionary
	sig *sigInfo
}

// signatures returns the document's signatures and document time-stamps,
// oldest first (by the end of their ByteRange). A field whose value is
// known.ref takes known.sig instead of being read again.
func signatures(r *pdfx.Reader, known *knownSig) ([]*sigInfo, error) {
	cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	acro, _ := r.ResolveDict(cat["AcroForm"], "/AcroForm")
	fo, _ := r.Resolve(acro["Fields"])
	fields, _ := fo.(pdfx.Array)
	var out []*sigInfo
	seen := map[pdfx.Ref]bool{}
	var walk func(o pdfx.Object, depth int) error
	walk = func(o pdfx.Object, depth int) error {
		if ref, ok := o.(pdfx.Ref); ok {
			if seen[ref] {
				return nil
			}
			seen[ref] = true
		}
		if depth > 32 || len(seen) > maxFields {
			return roamsign.E(roamsign.ErrTooLarge, inspectOp, "form field tree too deep or too large")
		}
		fd, err := r.ResolveDict(o, "form field")
		if err != nil {
			return nil // not a field; verifiers report it
		}
		if kids, _ := r.Resolve(fd["Kids"]); kids != nil {
			if arr, ok := kids.(pdfx.Array); ok {
				for _, k := range arr {
					if err := walk(k, depth+1); err != nil {
						return err
					}
				}
			}
		}
		if fd["FT"] != pdfx.Name("Sig") || fd["V"] == nil {
			return nil
		}
		if len(out) >= maxSignatures {
			return roamsign.E(roamsign.ErrTooLarge, inspectOp, "more than %d signatures", maxSignatures)
		}
		if known != nil && fd["V"] == pdfx.Object(known.ref) {
			out = append(out, known.sig)
			return nil
		}
		name, _ := fd["T"].(pdfx.String)
		s, err := readSignature(r, fd["V"], string(name))
		if err != nil {
			return err
		}
		if s != nil {
			out = append(out, s)
		}
		return nil
	}
	for _, f := range fields {
		if err := walk(f, 0); err != nil {
			return nil, err
		}
	}
	sortByEnd(out)
	return out, nil
}

func sortByEnd(s []*sigInfo) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].end < s[j-1].end; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// readSignature parses the signature dictionary v. Signatures of other
// kinds (adbe.pkcs7.sha1, x509.rsa_sha1) give nil: B-LT is about PAdES.
func readSignature(r *pdfx.Reader, v pdfx.Object, field string) (*sigInfo, error) {
	sig, err := r.ResolveDict(v, "signature dictionary")
	if err != nil {
		return nil, err
	}
	contents, ok := sig["Contents"].(pdfx.String)
	if !ok || len(contents) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, inspectOp, "signature %q has no /Contents string", field)
	}
	if len(contents) > maxTokenSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, inspectOp, "signature %q: /Contents above 1 MiB", field)
	}
	br, _ := sig["ByteRange"].(pdfx.Array)
	var end int64
	if len(br) == 4 {
		a, _ := pdfx.Int(br[2])
		b, _ := pdfx.Int(br[3])
		end = a + b
	}
	der, _, err := icms.FirstElement(contents)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, inspectOp, err, "signature "+field+": /Contents is not DER")
	}
	s := &sigInfo{field: field, contents: []byte(contents), end: end}
	switch sig["SubFilter"] {
	case pdfx.Name("ETSI.RFC3161"):
		s.kind = kindDocTimestamp
		if s.ts, err = parseStamp(der); err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, inspectOp, err, "document time-stamp "+field)
		}
	case pdfx.Name("ETSI.CAdES.detached"), pdfx.Name("adbe.pkcs7.detached"):
		s.kind = kindCAdES
		if err := s.parseCMS(der); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	return s, nil
}

// parseCMS reads the signer, the certificates and the signature
// time-stamp of a CAdES signature.
func (s *sigInfo) parseCMS(der []byte) error {
	sd, err := icms.ParseSignedData(inspectOp, der, maxTokenSize)
	if err != nil {
		return err
	}
	if len(sd.SignerInfos) != 1 {
		return roamsign.E(roamsign.ErrInvalidInput, inspectOp, "signature %q must have one signer", s.field)
	}
	si := &sd.SignerInfos[0]
	if s.certs, err = parseCerts(sd.Certificates); err != nil {
		return err
	}
	if s.signer = si.FindCertificate(s.certs); s.signer == nil {
		return roamsign.E(roamsign.ErrInvalidInput, inspectOp, "signature %q does not carry its signer's certificate", s.field)
	}
	if a := icms.Attr(si.UnsignedAttrs, icms.RawAttrTimestampToken); a != nil && len(a.Values) == 1 {
		ts, err := parseStamp(a.Values[0])
		if err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidInput, inspectOp, err, "signature time-stamp of "+s.field)
		}
		s.ts = ts
	}
	return nil
}

// parseStamp parses a time-stamp token (not verifying it: the validator
// does, and tokens this package embeds are checked by checkToken).
func parseStamp(der []byte) (*stamp, error) {
	sd, tst, err := icms.ParseTimestampToken(inspectOp, der, maxTokenSize)
	if sd == nil {
		return nil, err
	}
	if !sd.HasEContent || len(sd.SignerInfos) != 1 || !sd.EContentType.Equal(icms.OIDTSTInfo) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, inspectOp, "not a time-stamp token")
	}
	if err != nil {
		return nil, err
	}
	certs, err := parseCerts(sd.Certificates)
	if err != nil {
		return nil, err
	}
	signer := sd.SignerInfos[0].FindCertificate(certs)
	if signer == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, inspectOp, "the time-stamp token does not carry its TSA's certificate")
	}
	return &stamp{genTime: tst.GenTime, signer: signer, certs: certs, tst: tst, sd: sd}, nil
}

// certMemo keeps the certificates met again and again (time-stamping
// authorities', signers' CAs) parsed.
var certMemo icms.CertMemo

// parseCerts parses the certificates of a CMS SignedData, through
// certMemo. The certificates are shared and must not be modified.
func parseCerts(ders [][]byte) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(ders))
	for _, d := range ders {
		c, err := certMemo.Parse(d)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, inspectOp, err, "a certificate does not parse")
		}
		out = append(out, c)
	}
	return out, nil
}

// others returns certs without leaf.
func others(certs []*x509.Certificate, leaf *x509.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(certs))
	for _, c := range certs {
		if c != leaf {
			out = append(out, c)
		}
	}
	return out
}
