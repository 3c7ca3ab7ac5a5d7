package verify

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// maxReported bounds the change descriptions of one signature.
const maxReported = 20

// maxDirectPairs bounds the pairwise comparisons of direct objects in an
// array (form fields, annotations) whose entries are usually references.
const maxDirectPairs = 10_000

// changesAfter compares the revision ending at end with the current one and
// describes every change that DocMDP level p does not allow.
func (d *pdfDoc) changesAfter(end int64, certification bool, p int) ([]string, error) {
	old, err := d.readerAt(end)
	if err != nil {
		return nil, err
	}
	cur := d.final
	// Every object whose current cross-reference entry differs from the
	// signed revision's is examined, wherever the newer cross-reference
	// data lies (a prepared table hidden inside the signed bytes included).
	c := &changeCheck{old: old, cur: cur, p: p, d: d}
	if oldRoot, curRoot := old.Trailer()["Root"], cur.Trailer()["Root"]; oldRoot != curRoot {
		c.bad("the document catalog was replaced")
	}
	c.infoRef, _ = cur.Trailer()["Info"].(pdfx.Ref)
	c.rootRef, _ = cur.Trailer()["Root"].(pdfx.Ref)
	if err := cur.Changes(old, c.object); err != nil {
		return nil, err
	}
	return c.out, nil
}

// object judges one object whose cross-reference entry changed.
func (c *changeCheck) object(ch pdfx.Change) error {
	n, oe, ne := ch.Num, ch.Was, ch.Now
	oldLive := ch.InOld && oe.Type != pdfx.EntryFree
	newLive := ch.InR && ne.Type != pdfx.EntryFree
	switch {
	case !oldLive:
		return nil // a new object takes effect only through a changed old one
	case !newLive:
		c.bad(fmt.Sprintf("object %d was deleted", n))
		return nil
	}
	oref := pdfx.Ref{Num: n, Gen: oe.Gen}
	nref := pdfx.Ref{Num: n, Gen: ne.Gen}
	if oe.Type == pdfx.EntryCompressed {
		oref.Gen = 0
	}
	if ne.Type == pdfx.EntryCompressed {
		nref.Gen = 0
	}
	if oref.Gen != nref.Gen {
		c.bad(fmt.Sprintf("object %d was replaced by a new generation", n))
		return nil
	}
	o, err1 := c.old.Get(oref)
	nw, err2 := c.cur.Get(nref)
	switch {
	case errors.Is(err1, roamsign.ErrTooLarge) || errors.Is(err2, roamsign.ErrTooLarge):
		return cmp.Or(err1, err2) // the document's budget is spent
	case err2 != nil:
		// Cross-reference tricks (an entry pointing at another object, at
		// the same offset as another entry, into an object stream that
		// does not hold the object) change what the object is.
		c.bad(fmt.Sprintf("object %d: its new cross-reference entry (%v) does not lead to it: %s", n, ne, reasonOf(err2)))
		return nil
	case err1 != nil:
		c.bad(fmt.Sprintf("object %d was replaced, and cannot be read in the signed revision: %s", n, reasonOf(err1)))
		return nil
	}
	if c.d.equalObj(o, nw, 0) {
		return nil
	}
	c.classify(oref, o, nw)
	return nil
}

type changeCheck struct {
	d        *pdfDoc
	old, cur *pdfx.Reader
	p        int
	rootRef  pdfx.Ref
	infoRef  pdfx.Ref
	out      []string
	// appearances are the appearance streams of the fillable, visible
	// widgets of the signed revision (made when first needed).
	appearances map[pdfx.Ref]bool
}

// reasonOf returns the message of a roamsign error without its operation.
func reasonOf(err error) string {
	var e *roamsign.Error
	if errors.As(err, &e) && e.Msg != "" {
		return e.Msg
	}
	return err.Error()
}

func (c *changeCheck) bad(s string) {
	if len(c.out) < maxReported {
		c.out = append(c.out, s)
	}
}

// classify judges one changed object.
func (c *changeCheck) classify(ref pdfx.Ref, o, n pdfx.Object) {
	if ref == c.infoRef {
		return // document information (metadata) may be updated
	}
	od, ok1 := o.(pdfx.Dict)
	nd, ok2 := n.(pdfx.Dict)
	if !ok1 || !ok2 {
		if c.appearanceStream(ref, o, n) {
			return // a fillable field's appearance, redrawn
		}
		c.bad(fmt.Sprintf("object %d (%s) was changed", ref.Num, kindOf(o)))
		return
	}
	switch {
	case ref == c.rootRef:
		c.catalog(od, nd)
	case nameOf(od["Type"]) == "Page":
		c.page(ref, od, nd)
	case nameOf(od["Type"]) == "DSS":
		// Validation data may be extended.
	case isAcroForm(c.old, od):
		c.acroForm(od, nd)
	case od["ByteRange"] != nil:
		c.bad(fmt.Sprintf("signature dictionary %d was changed", ref.Num))
	case fieldType(c.old, od) != "":
		c.field(ref, od, nd)
	case nameOf(od["Type"]) == "Annot" || od["Subtype"] != nil && od["Rect"] != nil:
		if nameOf(od["Subtype"]) == "Widget" {
			c.widget(ref, od, nd)
			return
		}
		if c.p < 3 {
			c.bad(fmt.Sprintf("annotation %d was changed (DocMDP P=%d)", ref.Num, c.p))
		}
	default:
		c.bad(fmt.Sprintf("object %d (%s) was changed", ref.Num, kindOf(o)))
	}
}

