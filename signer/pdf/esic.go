package pdf

import (
	"strconv"

	"github.com/roamsign/roamsign/internal/pdfx"
)

// The extension levels of the ETSI developer extension (prefix ESIC, base
// version 1.7) that ETSI EN 319 142-1 asks a PDF 1.x document to declare
// in its catalog's /Extensions: level 2 where a signature has /SubFilter
// /ETSI.CAdES.detached (clause 5.3), level 1 where the document has a
// /DSS or a document time-stamp (clause 5.4). ISO 32000-2 defines these
// features, so a PDF 2.0 document declares nothing. A PDF 1.x developer
// extension names one level per prefix, each level including the lower
// ones, so the highest level needed is kept.
const (
	esicDSS   int64 = 1
	esicCAdES int64 = 2
)

// declareESIC returns a copy of the catalog cat that declares the ESIC
// extension at level (or keeps a higher level already declared), and
// whether anything changed. The /Extensions dictionary is written direct
// in the catalog, so that the update changes the catalog only. Since an
// extension's BaseVersion may not exceed the document's version (ISO
// 32000-1 clause 7.12.3), a document older than PDF 1.7 gets /Version
// /1.7 in its catalog, the entry ISO 32000-1 clause 7.7.2 provides for an
// incremental update that uses later features. An /Extensions or ESIC
// entry that is not a dictionary (a PDF 2.0 array, a malformed value) is
// left as it is.
func declareESIC(r *pdfx.Reader, cat pdfx.Dict, level int64) (pdfx.Dict, bool) {
	version := docVersion(r, cat)
	if version >= 20 {
		return cat, false
	}
	ext := pdfx.Dict{}
	if cat["Extensions"] != nil {
		e, ok := dictOnly(r, cat["Extensions"])
		if !ok {
			return cat, false
		}
		ext = e.Clone()
	}
	if old := ext["ESIC"]; old != nil {
		d, ok := dictOnly(r, old)
		if !ok {
			return cat, false
		}
		if l, ok := pdfx.Int(d["ExtensionLevel"]); ok && l >= level {
			return cat, false
		}
	}
	ext["ESIC"] = pdfx.Dict{"BaseVersion": pdfx.Name("1.7"), "ExtensionLevel": level}
	cat = cat.Clone()
	cat["Extensions"] = ext
	if version < 17 {
		cat["Version"] = pdfx.Name("1.7")
	}
	return cat, true
}

// dictOnly resolves o to a dictionary (not a stream).
func dictOnly(r *pdfx.Reader, o pdfx.Object) (pdfx.Dict, bool) {
	v, err := r.Resolve(o)
	d, ok := v.(pdfx.Dict)
	return d, err == nil && ok
}

// docVersion is the document's PDF version times ten: the later of the
// header's and the catalog's /Version (ISO 32000-1 clause 7.7.2); 0 when
// neither reads.
func docVersion(r *pdfx.Reader, cat pdfx.Dict) int {
	v := versionTimesTen(r.Version())
	if n, ok := cat["Version"].(pdfx.Name); ok {
		v = max(v, versionTimesTen(string(n)))
	}
	return v
}

// versionTimesTen reads "M.m" (one digit each) as 10*M+m; 0 otherwise.
func versionTimesTen(s string) int {
	if len(s) != 3 || s[1] != '.' {
		return 0
	}
	major, err1 := strconv.Atoi(s[:1])
	minor, err2 := strconv.Atoi(s[2:])
	if err1 != nil || err2 != nil {
		return 0
	}
	return 10*major + minor
}
