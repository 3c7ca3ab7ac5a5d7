package pdf

import (
	"errors"
	"io"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

const maxFields = 100_000

// update is the incremental update that adds one signature: its bytes
// and the /ByteRange and /Contents placeholders (offsets absolute in the
// signed file) that are filled in once the signature exists.
type update struct {
	bytes               []byte
	byteRange, contents *pdfx.Placeholder
	// sig is the signature dictionary's object, field its field's name.
	sig   pdfx.Ref
	field string
}

// builder collects the objects of the update, one part at a time.
type builder struct {
	r   *pdfx.Reader
	u   *pdfx.Update
	sp  sigParams
	cat pdfx.Dict // the catalog, cloned; written back when catChanged
	// catChanged is set when the catalog itself must be rewritten.
	catChanged bool
	rootRef    pdfx.Ref
	pageRef    pdfx.Ref
	page       pdfx.Dict
	// The new objects: signature dictionary, widget (merged with its
	// field) and the widget's appearance.
	sigRef, widgetRef, apRef pdfx.Ref
	up                       update
	// esic is the ESIC extension level the update needs declared in the
	// catalog (see declareESIC).
	esic int64
}

const buildOp = "pdf.Prepare"

// buildUpdate reads the document and builds the incremental update that
// adds the signature field, its widget annotation on the page, the
// signature dictionary and the appearance.
func buildUpdate(ra io.ReaderAt, size int64, sp sigParams) (up *update, err error) {
	defer func() {
		// The reader is written not to panic; this is the package boundary
		// guarantee should a bug slip through.
		if p := recover(); p != nil {
			up, err = nil, roamsign.E(roamsign.ErrInvalidInput, buildOp, "malformed PDF (%v)", p)
		}
	}()
	r, err := pdfx.Open(ra, size, pdfx.Limits{})
	if err != nil {
		return nil, refusal(buildOp, err)
	}
	b, err := newBuilder(r, sp)
	if err != nil {
		return nil, err
	}
	name, err := b.field()
	if err != nil {
		return nil, err
	}
	b.signature()
	b.up.field = name
	if err := b.widget(name); err != nil {
		return nil, err
	}
	if err := b.annotation(); err != nil {
		return nil, err
	}
	return b.finish()
}

// newBuilder checks that the document can take the signature and finds
// the page it goes on.
func newBuilder(r *pdfx.Reader, sp sigParams) (*builder, error) {
	if r.Encrypted() {
		return nil, errEncrypted(buildOp, r)
	}
	cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	if cat["Type"] != nil && cat["Type"] != pdfx.Name("Catalog") {
		return nil, roamsign.E(roamsign.ErrInvalidInput, buildOp, "/Root is not a document catalog")
	}
	if err := checkDocMDP(r, cat, sp.certify); err != nil {
		return nil, err
	}
	pageNo := 1
	if sp.app != nil && sp.app.Page > 0 {
		pageNo = sp.app.Page
	}
	pageRef, page, err := findPage(r, cat["Pages"], pageNo)
	if err != nil {
		return nil, err
	}
	b := &builder{r: r, u: r.NewUpdate(), sp: sp, cat: cat.Clone(), rootRef: r.Trailer()["Root"].(pdfx.Ref), pageRef: pageRef, page: page, esic: esicCAdES}
	b.u.Grow(2*sp.contentsSize + 4096)
	b.sigRef, b.widgetRef, b.apRef = b.u.Alloc(), b.u.Alloc(), b.u.Alloc()
	return b, nil
}

// field adds the signature field to the AcroForm (created when missing),
// sets /SigFlags, and returns the field's name: the one asked for, which
// must be new, or the first free "Signature<n>".
func (b *builder) field() (string, error) {
	acro, acroRef, err := b.acroForm()
	if err != nil {
		return "", err
	}
	fieldsObj, err := b.r.Resolve(acro["Fields"])
	if err != nil {
		return "", err
	}
	fields, _ := fieldsObj.(pdfx.Array)
	if len(fields) > maxFields {
		return "", roamsign.E(roamsign.ErrTooLarge, buildOp, "more than %d form fields", maxFields)
	}
	names := map[string]bool{}
	for _, f := range fields {
		fd, err := b.r.ResolveDict(f, "form field")
		if err != nil {
			if errors.Is(err, roamsign.ErrInvalidInput) {
				continue
			}
			return "", err
		}
		if t, ok := fd["T"].(pdfx.String); ok {
			names[string(t)] = true
		}
	}
	name := b.sp.field
	if name == "" {
		for i := 1; ; i++ {
			if name = "Signature" + itoa(i); !names[name] {
				break
			}
		}
	} else if names[name] {
		return "", roamsign.E(roamsign.ErrConflict, buildOp, "a form field named %q already exists", name)
	}
	acro["Fields"] = append(append(pdfx.Array{}, fields...), b.widgetRef)
	flags, _ := pdfx.Int(acro["SigFlags"])
	acro["SigFlags"] = flags | 3
	if acroRef != nil {
		b.u.Put(*acroRef, acro)
	} else {
		b.cat["AcroForm"] = b.u.Add(acro)
		b.catChanged = true
	}
	return name, nil
}

// acroForm returns a copy of the document's AcroForm (empty when there is
// none) and its reference when it is an indirect object.
func (b *builder) acroForm() (pdfx.Dict, *pdfx.Ref, error) {
	switch a := b.cat["AcroForm"].(type) {
	case pdfx.Ref:
		acro, err := b.r.ResolveDict(a, "/AcroForm")
		if err != nil {
			return nil, nil, err
		}
		return acro.Clone(), &a, nil
	case pdfx.Dict:
		return a.Clone(), nil, nil
	case nil:
		return pdfx.Dict{}, nil, nil
	}
	return nil, nil, roamsign.E(roamsign.ErrInvalidInput, buildOp, "/AcroForm is not a dictionary")
}

// signature adds the signature dictionary with its /ByteRange and
// /Contents placeholders and, for a certification, the DocMDP reference
// and the catalog's /Perms.
func (b *builder) signature() {
	sp := b.sp
	b.up.byteRange = &pdfx.Placeholder{Width: 60, Fill: ' '}
	b.up.contents = &pdfx.Placeholder{Width: 2 * sp.contentsSize, Fill: '0', Prefix: "<", Suffix: ">"}
	sig := pdfx.Dict{
		"Type":       pdfx.Name("Sig"),
		"Filter":     pdfx.Name("Adobe.PPKLite"),
		"SubFilter":  pdfx.Name("ETSI.CAdES.detached"),
		"ByteRange":  b.up.byteRange,
		"Contents":   b.up.contents,
		"M":          pdfDate(sp.when),
		"Prop_Build": pdfx.Dict{"App": pdfx.Dict{"Name": pdfx.Name("roamsign")}},
	}
	for k, v := range map[pdfx.Name]string{"Name": sp.name, "Reason": sp.reason, "Location": sp.location, "ContactInfo": sp.contact} {
		if v != "" {
			sig[k] = pdfx.TextString(v)
		}
	}
	if sp.certify != Approval {
		sig["Reference"] = pdfx.Array{pdfx.Dict{
			"Type":            pdfx.Name("SigRef"),
			"TransformMethod": pdfx.Name("DocMDP"),
			"TransformParams": pdfx.Dict{
				"Type": pdfx.Name("TransformParams"),
				"P":    int64(sp.certify),
				"V":    pdfx.Name("1.2"),
			},
		}}
		perms, _ := b.r.ResolveDict(b.cat["Perms"], "/Perms")
		perms = perms.Clone()
		perms["DocMDP"] = b.sigRef
		b.cat["Perms"] = perms
		b.catChanged = true
	}
	b.u.Put(b.sigRef, sig)
	b.up.sig = b.sigRef
}

// annotation adds the widget to the page's /Annots: the array object
// itself when it is indirect, else the page.
func (b *builder) annotation() error {
	page := b.page.Clone()
	switch a := page["Annots"].(type) {
	case pdfx.Ref:
		arrObj, err := b.r.Get(a)
		if err != nil {
			return err
		}
		arr, _ := arrObj.(pdfx.Array)
		b.u.Put(a, append(append(pdfx.Array{}, arr...), b.widgetRef))
	case pdfx.Array:
		page["Annots"] = append(append(pdfx.Array{}, a...), b.widgetRef)
		b.u.Put(b.pageRef, page)
	default:
		page["Annots"] = pdfx.Array{b.widgetRef}
		b.u.Put(b.pageRef, page)
	}
	return nil
}

// finish writes the catalog when it changed and serializes the update.
func (b *builder) finish() (*update, error) {
	if cat, changed := declareESIC(b.r, b.cat, b.esic); changed {
		b.cat, b.catChanged = cat, true
	}
	if b.catChanged {
		b.u.Put(b.rootRef, b.cat)
	}
	// Lookups that failed on the reader's budget read as missing objects;
	// an update built on a cut-short reading is not returned.
	if err := b.r.Budget().Err(); err != nil {
		return nil, err
	}
	var err error
	if b.up.bytes, err = b.u.Bytes(); err != nil {
		return nil, err
	}
	return &b.up, nil
}

// checkDocMDP refuses to add a signature a certification forbids, and a
// certification signature to a document that already has signatures.
func checkDocMDP(r *pdfx.Reader, cat pdfx.Dict, certify Permission) error {
	const op = "pdf.Prepare"
	if perms, err := r.ResolveDict(cat["Perms"], "/Perms"); err == nil && perms["DocMDP"] != nil {
		if certify != Approval {
			return roamsign.E(roamsign.ErrConflict, op, "the document is already certified; only approval signatures can be added")
		}
		sig, err := r.ResolveDict(perms["DocMDP"], "DocMDP signature")
		if err != nil {
			return err
		}
		refs, _ := r.Resolve(sig["Reference"])
		arr, _ := refs.(pdfx.Array)
		for _, ref := range arr {
			rd, err := r.ResolveDict(ref, "signature reference")
			if err != nil || rd["TransformMethod"] != pdfx.Name("DocMDP") {
				continue
			}
			tp, _ := r.ResolveDict(rd["TransformParams"], "TransformParams")
			p, ok := pdfx.Int(tp["P"])
			if !ok {
				p = 2
			}
			if p == 1 {
				return roamsign.E(roamsign.ErrConflict, op, "the document is certified with no changes allowed (DocMDP P=1)")
			}
		}
	}
	if certify == Approval {
		return nil
	}
	acro, _ := r.ResolveDict(cat["AcroForm"], "/AcroForm")
	fo, _ := r.Resolve(acro["Fields"])
	fields, _ := fo.(pdfx.Array)
	for _, f := range fields {
		fd, err := r.ResolveDict(f, "form field")
		if err == nil && fd["FT"] == pdfx.Name("Sig") && fd["V"] != nil {
			return roamsign.E(roamsign.ErrConflict, op, "a certification signature must be the first signature of the document")
		}
	}
	return nil
}

// findPage returns the n-th (1-based) page of the page tree.
func findPage(r *pdfx.Reader, root pdfx.Object, n int) (pdfx.Ref, pdfx.Dict, error) {
	const op = "pdf.Prepare"
	count := 0
	visited := 0
	var walk func(o pdfx.Object, depth int) (pdfx.Ref, pdfx.Dict, error)
	walk = func(o pdfx.Object, depth int) (pdfx.Ref, pdfx.Dict, error) {
		visited++
		if depth > maxPageTreeDepth || visited > 1_000_000 {
			return pdfx.Ref{}, nil, roamsign.E(roamsign.ErrInvalidInput, op, "page tree too deep or cyclic")
		}
		ref, isRef := o.(pdfx.Ref)
		d, err := r.ResolveDict(o, "page tree node")
		if err != nil {
			return pdfx.Ref{}, nil, err
		}
		kidsObj, err := r.Resolve(d["Kids"])
		if err != nil {
			return pdfx.Ref{}, nil, err
		}
		kids, isNode := kidsObj.(pdfx.Array)
		if d["Type"] == pdfx.Name("Page") || (!isNode && d["Type"] != pdfx.Name("Pages")) {
			count++
			if count == n {
				if !isRef {
					return pdfx.Ref{}, nil, roamsign.E(roamsign.ErrInvalidInput, op, "page %d is not an indirect object", n)
				}
				return ref, d, nil
			}
			return pdfx.Ref{}, nil, nil
		}
		if c, ok := pdfx.Int(d["Count"]); ok && c >= 0 && count+int(c) < n && depth > 0 {
			count += int(c)
			return pdfx.Ref{}, nil, nil
		}
		for _, k := range kids {
			pr, pd, err := walk(k, depth+1)
			if err != nil || pd != nil {
				return pr, pd, err
			}
		}
		return pdfx.Ref{}, nil, nil
	}
	pr, pd, err := walk(root, 0)
	if err != nil {
		return pr, nil, err
	}
	if pd == nil {
		return pr, nil, roamsign.E(roamsign.ErrInvalidInput, op, "the document has no page %d", n)
	}
	return pr, pd, nil
}