func kindOf(o pdfx.Object) string {
	switch x := o.(type) {
	case pdfx.Dict:
		if t := nameOf(x["Type"]); t != "" {
			return t
		}
		return "dictionary"
	case *pdfx.Stream:
		if t := nameOf(x.Dict["Type"]); t != "" {
			return t + " stream"
		}
		return "stream"
	case pdfx.Array:
		return "array"
	}
	return fmt.Sprintf("%T", o)
}

func isAcroForm(r *pdfx.Reader, d pdfx.Dict) bool {
	_, has := d["Fields"]
	return has && d["Type"] == nil && d["Kids"] == nil
}

// fieldType returns the (possibly inherited) field type of a field or
// widget dictionary, "" for anything else.
func fieldType(r *pdfx.Reader, d pdfx.Dict) string {
	for i := 0; d != nil && i < maxPDFDepth; i++ {
		if ft := nameOf(d["FT"]); ft != "" {
			return ft
		}
		d = dictOf(r, d["Parent"])
	}
	return ""
}

// onlyKeys reports a change of any key other than allowed.
func (c *changeCheck) onlyKeys(ref pdfx.Ref, what string, od, nd pdfx.Dict, allowed ...string) {
	for _, k := range changedKeys(c, od, nd) {
		if !slices.Contains(allowed, string(k)) {
			c.bad(fmt.Sprintf("%s %d: /%s was changed", what, ref.Num, k))
		}
	}
}

