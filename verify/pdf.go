package verify

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// DefaultMaxPDFSize caps a PDF given to VerifyPDF (2 GiB). The document
// is read through its io.ReaderAt in fixed-size chunks, so memory does not
// grow with its size; the cap bounds the time one document may take.
const DefaultMaxPDFSize = 2 << 30

// Bounds of the PDF signature analysis.
const (
	maxPDFFields     = 10_000
	maxPDFDepth      = 32
	maxPDFRevisions  = 1_000
	maxPDFSignatures = 100
	maxObjHeader     = 1 << 20 // bytes between "n g obj" and the /Contents string
	// costCMSParse is what one byte of a /Contents gap costs the document's
	// budget: the gap, its decoding and the parsed CMS with its
	// certificates.
	costCMSParse = 8
)

// PDFRequest asks for every signature of a PDF to be verified.
type PDFRequest struct {
	Document io.ReaderAt
	Size     int64
	// Intermediates are extra candidate intermediates known to the host.
	Intermediates []*x509.Certificate
	// Supplied is validation material for this request only; the
	// document's /DSS is read as well.
	Supplied ValidationData
}

// PDFSignature is the report on one signature of a PDF. The embedded
// Result carries the verdict and checks of the signature, its chain and
// revocation; the PDF checks (byte-range, integrity) are folded into it.
type PDFSignature struct {
	*Result
	Field string `json:"field"`
	// Kind is KindApproval, KindCertification or KindDocumentTimestamp.
	Kind      SignatureKind `json:"kind"`
	SubFilter string        `json:"subFilter"`
	Name      string        `json:"name,omitempty"`
	Reason    string        `json:"reason,omitempty"`
	Location  string        `json:"location,omitempty"`
	// ClaimedTime is /M, the self-asserted signing time (never used).
	ClaimedTime *time.Time `json:"claimedTime,omitempty"`
	// DocMDP is the permission level P (1–3) of a certification signature.
	DocMDP    int      `json:"docMDP,omitempty"`
	ByteRange [4]int64 `json:"byteRange"`
	// Revision is the 1-based revision the signature covers.
	Revision int `json:"revision"`
	// CoversDocument is true when the signature covers the whole file.
	CoversDocument bool `json:"coversDocument"`
	// ModifiedAfterSigning is true when a later revision made a change
	// that the signature's permissions do not allow; Changes says which.
	ModifiedAfterSigning bool     `json:"modifiedAfterSigning"`
	Changes              []string `json:"changes,omitempty"`

	token *tokenResult // a document timestamp's token
}

// PDFResult reports every signature of a document.
type PDFResult struct {
	// Verdict is the worst verdict of the signatures; a document without
	// signatures is Invalid.
	Verdict    Verdict         `json:"verdict"`
	Revisions  int             `json:"revisions"`
	Signatures []*PDFSignature `json:"signatures"`
}

