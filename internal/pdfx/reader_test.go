package pdfx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/require"
)

func open(t testing.TB, data []byte) *pdfx.Reader {
	t.Helper()
	r, err := pdfx.Open(bytes.NewReader(data), int64(len(data)), pdfx.Limits{})
	require.NoError(t, err, "Open")
	return r
}

// pageCount walks the page tree and returns the number of leaves.
func pageCount(t testing.TB, r *pdfx.Reader) int {
	t.Helper()
	cat, err := r.Catalog()
	require.NoError(t, err)
	var walk func(o pdfx.Object, depth int) int
	walk = func(o pdfx.Object, depth int) int {
		d, err := r.ResolveDict(o, "page node")
		require.NoError(t, err, "page tree")
		require.LessOrEqual(t, depth, 20, "page tree depth")
		if d["Type"] == pdfx.Name("Page") {
			return 1
		}
		n := 0
		kids, _ := r.Resolve(d["Kids"])
		for _, k := range kids.(pdfx.Array) {
			n += walk(k, depth+1)
		}
		return n
	}
	return walk(cat["Pages"], 0)
}

func variants(t *testing.T) map[string][]byte {
	classic := pdfxtest.Generate(pdfxtest.Options{Pages: 3, AcroForm: true, Info: true})
	return map[string][]byte{
		"classic":    classic,
		"objstm":     pdfxtest.QPDF(t, classic, "--object-streams=generate"),
		"linearized": pdfxtest.QPDF(t, classic, "--linearize"),
		"linobjstm":  pdfxtest.QPDF(t, classic, "--linearize", "--object-streams=generate"),
		"pdf20":      pdfxtest.Generate(pdfxtest.Options{Version: "2.0", Pages: 3}),
		"hybrid":     pdfxtest.Hybrid(),
	}
}

func TestOpenVariants(t *testing.T) {
	for name, data := range variants(t) {
		t.Run(name, func(t *testing.T) {
			r := open(t, data)
			want := 3
			if name == "hybrid" {
				want = 1
			}
			require.Equal(t, want, pageCount(t, r), "pages")
			if name == "hybrid" {
				require.NotZero(t, r.Sections()[0].XRefStm, "hybrid section has no /XRefStm")
				font, err := r.Get(pdfx.Ref{Num: 3})
				require.NoError(t, err)
				d, _ := font.(pdfx.Dict)
				require.Equal(t, pdfx.Name("Helvetica"), d["BaseFont"], "compressed object 3 = %v", font)
			}
			if name == "objstm" {
				require.True(t, r.Sections()[0].Stream, "expected an xref stream section")
			}
		})
	}
}

