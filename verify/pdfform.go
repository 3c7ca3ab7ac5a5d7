package verify

import (
	"fmt"

	"github.com/roamsign/roamsign/internal/pdfx"
)

// Form filling, as DocMDP P=2 and 3 allow it after a certification and as
// approval signatures are judged: a later revision may change the value
// and the appearance of an existing form field that a reader can see and
// fill in. Anything else about fields and widgets (making a hidden field
// visible, moving or resizing a widget, changing field flags, adding
// widgets or annotations to pages) is a modification.

// Annotation flags (ISO 32000-2, 12.5.3) and field flags (12.7.4.1).
const (
	annotHidden   = 1 << 1
	annotNoView   = 1 << 5
	fieldReadOnly = 1 << 0
)

// maxWidgets bounds the widgets examined for one field.
const maxWidgets = 1_000

// field judges a changed field dictionary (a field merged with its widget,
// or a field with widget kids).
func (c *changeCheck) field(ref pdfx.Ref, od, nd pdfx.Dict) {
	if fieldType(c.old, od) == "Sig" {
		// An empty signature field may be signed; a value never changes.
		for _, k := range changedKeys(c, od, nd) {
			switch k {
			case "AP", "AS":
			case "V":
				if od["V"] != nil {
					c.bad(fmt.Sprintf("signature field %d: the signature value was replaced", ref.Num))
				}
			default:
				c.bad(fmt.Sprintf("signature field %d: /%s was changed", ref.Num, k))
			}
		}
		return
	}
	if c.p < 2 {
		c.bad(fmt.Sprintf("form field %d was filled in (DocMDP P=1)", ref.Num))
		return
	}
	filled := false
	for _, k := range changedKeys(c, od, nd) {
		switch k {
		case "V", "AS", "AP":
			filled = true
		default:
			c.bad(fmt.Sprintf("form field %d: /%s was changed", ref.Num, k))
		}
	}
	if why := c.notFillable(od); filled && why != "" {
		c.bad(fmt.Sprintf("form field %d was filled in although %s", ref.Num, why))
	}
}

// widget judges a changed widget annotation: only its appearance may
// change, and only when its field can be filled in and it can be seen.
func (c *changeCheck) widget(ref pdfx.Ref, od, nd pdfx.Dict) {
	c.onlyKeys(ref, "widget", od, nd, "AS", "AP")
	if c.p < 2 {
		c.bad(fmt.Sprintf("widget %d: its appearance was changed (DocMDP P=1)", ref.Num))
		return
	}
	if why := c.notFillableWidget(od); why != "" {
		c.bad(fmt.Sprintf("widget %d: its appearance was changed although %s", ref.Num, why))
	}
}

// notFillable says why field d of the signed revision cannot be filled in
// ("" when it can): it is read-only, or none of its widgets can be seen.
func (c *changeCheck) notFillable(d pdfx.Dict) string {
	if fieldFlags(c.old, d)&fieldReadOnly != 0 {
		return "it is read-only"
	}
	for _, w := range widgetsOf(c.old, d) {
		if visible(c.old, w) {
			return ""
		}
	}
	return "it is hidden"
}

// notFillableWidget is notFillable for one widget of a field.
func (c *changeCheck) notFillableWidget(w pdfx.Dict) string {
	if fieldFlags(c.old, w)&fieldReadOnly != 0 {
		return "its field is read-only"
	}
	if !visible(c.old, w) {
		return "it is hidden"
	}
	return ""
}

// fieldFlags returns the (possibly inherited) /Ff of a field or widget.
func fieldFlags(r *pdfx.Reader, d pdfx.Dict) int64 {
	for i := 0; d != nil && i < maxPDFDepth; i++ {
		if ff, ok := pdfx.Int(resolve(r, d["Ff"])); ok {
			return ff
		}
		d = dictOf(r, d["Parent"])
	}
	return 0
}

// widgetsOf returns the widgets of field d: d itself when it is merged
// with its widget, and its kids that are widgets.
func widgetsOf(r *pdfx.Reader, d pdfx.Dict) []pdfx.Dict {
	var out []pdfx.Dict
	if nameOf(d["Subtype"]) == "Widget" {
		out = append(out, d)
	}
	kids, _ := resolve(r, d["Kids"]).(pdfx.Array)
	for i, k := range kids {
		if i >= maxWidgets {
			break
		}
		if w := dictOf(r, k); w != nil && nameOf(w["Subtype"]) == "Widget" {
			out = append(out, w)
		}
	}
	return out
}

// visible reports whether a widget can be seen: not hidden, not NoView,
// and a rectangle with an area.
func visible(r *pdfx.Reader, w pdfx.Dict) bool {
	if f, _ := pdfx.Int(resolve(r, w["F"])); f&(annotHidden|annotNoView) != 0 {
		return false
	}
	rect, _ := resolve(r, w["Rect"]).(pdfx.Array)
	if len(rect) != 4 {
		return false
	}
	var v [4]float64
	for i, o := range rect {
		n, ok := pdfx.Num(o)
		if !ok {
			return false
		}
		v[i] = n
	}
	return v[2] != v[0] && v[3] != v[1]
}

// appearanceStream reports whether the changed object ref (o before, n
// after) is an appearance stream, redrawn, of a visible widget of a field
// that can be filled in (under DocMDP P ≥ 2).
func (c *changeCheck) appearanceStream(ref pdfx.Ref, o, n pdfx.Object) bool {
	_, s1 := o.(*pdfx.Stream)
	_, s2 := n.(*pdfx.Stream)
	if !s1 || !s2 || c.p < 2 {
		return false
	}
	if c.appearances == nil {
		c.appearances = map[pdfx.Ref]bool{}
		c.collectAppearances()
	}
	return c.appearances[ref]
}

// collectAppearances records the appearance streams of the visible
// widgets of the fillable fields of the signed revision.
func (c *changeCheck) collectAppearances() {
	r := c.old
	root := dictOf(r, r.Trailer()["Root"])
	acro := dictOf(r, root["AcroForm"])
	fields, _ := resolve(r, acro["Fields"]).(pdfx.Array)
	count := 0
	var walk func(o pdfx.Object, depth int)
	walk = func(o pdfx.Object, depth int) {
		f := dictOf(r, o)
		if f == nil || depth > maxPDFDepth || count > maxPDFFields {
			return
		}
		count++
		ft := fieldType(r, f)
		if ft != "" && ft != "Sig" && c.notFillable(f) == "" {
			for _, w := range widgetsOf(r, f) {
				if visible(r, w) {
					c.addAppearance(w)
				}
			}
		}
		kids, _ := resolve(r, f["Kids"]).(pdfx.Array)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, f := range fields {
		walk(f, 0)
	}
}

// addAppearance records the streams of a widget's /AP: each of /N, /R
// and /D, a stream or a dictionary of appearance states.
func (c *changeCheck) addAppearance(w pdfx.Dict) {
	ap := dictOf(c.old, w["AP"])
	for _, k := range []pdfx.Name{"N", "R", "D"} {
		switch v := ap[k].(type) {
		case pdfx.Ref:
			if states := dictOf(c.old, v); states != nil {
				for _, s := range states {
					if ref, ok := s.(pdfx.Ref); ok {
						c.appearances[ref] = true
					}
				}
			}
			c.appearances[v] = true
		case pdfx.Dict:
			for _, s := range v {
				if ref, ok := s.(pdfx.Ref); ok {
					c.appearances[ref] = true
				}
			}
		}
	}
}