// VerifyPDF verifies every signature of a PDF: the byte range (four
// integers from 0 whose gap is exactly the /Contents string of the
// signature dictionary, ending at a revision's %%EOF), the CMS signature or
// document timestamp, chain and revocation, and what later revisions
// changed (later signatures, DSS and document timestamps are allowed; form
// filling under DocMDP P=2 and 3; annotations under P=3; anything else
// makes the signature "modified after signing"). When the newest
// revisions cannot be read, the signatures of the newest revision that can
// are still reported, each "modified after signing: later revision
// unreadable"; a document none of whose signatures can be read gives a
// typed error.
func (v *Verifier) VerifyPDF(ctx context.Context, req PDFRequest) (res *PDFResult, err error) {
	const op = "verify.VerifyPDF"
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, roamsign.E(roamsign.ErrInvalidInput, op, "malformed PDF (parser fault: %v)", p)
		}
	}()
	if req.Document == nil || req.Size <= 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no document")
	}
	max := v.cfg.MaxPDFSize
	if max <= 0 {
		max = DefaultMaxPDFSize
	}
	if req.Size > max {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "document of %d bytes exceeds the %d byte limit", req.Size, max)
	}
	ra := req.Document
	// One budget bounds everything read from this document: every
	// revision, object stream and signature.
	budget := pdfx.NewBudget(pdfx.DefaultBudget(req.Size))
	eofs, err := pdfx.EOFMarkers(ctx, ra, req.Size, maxPDFRevisions)
	if err != nil {
		return nil, err
	}
	final, unreadable, err := openLastReadable(ra, req.Size, eofs, budget)
	if err != nil {
		return nil, err
	}
	if final.Encrypted() {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "encrypted documents are not supported")
	}
	doc := &pdfDoc{v: v, ra: ra, size: req.Size, final: final, unreadable: unreadable, eofs: eofs, budget: budget, readers: map[int64]*pdfx.Reader{}}
	supplied := &evidence{}
	if err := v.addData(supplied, req.Supplied, OriginSupplied, true); err != nil {
		return nil, err
	}
	dss := dssData(final, costCMSParse)
	doc.dss = dssSet(dss)
	doc.evidence = v.dssEvidence(dss).merge(supplied)
	sigs, err := doc.signatureFields()
	if err != nil {
		// A catalog that could not be read within the budget is reported
		// as the budget's error.
		return nil, cmp.Or(budget.Err(), err)
	}
	if len(sigs) == 0 && unreadable != nil {
		return nil, unreadable // nothing to report from what could be read
	}
	res = &PDFResult{Revisions: len(eofs)}
	res.Signatures = doc.verifyAll(ctx, sigs, req.Intermediates)
	// Lookups that failed on the budget read as missing objects; a report
	// built on a cut-short reading is not given.
	if err := budget.Err(); err != nil {
		return nil, err
	}
	if len(res.Signatures) == 0 {
		res.Verdict = Invalid
		return res, nil
	}
	res.Verdict = Valid
	for _, s := range res.Signatures {
		res.Verdict = worst(res.Verdict, s.Verdict)
	}
	return res, nil
}

// openLastReadable opens the document or, when its newest revisions
// cannot be read, the newest revision that can: the signatures in it are
// still reported, with the revisions after it counted as a modification.
// unreadable then says why the whole document could not be read.
func openLastReadable(ra io.ReaderAt, size int64, eofs []int64, budget *pdfx.Budget) (r *pdfx.Reader, unreadable, err error) {
	r, err = pdfx.Open(ra, size, pdfx.Limits{Budget: budget})
	if err == nil || !errors.Is(err, roamsign.ErrInvalidInput) {
		return r, nil, err
	}
	for i := len(eofs) - 1; i >= 0; i-- {
		end := eofs[i]
		if end >= size {
			continue
		}
		er, e := pdfx.Open(io.NewSectionReader(ra, 0, end), end, pdfx.Limits{Budget: budget})
		if e == nil {
			return er, err, nil
		}
		if !errors.Is(e, roamsign.ErrInvalidInput) {
			return nil, nil, e
		}
	}
	return nil, nil, err
}

type pdfDoc struct {
	v     *Verifier
	ra    io.ReaderAt
	size  int64
	final *pdfx.Reader // the newest revision that can be read
	// unreadable, when set, is why the revisions after final cannot be read.
	unreadable error
	eofs       []int64
	budget     *pdfx.Budget
	readers    map[int64]*pdfx.Reader
	mdpRef     *pdfx.Ref
	mdpP       int
	// evidence is the /DSS material and what the request supplied.
	evidence *evidence
	// dss is the DER of the final /DSS's material; dssAt that of the
	// /DSS of the revision ending at an offset (see dssOf).
	dss   *derSet
	dssAt map[int64]*derSet
}

type sigField struct {
	name   string
	sigRef pdfx.Ref
	sig    pdfx.Dict
}

// resolve follows references (bounded) in r.
func resolve(r *pdfx.Reader, o pdfx.Object) pdfx.Object {
	for i := 0; i < 8; i++ {
		ref, ok := o.(pdfx.Ref)
		if !ok {
			return o
		}
		var err error
		if o, err = r.Get(ref); err != nil {
			return nil
		}
	}
	return nil
}