func changedKeys(c *changeCheck, od, nd pdfx.Dict) []pdfx.Name {
	var out []pdfx.Name
	for k, v := range od {
		if !c.d.equalObj(v, nd[k], 0) {
			out = append(out, k)
		}
	}
	for k := range nd {
		if _, ok := od[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (c *changeCheck) catalog(od, nd pdfx.Dict) {
	for _, k := range changedKeys(c, od, nd) {
		switch k {
		case "DSS":
		case "Extensions", "Version":
			// The declarations of the features a PDF 1.x document now
			// uses (ETSI EN 319 142-1 clauses 5.3 and 5.4, ISO 32000-1
			// clause 7.7.2), as a PAdES signature or its /DSS adds them;
			// they change nothing that is shown.
			if !declaration(c.cur, k, nd[k]) {
				c.bad(fmt.Sprintf("document catalog: /%s was changed to something other than a declaration", k))
			}
		case "AcroForm":
			oa, na := dictOf(c.old, od[k]), dictOf(c.cur, nd[k])
			if na == nil {
				c.bad("the form was removed")
				continue
			}
			if oa == nil {
				oa = pdfx.Dict{}
			}
			if _, direct := nd[k].(pdfx.Dict); direct || od[k] == nil {
				c.acroForm(oa, na)
			}
		default:
			c.bad(fmt.Sprintf("document catalog: /%s was changed", k))
		}
	}
}

func (c *changeCheck) acroForm(od, nd pdfx.Dict) {
	for _, k := range changedKeys(c, od, nd) {
		switch k {
		case "SigFlags", "DR", "DA", "NeedAppearances":
		case "Fields":
			of, _ := resolve(c.old, od[k]).(pdfx.Array)
			nf, _ := resolve(c.cur, nd[k]).(pdfx.Array)
			c.addedOnly("form fields", of, nf, func(o pdfx.Object) bool {
				return c.newSignatureField(o)
			})
		default:
			c.bad(fmt.Sprintf("form: /%s was changed", k))
		}
	}
}

// addedOnly checks that nf keeps every element of of and that every added
// element passes ok. References are compared through sets; the few direct
// objects such arrays hold are compared pairwise, a bounded number.
func (c *changeCheck) addedOnly(what string, of, nf pdfx.Array, ok func(pdfx.Object) bool) {
	if c.d.budget.Spend(int64(64*(len(of)+len(nf)))) != nil {
		c.bad(what + ": too large to compare")
		return
	}
	oldRefs, newRefs := map[pdfx.Ref]bool{}, map[pdfx.Ref]bool{}
	var oldDirect, newDirect pdfx.Array
	for _, o := range of {
		if r, isRef := o.(pdfx.Ref); isRef {
			oldRefs[r] = true
		} else {
			oldDirect = append(oldDirect, o)
		}
	}
	for _, n := range nf {
		if r, isRef := n.(pdfx.Ref); isRef {
			newRefs[r] = true
		} else {
			newDirect = append(newDirect, n)
		}
	}
	if len(oldDirect)*len(newDirect) > maxDirectPairs {
		c.bad(what + ": too many direct entries to compare")
		return
	}
	for r := range oldRefs {
		if !newRefs[r] {
			c.bad(what + ": an entry was removed or replaced")
			return
		}
	}
	for _, o := range oldDirect {
		if !slices.ContainsFunc(newDirect, func(n pdfx.Object) bool { return c.d.equalObj(o, n, 0) }) {
			c.bad(what + ": an entry was removed or replaced")
			return
		}
	}
	for _, n := range nf {
		if r, isRef := n.(pdfx.Ref); isRef && oldRefs[r] {
			continue
		}
		if _, isRef := n.(pdfx.Ref); !isRef && slices.ContainsFunc(oldDirect, func(o pdfx.Object) bool { return c.d.equalObj(o, n, 0) }) {
			continue
		}
		if !ok(n) {
			c.bad(what + ": a disallowed entry was added")
			return
		}
	}
}

// newSignatureField reports whether o is a signature field (or its
// widget) added after signing; under P=1 only document timestamps are.
func (c *changeCheck) newSignatureField(o pdfx.Object) bool {
	d := dictOf(c.cur, o)
	if d == nil || fieldType(c.cur, d) != "Sig" {
		return false
	}
	if c.p == 1 {
		v := dictOf(c.cur, d["V"])
		return v != nil && nameOf(v["Type"]) == "DocTimeStamp"
	}
	return true
}

func (c *changeCheck) page(ref pdfx.Ref, od, nd pdfx.Dict) {
	for _, k := range changedKeys(c, od, nd) {
		if k != "Annots" {
			c.bad(fmt.Sprintf("page %d: /%s was changed", ref.Num, k))
			continue
		}
		oa, _ := resolve(c.old, od[k]).(pdfx.Array)
		na, _ := resolve(c.cur, nd[k]).(pdfx.Array)
		c.addedOnly(fmt.Sprintf("page %d annotations", ref.Num), oa, na, func(o pdfx.Object) bool {
			a := dictOf(c.cur, o)
			if a == nil {
				return false
			}
			if nameOf(a["Subtype"]) == "Widget" {
				return c.newSignatureField(o)
			}
			return c.p == 3
		})
	}
}

// equalObj compares two objects, resolving nothing: references compare by
// number. Streams compare by dictionary and encoded bytes.
func (d *pdfDoc) equalObj(a, b pdfx.Object, depth int) bool {
	if depth > maxPDFDepth {
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case pdfx.Dict:
		y, ok := b.(pdfx.Dict)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !d.equalObj(v, w, depth+1) {
				return false
			}
		}
		return true
	case pdfx.Array:
		y, ok := b.(pdfx.Array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !d.equalObj(x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	case pdfx.String:
		y, ok := b.(pdfx.String)
		return ok && bytes.Equal(x, y)
	case *pdfx.Stream:
		y, ok := b.(*pdfx.Stream)
		if !ok || x.Length != y.Length || !d.equalObj(x.Dict, y.Dict, depth+1) {
			return false
		}
		if x.Offset == y.Offset && x.Data == nil && y.Data == nil {
			return true
		}
		return d.sameStreamBytes(x, y)
	default:
		return a == b
	}
}

// sameStreamBytes compares the encoded data of two streams of one file,
// charging the bytes read to the document's budget (past it, the streams
// count as different).
func (d *pdfDoc) sameStreamBytes(x, y *pdfx.Stream) bool {
	if x.Data != nil || y.Data != nil {
		return bytes.Equal(x.Data, y.Data)
	}
	const chunk = 32 << 10
	if d.budget.Spend(2*x.Length+2*chunk) != nil {
		return false
	}
	bx, by := make([]byte, chunk), make([]byte, chunk)
	for off := int64(0); off < x.Length; off += chunk {
		n := min(int64(chunk), x.Length-off)
		if _, err := d.ra.ReadAt(bx[:n], x.Offset+off); err != nil && err != io.EOF {
			return false
		}
		if _, err := d.ra.ReadAt(by[:n], y.Offset+off); err != nil && err != io.EOF {
			return false
		}
		if !bytes.Equal(bx[:n], by[:n]) {
			return false
		}
	}
	return true
}

// declaration reports whether v, the new value of the catalog's key k, is
// a declaration: /Version a name, /Extensions a direct dictionary whose
// values are developer extension dictionaries or (PDF 2.0) arrays of them
// (ISO 32000-2 clause 7.12).
func declaration(r *pdfx.Reader, k pdfx.Name, v pdfx.Object) bool {
	if k == "Version" {
		_, ok := v.(pdfx.Name)
		return ok
	}
	ext, ok := v.(pdfx.Dict)
	if !ok {
		return false
	}
	for _, e := range ext {
		list, isArray := resolve(r, e).(pdfx.Array)
		if !isArray {
			list = pdfx.Array{e}
		}
		for _, d := range list {
			if dictOf(r, d) == nil {
				return false
			}
		}
	}
	return true
}
