package pdf

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/derset"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// Bounds of an existing /DSS that is read and merged.
const (
	maxDSSItems = 4096
	maxDSSBytes = 64 << 20
)

// dss is a document's security store (ETSI EN 319 142-1 clause 5.4.2, ISO
// 32000-2 clause 12.8.4.3) as read, and the update that extends it.
type dss struct {
	r    *pdfx.Reader
	ref  *pdfx.Ref // the /DSS object when it is indirect
	dict pdfx.Dict // a copy of the /DSS, empty when there is none
	// have finds the stream of each item's data, per array.
	have  map[pdfx.Name]*derset.Map[pdfx.Ref]
	known ValidationData
}

// dssArrays are the DSS keys, in the order of ValidationData's fields,
// with the matching key of a VRI entry.
var dssArrays = [3]struct{ dss, vri pdfx.Name }{{"Certs", "Cert"}, {"CRLs", "CRL"}, {"OCSPs", "OCSP"}}

func (d *ValidationData) lists() [3]*[][]byte {
	return [3]*[][]byte{&d.Certificates, &d.CRLs, &d.OCSPResponses}
}

// readDSS reads the /DSS of the document's catalog. Streams that cannot be
// read are kept as they are but not counted as known material.
func readDSS(r *pdfx.Reader, cat pdfx.Dict) (*dss, error) {
	d := &dss{r: r, dict: pdfx.Dict{}, have: map[pdfx.Name]*derset.Map[pdfx.Ref]{}}
	if ref, ok := cat["DSS"].(pdfx.Ref); ok {
		d.ref = &ref
	}
	if cat["DSS"] != nil {
		old, err := r.ResolveDict(cat["DSS"], "/DSS")
		if err != nil {
			return nil, err
		}
		d.dict = old.Clone()
	}
	count, total := 0, 0
	known := d.known.lists()
	for i, k := range dssArrays {
		d.have[k.dss] = &derset.Map[pdfx.Ref]{}
		arrObj, err := r.Resolve(d.dict[k.dss])
		if err != nil {
			return nil, err
		}
		arr, _ := arrObj.(pdfx.Array)
		d.dict[k.dss] = append(pdfx.Array(nil), arr...) // direct from now on
		for _, el := range arr {
			ref, ok := el.(pdfx.Ref)
			if count++; !ok || count > maxDSSItems || total > maxDSSBytes {
				continue
			}
			s, err := r.Get(ref)
			st, isStream := s.(*pdfx.Stream)
			if err != nil || !isStream {
				continue
			}
			data, err := r.StreamData(st)
			if err != nil {
				continue
			}
			total += len(data)
			d.have[k.dss].Add(data, ref)
			*known[i] = append(*known[i], data)
		}
	}
	if count > maxDSSItems || total > maxDSSBytes {
		return nil, roamsign.E(roamsign.ErrTooLarge, inspectOp, "the /DSS holds more than %d items or %d bytes", maxDSSItems, maxDSSBytes)
	}
	return d, r.Budget().Err()
}

// extend adds to the update u the items of each signature's material that
// the store lacks (each once), a /VRI entry per signature when vri is set,
// and the new /DSS. It returns the material added.
func (d *dss) extend(u *pdfx.Update, rootRef pdfx.Ref, cat pdfx.Dict, per []sigMaterial, vri bool, now time.Time) ValidationData {
	var added ValidationData
	refsOf := func(vd *ValidationData) [3]pdfx.Array {
		var out [3]pdfx.Array
		for i, list := range vd.lists() {
			k := dssArrays[i].dss
			for _, der := range *list {
				ref, ok := d.have[k].Find(der)
				if !ok {
					ref = u.Add(&pdfx.Stream{Dict: pdfx.Dict{}, Data: der})
					d.have[k].Add(der, ref)
					d.dict[k] = append(d.dict[k].(pdfx.Array), ref)
					*added.lists()[i] = append(*added.lists()[i], der)
				}
				out[i] = append(out[i], ref)
			}
		}
		return out
	}
	var vriDict pdfx.Dict
	if vri {
		old, _ := d.r.ResolveDict(d.dict["VRI"], "/VRI")
		vriDict = old.Clone()
		if vriDict == nil {
			vriDict = pdfx.Dict{}
		}
	}
	for _, m := range per {
		refs := refsOf(&m.vd)
		if !vri {
			continue
		}
		key := vriKey(m.sig.contents)
		entry, _ := d.r.ResolveDict(vriDict[key], "VRI entry")
		entry = entry.Clone()
		if entry == nil {
			entry = pdfx.Dict{}
		}
		for i, k := range dssArrays {
			old, _ := d.r.Resolve(entry[k.vri])
			arr, _ := old.(pdfx.Array)
			entry[k.vri] = appendNew(append(pdfx.Array(nil), arr...), refs[i])
			if len(entry[k.vri].(pdfx.Array)) == 0 {
				delete(entry, k.vri)
			}
		}
		entry["TU"] = pdfDate(now.UTC())
		vriDict[key] = entry
	}
	if vri {
		d.dict["VRI"] = vriDict
	}
	d.dict["Type"] = pdfx.Name("DSS")
	for _, k := range dssArrays {
		if len(d.dict[k.dss].(pdfx.Array)) == 0 {
			delete(d.dict, k.dss)
		}
	}
	cat, esic := declareESIC(d.r, cat, esicDSS)
	if d.ref != nil {
		u.Put(*d.ref, d.dict)
		if esic {
			u.Put(rootRef, cat)
		}
	} else {
		cat = cat.Clone()
		cat["DSS"] = u.Add(d.dict)
		u.Put(rootRef, cat)
	}
	return added
}

// vriKey is the key of a signature's /VRI entry: the base-16 (uppercase)
// SHA-1 digest of the signature, that is of its /Contents value (ISO
// 32000-2 clause 12.8.4.4; ETSI EN 319 142-1 clause 5.4.2.2).
func vriKey(contents []byte) pdfx.Name {
	sum := sha1.Sum(contents)
	return pdfx.Name(strings.ToUpper(hex.EncodeToString(sum[:])))
}

func appendNew(arr pdfx.Array, refs pdfx.Array) pdfx.Array {
	for _, r := range refs {
		found := false
		for _, o := range arr {
			if o == r {
				found = true
				break
			}
		}
		if !found {
			arr = append(arr, r)
		}
	}
	return arr
}