func dictOf(r *pdfx.Reader, o pdfx.Object) pdfx.Dict {
	d, _ := resolve(r, o).(pdfx.Dict)
	return d
}

func nameOf(o pdfx.Object) string {
	n, _ := o.(pdfx.Name)
	return string(n)
}

func textOf(r *pdfx.Reader, o pdfx.Object) string {
	s, ok := resolve(r, o).(pdfx.String)
	if !ok {
		return ""
	}
	b := []byte(s)
	if len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff {
		var sb strings.Builder
		for i := 2; i+1 < len(b); i += 2 {
			sb.WriteRune(rune(b[i])<<8 | rune(b[i+1]))
		}
		return sb.String()
	}
	return string(b)
}

// signatureFields walks the AcroForm field tree of the current revision and
// returns every signature field with a value, ordered by byte range end.
func (d *pdfDoc) signatureFields() ([]sigField, error) {
	r := d.final
	root := dictOf(r, r.Trailer()["Root"])
	if root == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "verify.VerifyPDF", "document catalog missing")
	}
	if perms := dictOf(r, root["Perms"]); perms != nil {
		if ref, ok := perms["DocMDP"].(pdfx.Ref); ok {
			d.mdpRef = &ref
		}
	}
	acro := dictOf(r, root["AcroForm"])
	if acro == nil {
		return nil, nil
	}
	fields, _ := resolve(r, acro["Fields"]).(pdfx.Array)
	var out []sigField
	seen := map[pdfx.Ref]bool{}
	count := 0
	var walk func(o pdfx.Object, parentName, ft string, depth int)
	walk = func(o pdfx.Object, parentName, ft string, depth int) {
		if depth > maxPDFDepth || count > maxPDFFields {
			return
		}
		count++
		if ref, ok := o.(pdfx.Ref); ok {
			if seen[ref] {
				return
			}
			seen[ref] = true
		}
		f := dictOf(r, o)
		if f == nil {
			return
		}
		name := parentName
		if t := textOf(r, f["T"]); t != "" {
			if name != "" {
				name += "."
			}
			name += t
		}
		if n := nameOf(f["FT"]); n != "" {
			ft = n
		}
		if ft == "Sig" {
			if v, has := f["V"]; has && v != nil && len(out) < maxPDFSignatures {
				// A value that is not a readable signature dictionary is
				// reported (as invalid), never skipped.
				ref, _ := v.(pdfx.Ref)
				out = append(out, sigField{name: name, sigRef: ref, sig: dictOf(r, v)})
			}
		}
		kids, _ := resolve(r, f["Kids"]).(pdfx.Array)
		for _, k := range kids {
			walk(k, name, ft, depth+1)
		}
	}
	for _, f := range fields {
		walk(f, "", "", 0)
	}
	slices.SortStableFunc(out, func(a, b sigField) int {
		ea, eb := rangeEnd(a.sig), rangeEnd(b.sig)
		switch {
		case ea < eb:
			return -1
		case ea > eb:
			return 1
		}
		return 0
	})
	return out, nil
}

func rangeEnd(sig pdfx.Dict) int64 {
	br, _ := sig["ByteRange"].(pdfx.Array)
	if len(br) != 4 {
		return -1
	}
	c, _ := pdfx.Int(br[2])
	dd, _ := pdfx.Int(br[3])
	return c + dd
}

// readerAt returns a reader of the revision ending at end.
func (d *pdfDoc) readerAt(end int64) (*pdfx.Reader, error) {
	if end == d.final.Size() {
		return d.final, nil
	}
	if r, ok := d.readers[end]; ok {
		return r, nil
	}
	r, err := d.final.Revision(end)
	if err != nil {
		return nil, err
	}
	d.readers[end] = r
	return r, nil
}

var objHeader = regexp.MustCompile(`^(\d+)\s+(\d+)\s+obj\b`)