func TestUpdateRoundTrip(t *testing.T) {
	for name, data := range variants(t) {
		t.Run(name, func(t *testing.T) {
			doc := data
			for rev := 0; rev < 3; rev++ {
				r := open(t, doc)
				u := r.NewUpdate()
				u.Add(pdfx.Dict{"Title": pdfx.TextString("Revision ü"), "Producer": pdfx.String("pdfx")})
				cat, err := r.Catalog()
				require.NoError(t, err)
				cat = cat.Clone()
				cat["Lang"] = pdfx.String("ms-MY")
				u.Put(r.Trailer()["Root"].(pdfx.Ref), cat)
				upd, err := u.Bytes()
				require.NoError(t, err)
				next := append(append([]byte(nil), doc...), upd...)
				require.Equal(t, doc, next[:len(doc)], "original bytes changed")
				pdfxtest.Check(t, next)
				r2 := open(t, next)
				require.Greater(t, len(r2.Sections()), len(r.Sections()), "no new section")
				require.Equal(t, r.Sections()[0].Stream, r2.Sections()[0].Stream, "update section kind differs from the previous one")
				c2, _ := r2.Catalog()
				require.Equal(t, pdfx.String("ms-MY"), c2["Lang"], "catalog update not visible")
				require.Equal(t, pageCount(t, r), pageCount(t, r2), "pages")
				doc = next
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	good := pdfxtest.Generate(pdfxtest.Options{})
	cases := map[string]struct {
		data []byte
		kind roamsign.Kind
	}{
		"empty":                  {nil, roamsign.ErrInvalidInput},
		"not pdf":                {bytes.Repeat([]byte("hello "), 20), roamsign.ErrInvalidInput},
		"header past 1024 bytes": {append(bytes.Repeat([]byte("junk\n"), 300), good...), roamsign.ErrInvalidInput},
		"no eof":                 {bytes.TrimSuffix(good, []byte("%%EOF\n")), roamsign.ErrInvalidInput},
		"truncated":              {good[:len(good)/2], roamsign.ErrInvalidInput},
		"bad startxref": {bytes.Replace(good, []byte("startxref\n"), []byte("startxref\n9"), 1),
			roamsign.ErrInvalidInput},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := pdfx.Open(bytes.NewReader(c.data), int64(len(c.data)), pdfx.Limits{})
			require.ErrorIs(t, err, c.kind)
			require.NotContains(t, err.Error(), "%%", "messages name the end-of-file marker in words")
		})
	}
}

// TestDamage: faults a rebuild of the cross-reference data mends are
// DamageErrors; what is no PDF at all is not.
func TestDamage(t *testing.T) {
	good := pdfxtest.Generate(pdfxtest.Options{Pages: 2})
	damaged := map[string][]byte{
		"no eof":         bytes.TrimSuffix(good, []byte("%%EOF\n")),
		"truncated":      good[:len(good)*3/4],
		"bad startxref":  bytes.Replace(good, []byte("startxref\n"), []byte("startxref\n9"), 1),
		"xref moved":     bytes.Replace(good, []byte("startxref\n"), []byte("startxref\n1"), 1),
		"offset outside": outsideOffset(good),
		"xref elsewhere": startxrefAt(good, bytes.Index(good, []byte("\n2 0 obj"))+3),
	}
	for name, data := range damaged {
		t.Run(name, func(t *testing.T) {
			_, err := pdfx.Open(bytes.NewReader(data), int64(len(data)), pdfx.Limits{})
			var de *pdfx.DamageError
			require.ErrorAs(t, err, &de)
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
			require.NotContains(t, err.Error(), "%%")
			for _, jargon := range []string{"syntax error", "expected", "pdfx", "malformed"} {
				require.NotContains(t, de.Msg, jargon, "the damage is said in plain words")
			}
		})
	}
	notPDF := bytes.Repeat([]byte("hello "), 20)
	_, err := pdfx.Open(bytes.NewReader(notPDF), int64(len(notPDF)), pdfx.Limits{})
	var de *pdfx.DamageError
	require.False(t, errors.As(err, &de), "no PDF is not damage: %v", err)
}

// startxrefAt points doc's startxref at off.
func startxrefAt(doc []byte, off int) []byte {
	i := bytes.LastIndex(doc, []byte("startxref\n")) + len("startxref\n")
	j := i + bytes.IndexByte(doc[i:], '\n')
	return slices.Concat(doc[:i], []byte(strconv.Itoa(off)), doc[j:])
}

// outsideOffset points the first in-use entry of doc's table past the end.
func outsideOffset(doc []byte) []byte {
	out := bytes.Clone(doc)
	i := bytes.Index(out, []byte("65535 f \n")) + 9
	copy(out[i:], "9999999999")
	return out
}

// TestJunkBeforeHeader: bytes before %PDF- shift every offset of the file;
// the Reader returns positions in the whole file, and an update written
// after it counts its offsets from the header like the rest of the file.
func TestJunkBeforeHeader(t *testing.T) {
	for name, doc := range map[string][]byte{
		"table":  pdfxtest.Generate(pdfxtest.Options{Pages: 3}),
		"stream": pdfxtest.QPDF(t, pdfxtest.Generate(pdfxtest.Options{Pages: 3}), "--object-streams=generate"),
	} {
		t.Run(name, func(t *testing.T) {
			junk := []byte("Content-Type: application/pdf\r\n\r\n")
			data := append(bytes.Clone(junk), doc...)
			r, err := pdfx.Open(bytes.NewReader(data), int64(len(data)), pdfx.Limits{})
			require.NoError(t, err)
			require.Equal(t, int64(len(junk)), r.HeaderOffset())
			cat, err := r.Catalog()
			require.NoError(t, err)
			require.Equal(t, pdfx.Name("Catalog"), cat["Type"])
			e, ok := r.Lookup(1)
			require.True(t, ok)
			if e.Type == pdfx.EntryInFile {
				require.True(t, bytes.HasPrefix(data[e.Offset:], []byte("1 0 obj")), "entry %v is a position in the whole file", e)
			}

			u := r.NewUpdate()
			cat = cat.Clone()
			cat["Lang"] = pdfx.String("ms-MY")
			u.Put(r.Trailer()["Root"].(pdfx.Ref), cat)
			upd, err := u.Bytes()
			require.NoError(t, err)
			next := append(bytes.Clone(data), upd...)
			r2, err := pdfx.Open(bytes.NewReader(next), int64(len(next)), pdfx.Limits{})
			require.NoError(t, err)
			cat2, err := r2.Catalog()
			require.NoError(t, err)
			require.Equal(t, pdfx.String("ms-MY"), cat2["Lang"])
			require.Len(t, r2.Sections(), len(r.Sections())+1)
			pdfxtest.Check(t, next)
		})
	}
}

func TestLimits(t *testing.T) {
	doc := pdfxtest.Generate(pdfxtest.Options{Pages: 50})
	_, err := pdfx.Open(bytes.NewReader(doc), int64(len(doc)), pdfx.Limits{MaxObjects: 10})
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
	deep := bytes.Replace(doc, []byte("/Type /Catalog"), []byte("/Type /Catalog /X "+string(bytes.Repeat([]byte("["), 200))+string(bytes.Repeat([]byte("]"), 200))), 1)
	// The catalog moved: only reading it must fail, not the process.
	r, err := pdfx.Open(bytes.NewReader(deep), int64(len(deep)), pdfx.Limits{})
	if err == nil {
		_, err = r.Catalog()
	}
	require.Error(t, err, "deeply nested object accepted")
}

// walk resolves everything reachable from the trailer, bounded, as the
// signer's preparation does.
func walk(r *pdfx.Reader) { walkN(r, 2000) }

// walkN is walk with a budget of visits.
func walkN(r *pdfx.Reader, budget int) {
	seen := map[pdfx.Ref]bool{}
	var visit func(o pdfx.Object, depth int)
	visit = func(o pdfx.Object, depth int) {
		budget--
		if budget < 0 || depth > 30 {
			return
		}
		if ref, ok := o.(pdfx.Ref); ok {
			if seen[ref] {
				return
			}
			seen[ref] = true
			v, err := r.Get(ref)
			if err != nil {
				return
			}
			o = v
		}
		switch v := o.(type) {
		case pdfx.Dict:
			for _, e := range v {
				visit(e, depth+1)
			}
		case pdfx.Array:
			for _, e := range v {
				visit(e, depth+1)
			}
		case *pdfx.Stream:
			_, _ = r.StreamData(v)
			visit(v.Dict, depth+1)
		}
	}
	visit(r.Trailer(), 0)
	if len(r.Sections()) > 0 {
		u := r.NewUpdate()
		u.Add(pdfx.Dict{"A": pdfx.Array{int64(1), 2.5, pdfx.Name("x y"), pdfx.String("(\\)")}})
		_, _ = u.Bytes()
	}
}

func FuzzOpen(f *testing.F) {
	classic := pdfxtest.Generate(pdfxtest.Options{Pages: 2, AcroForm: true, Info: true})
	f.Add(classic)
	for _, name := range []string{"testdata/objstm.pdf", "testdata/linearized.pdf"} {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add(pdfxtest.Generate(pdfxtest.Options{Version: "2.0"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, func(r *pdfx.Reader) error {
			walk(r)
			return nil
		})
	})
}

// fuzzRead opens data and runs fn on the reader, requiring no hang, a
// typed error or none, and allocation and budget bounded per input byte,
// whatever the input.
func fuzzRead(t *testing.T, data []byte, fn func(r *pdfx.Reader) error) {
	tm := time.AfterFunc(3*time.Second, func() { panic("hang") })
	defer tm.Stop()
	var err error
	budget := pdfx.NewBudget(pdfx.DefaultBudget(int64(len(data))))
	alloc := pdfxtest.Allocated(func() {
		var r *pdfx.Reader
		r, err = pdfx.Open(bytes.NewReader(data), int64(len(data)), pdfx.Limits{MaxObjects: 10000, MaxStreamBytes: 1 << 20, MaxObjectBytes: 1 << 20, Budget: budget})
		if err == nil {
			err = fn(r)
		}
	})
	require.LessOrEqual(t, alloc, pdfxtest.HeapLimit(len(data)), "heap allocated for %d input bytes", len(data))
	require.LessOrEqual(t, budget.Used(), budget.Limit()+1<<20, "budget overrun")
	if err != nil {
		require.NotEqual(t, roamsign.KindUnknown, roamsign.KindOf(err), "untyped error: %v", err)
	}
}

func TestEOFMarkers(t *testing.T) {
	doc := pdfxtest.Generate(pdfxtest.Options{})
	r := open(t, doc)
	u := r.NewUpdate()
	u.Add(pdfx.Dict{"A": int64(1)})
	upd, err := u.Bytes()
	require.NoError(t, err)
	two := append(bytes.Clone(doc), upd...)
	got, err := pdfx.EOFMarkers(context.Background(), bytes.NewReader(two), int64(len(two)), 10)
	require.NoError(t, err)
	require.Equal(t, []int64{int64(len(doc)), int64(len(two))}, got, "markers")
	_, err = pdfx.EOFMarkers(context.Background(), bytes.NewReader(two), int64(len(two)), 1)
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
}

func TestReadObjectAt(t *testing.T) {
	doc := pdfxtest.Generate(pdfxtest.Options{Pages: 2})
	r := open(t, doc)
	e, ok := r.Lookup(1)
	require.True(t, ok)
	require.Equal(t, pdfx.EntryInFile, e.Type, "entry 1 = %v", e)
	ref, obj, err := r.ReadObjectAt(e.Offset)
	require.NoError(t, err)
	require.Equal(t, pdfx.Ref{Num: 1}, ref)
	require.Equal(t, pdfx.Name("Catalog"), obj.(pdfx.Dict)["Type"])
	_, _, err = r.ReadObjectAt(e.Offset + 3)
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "misaligned offset")
	// A reference with the wrong generation is the null object.
	o, err := r.Get(pdfx.Ref{Num: 1, Gen: 1})
	require.NoError(t, err, "wrong generation")
	require.Nil(t, o, "wrong generation")
}

// TestUpdateApplied: an update built on Update.Applied (the file as it
// reads with an update appended, not parsed back) is byte for byte the
// update built on the file opened again, for every kind of file and over
// several updates; the applied reader reads the update's objects, the
// file's others, and the update's trailer.
func TestUpdateApplied(t *testing.T) {
	for name, data := range variants(t) {
		t.Run(name, func(t *testing.T) {
			doc := data
			applied := open(t, doc)
			for rev := 0; rev < 3; rev++ {
				reopened := open(t, doc)
				var updates [2][]byte
				var us [2]*pdfx.Update
				var info pdfx.Ref
				for i, r := range []*pdfx.Reader{reopened, applied} {
					u := r.NewUpdate()
					info = u.Add(pdfx.Dict{"Title": pdfx.TextString(fmt.Sprintf("Revision %d", rev))})
					cat, err := r.Catalog()
					require.NoError(t, err)
					cat = cat.Clone()
					cat["Lang"] = pdfx.String(fmt.Sprintf("ms-MY-%d", rev))
					u.Put(r.Trailer()["Root"].(pdfx.Ref), cat)
					updates[i], err = u.Bytes()
					require.NoError(t, err)
					us[i] = u
				}
				require.Equal(t, string(updates[0]), string(updates[1]), "revision %d", rev)
				next := append(bytes.Clone(doc), updates[1]...)
				pdfxtest.Check(t, next)
				var err error
				applied, err = us[1].Applied(bytes.NewReader(next))
				require.NoError(t, err)
				want := open(t, next)
				require.Equal(t, want.Size(), applied.Size())
				require.Equal(t, want.StartXref(), applied.StartXref())
				require.Equal(t, want.MaxObjectNumber(), applied.MaxObjectNumber())
				require.Equal(t, want.Trailer()["Root"], applied.Trailer()["Root"])
				require.Equal(t, want.Trailer()["Size"], applied.Trailer()["Size"])
				c1, err := want.Catalog()
				require.NoError(t, err)
				c2, err := applied.Catalog()
				require.NoError(t, err)
				require.Equal(t, c1["Lang"], c2["Lang"], "the update's catalog")
				require.Equal(t, c1["Pages"], c2["Pages"])
				o1, _ := want.Get(info)
				o2, _ := applied.Get(info)
				require.Equal(t, o1, o2, "the update's new object")
				require.Equal(t, pageCount(t, want), pageCount(t, applied), "the file's objects")
				doc = next
			}
		})
	}
	u := open(t, pdfxtest.Generate(pdfxtest.Options{})).NewUpdate()
	_, err := u.Applied(nil)
	require.ErrorIs(t, err, roamsign.ErrInternal, "Applied before Bytes")
}