// verifyOne checks one signature: its byte range, its value (a CMS
// signature or a document timestamp) and what later revisions changed.
// proof says what proves the time of what the signature covers.
func (d *pdfDoc) verifyOne(ctx context.Context, f sigField, inter []*x509.Certificate, proof tokenProof) *PDFSignature {
	s := &PDFSignature{Result: &Result{TrustedTime: d.v.now(), TimeSource: TimeSourceVerificationTime}, Field: f.name, Kind: KindApproval}
	if f.sig == nil || f.sigRef == (pdfx.Ref{}) {
		s.add(CheckFormat, Invalid, "the signature field's value is not a readable indirect signature dictionary")
		return s
	}
	d.describe(f, s)
	der, reason := d.checkByteRange(f, s)
	if reason != "" {
		s.add(CheckByteRange, Invalid, reason)
		return s
	}
	s.add(CheckByteRange, Valid, "")
	if d.checkValue(ctx, s, der, inter, proof) {
		d.checkIntegrity(s)
	}
	return s
}

// describe fills in what the signature dictionary says of itself.
func (d *pdfDoc) describe(f sigField, s *PDFSignature) {
	r := d.final
	s.SubFilter = nameOf(f.sig["SubFilter"])
	s.Name = textOf(r, f.sig["Name"])
	s.Reason = textOf(r, f.sig["Reason"])
	s.Location = textOf(r, f.sig["Location"])
	if m := textOf(r, f.sig["M"]); m != "" {
		if t, ok := parsePDFDate(m); ok {
			s.ClaimedTime = &t
		}
	}
	if nameOf(f.sig["Type"]) == "DocTimeStamp" || s.SubFilter == "ETSI.RFC3161" {
		s.Kind = KindDocumentTimestamp
	}
	if d.mdpRef != nil && *d.mdpRef == f.sigRef {
		s.Kind = KindCertification
		s.DocMDP = docMDPLevel(r, f.sig)
	}
}

// checkValue verifies the CMS signature or document timestamp der over the
// byte range, and reports whether the checks may go on.
func (d *pdfDoc) checkValue(ctx context.Context, s *PDFSignature, der []byte, inter []*x509.Certificate, proof tokenProof) bool {
	v, br := d.v, s.ByteRange
	dig := func(h crypto.Hash) ([]byte, error) {
		hh := h.New()
		if _, err := io.Copy(hh, io.NewSectionReader(d.ra, br[0], br[1])); err != nil {
			return nil, err
		}
		if _, err := io.Copy(hh, io.NewSectionReader(d.ra, br[2], br[3])); err != nil {
			return nil, err
		}
		return hh.Sum(nil), nil
	}
	switch s.SubFilter {
	case "adbe.pkcs7.detached", "ETSI.CAdES.detached":
		sd, err := parseSignedData(der, v.maxSig)
		if err != nil {
			s.add(CheckFormat, Invalid, err.Error())
			return false
		}
		if sd.HasEContent || len(sd.SignerInfos) != 1 {
			s.add(CheckFormat, Invalid, "a PDF signature must be a detached CMS with one signer")
			return false
		}
		rs, err := v.verifySignedData(ctx, sd, dig, signedDataCtx{extra: inter, ev: d.evidence, poe: proof.poe, dss: d.dss})
		if err != nil {
			s.add(CheckFormat, Invalid, err.Error())
			return false
		}
		pre := s.Result.Checks
		*s.Result = *rs[0]
		s.Result.Checks = append(pre, s.Result.Checks...)
		s.Result.Verdict = Valid
		for _, c := range s.Result.Checks {
			s.Result.Verdict = worst(s.Result.Verdict, c.Verdict)
		}
	case "ETSI.RFC3161":
		s.TimestampPresent = true
		tr := v.verifyTimestamp(ctx, der, dig, v.now(), proof, d.evidence)
		s.token = tr
		if tr.verdict != Valid {
			s.addSub(CheckTimestamp, tr.verdict, tr.sub, tr.reason)
			return false
		}
		s.add(CheckTimestamp, Valid, tr.check())
		s.TrustedTime, s.TimeSource = tr.gen, TimeSourceTimestamp
	default:
		s.add(CheckFormat, Invalid, fmt.Sprintf("unsupported /SubFilter %q", s.SubFilter))
		return false
	}
	return true
}

// checkIntegrity judges what the revisions after the signed one changed.
func (d *pdfDoc) checkIntegrity(s *PDFSignature) {
	end := s.ByteRange[2] + s.ByteRange[3]
	s.CoversDocument = end == d.size
	if s.CoversDocument {
		s.add(CheckIntegrity, Valid, "the signature covers the whole document")
		return
	}
	var changes []string
	if d.unreadable != nil {
		changes = append(changes, "later revision unreadable ("+reasonOf(d.unreadable)+")")
	}
	if end != d.final.Size() {
		more, err := d.changesAfter(end, s.Kind == KindCertification, d.permission(s))
		if err != nil && len(changes) == 0 {
			s.add(CheckIntegrity, Indeterminate, "later revisions could not be analysed: "+err.Error())
			return
		}
		changes = append(changes, more...)
	}
	if len(changes) > 0 {
		s.ModifiedAfterSigning = true
		s.Changes = changes
		s.add(CheckIntegrity, Invalid, "modified after signing: "+strings.Join(changes, "; "))
		return
	}
	s.add(CheckIntegrity, Valid, "later revisions only made allowed changes")
}

// permission returns the DocMDP level that governs changes after s: the
// certification signature's P, else 2 (form filling and signing).
func (d *pdfDoc) permission(s *PDFSignature) int {
	if d.mdpRef != nil {
		if sd := dictOf(d.final, *d.mdpRef); sd != nil {
			return docMDPLevel(d.final, sd)
		}
	}
	return 2
}

func docMDPLevel(r *pdfx.Reader, sig pdfx.Dict) int {
	refs, _ := resolve(r, sig["Reference"]).(pdfx.Array)
	for _, ro := range refs {
		rd := dictOf(r, ro)
		if nameOf(rd["TransformMethod"]) != "DocMDP" {
			continue
		}
		tp := dictOf(r, rd["TransformParams"])
		if p, ok := pdfx.Int(tp["P"]); ok && p >= 1 && p <= 3 {
			return int(p)
		}
		return 2
	}
	return 2
}

// checkByteRange applies the /ByteRange rules and returns the CMS DER
// (without its zero padding).
func (d *pdfDoc) checkByteRange(f sigField, s *PDFSignature) ([]byte, string) {
	arr, ok := f.sig["ByteRange"].(pdfx.Array)
	if !ok || len(arr) != 4 {
		return nil, "/ByteRange must be a direct array of four integers"
	}
	for i, o := range arr {
		n, ok := o.(int64)
		if !ok {
			return nil, "/ByteRange must hold integers"
		}
		s.ByteRange[i] = n
	}
	// The ranges are [a, a+n) and [c, c+dd); the gap lies between.
	a, n, c, dd := s.ByteRange[0], s.ByteRange[1], s.ByteRange[2], s.ByteRange[3]
	if a != 0 {
		return nil, fmt.Sprintf("/ByteRange %v does not start at 0: the start of the file is not signed", s.ByteRange)
	}
	b := a + n // the gap starts here
	if n <= 0 || c <= b+1 || dd < 0 || c+dd > d.size {
		return nil, fmt.Sprintf("/ByteRange %v is not a range, a gap, then a range inside the file", s.ByteRange)
	}
	end := c + dd
	rev := slices.Index(d.eofs, end)
	if rev < 0 {
		return nil, "the signed range does not end at a revision's %%EOF"
	}
	s.Revision = rev + 1
	if c-b > int64(2*d.v.maxSig+2) {
		return nil, "the /Contents gap exceeds the signature size limit"
	}
	// The gap, its decoding and the CMS parsed from it are charged to the
	// document's budget: a hundred signatures each claiming most of the
	// file must not cost a hundred files.
	if err := d.budget.Spend(costCMSParse * (c - b)); err != nil {
		return nil, err.Error()
	}
	gap := make([]byte, c-b)
	if _, err := d.ra.ReadAt(gap, b); err != nil {
		return nil, "cannot read the /Contents gap"
	}
	if gap[0] != '<' || gap[len(gap)-1] != '>' || len(gap)%2 != 0 {
		return nil, "the gap is not exactly one hexadecimal string"
	}
	raw := make([]byte, (len(gap)-2)/2)
	if _, err := hex.Decode(raw, gap[1:len(gap)-1]); err != nil {
		return nil, "the gap is not exactly one hexadecimal string"
	}
	contents, ok := f.sig["Contents"].(pdfx.String)
	if !ok || !bytes.Equal(contents, raw) {
		return nil, "the gap is not the signature dictionary's /Contents"
	}
	// The gap must be the /Contents of the signature dictionary as the
	// signed revision stores it.
	sr, err := d.readerAt(end)
	if err != nil {
		return nil, "the signed revision cannot be read: " + err.Error()
	}
	if why := d.wrapped(sr, f, b); why != "" {
		return nil, why
	}
	sigInRev := dictOf(sr, f.sigRef)
	if sigInRev == nil || !d.equalObj(sigInRev, f.sig, 0) {
		return nil, "the signature dictionary was replaced after signing"
	}
	// The CMS is the first DER or BER element; the rest is zero padding.
	el, rest, err := icms.FirstElement(raw)
	if err != nil || len(el) == 0 || el[0] != 0x30 {
		return nil, "/Contents does not hold a DER or BER structure"
	}
	for _, z := range rest {
		if z != 0 {
			return nil, "/Contents has data after the signature"
		}
	}
	return el, ""
}

// wrapped says why the gap starting at b is not the /Contents value of
// the signature dictionary as the signed revision sr stores it ("" when it
// is): the dictionary must be an object of the file, not of an object
// stream, that starts before the gap, with nothing but its own keys
// between its header and the gap. A gap elsewhere, even one holding the
// same bytes, is signature wrapping.
func (d *pdfDoc) wrapped(sr *pdfx.Reader, f sigField, b int64) string {
	e, ok := sr.Lookup(f.sigRef.Num)
	if !ok || e.Type != pdfx.EntryInFile || e.Offset >= b || b-e.Offset > maxObjHeader {
		return "the signature dictionary of the signed revision does not hold the gap"
	}
	if err := d.budget.Spend(b - e.Offset); err != nil {
		return err.Error()
	}
	head := make([]byte, b-e.Offset)
	if _, err := d.ra.ReadAt(head, e.Offset); err != nil {
		return "cannot read the signature dictionary"
	}
	m := objHeader.FindSubmatch(head)
	if m == nil || string(m[1]) != fmt.Sprint(f.sigRef.Num) ||
		bytes.Contains(head, []byte("endobj")) || bytes.Contains(head, []byte("stream")) ||
		!bytes.HasSuffix(bytes.TrimRight(head, " \t\r\n\f\x00"), []byte("/Contents")) {
		return "the gap is not the /Contents value of the signature dictionary (signature wrapping)"
	}
	return ""
}

// parsePDFDate parses D:YYYYMMDDHHmmSS with an optional offset.
func parsePDFDate(s string) (time.Time, bool) {
	s = strings.TrimPrefix(s, "D:")
	if len(s) < 14 {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102150405", s[:14])
	if err != nil {
		return time.Time{}, false
	}
	rest := strings.ReplaceAll(s[14:], "'", "")
	if len(rest) >= 5 && (rest[0] == '+' || rest[0] == '-') {
		if off, err := time.Parse("-0700", rest[:5]); err == nil {
			_, o := off.Zone()
			t = t.Add(-time.Duration(o) * time.Second)
		}
	}
	return t.UTC(), true
}
