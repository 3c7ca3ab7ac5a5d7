package pdfx

import (
	"bytes"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// appendRevision adds an incremental update replacing the catalog.
func appendRevision(t *testing.T, doc []byte) []byte {
	t.Helper()
	r, err := Open(bytes.NewReader(doc), int64(len(doc)), Limits{})
	require.NoError(t, err)
	u := r.NewUpdate()
	cat, err := r.Catalog()
	require.NoError(t, err)
	cat = cat.Clone()
	cat["Lang"] = String("ms-MY")
	u.Put(r.Trailer()["Root"].(Ref), cat)
	upd, err := u.Bytes()
	require.NoError(t, err)
	return append(bytes.Clone(doc), upd...)
}

func TestRevisionSharesCrossReferenceData(t *testing.T) {
	one := pdfxtest.Generate(pdfxtest.Options{Pages: 3})
	two := appendRevision(t, one)
	three := appendRevision(t, two)
	b := NewBudget(DefaultBudget(int64(len(three))))
	r, err := Open(bytes.NewReader(three), int64(len(three)), Limits{Budget: b})
	require.NoError(t, err)
	require.Len(t, r.Sections(), 3)

	before := b.Used()
	rev, err := r.Revision(int64(len(two)))
	require.NoError(t, err)
	assert.Same(t, r.x, rev.x, "an earlier revision reads the same sections from the shared index")
	assert.Len(t, rev.Sections(), 2)
	assert.Less(t, b.Used()-before, int64(8<<10), "opening a revision costs its tail, not its sections")
	assert.Equal(t, int64(len(two)), rev.Size())

	// The earlier revision sees the earlier catalog.
	cat, err := rev.Catalog()
	require.NoError(t, err)
	assert.Equal(t, String("ms-MY"), cat["Lang"])
	first, err := r.Revision(int64(len(one)))
	require.NoError(t, err)
	cat, err = first.Catalog()
	require.NoError(t, err)
	assert.Nil(t, cat["Lang"])

	changes := changesOf(t, r, first)
	require.Len(t, changes, 1, "only the catalog changed between the first and the last revision")
	assert.Equal(t, 1, changes[0].Num)
}

func TestRevisionSuffixMustLieInsideIt(t *testing.T) {
	// A section is shared with an earlier revision only when everything
	// it read lies inside that revision.
	one := pdfxtest.Generate(pdfxtest.Options{})
	two := appendRevision(t, one)
	r, err := Open(bytes.NewReader(two), int64(len(two)), Limits{})
	require.NoError(t, err)
	_, ok := r.x.suffix(0, r.x.sections[0].Offset, int64(len(one)))
	assert.False(t, ok, "the newest section lies beyond the first revision")
	k, ok := r.x.suffix(0, r.x.sections[1].Offset, int64(len(one)))
	assert.True(t, ok)
	assert.Equal(t, 1, k)
}

func TestBudgetIsATotal(t *testing.T) {
	doc := pdfxtest.Generate(pdfxtest.Options{Pages: 30})
	b := NewBudget(40 << 10)
	r, err := Open(bytes.NewReader(doc), int64(len(doc)), Limits{Budget: b})
	require.NoError(t, err)
	// Reading every page again and again exhausts the total, not a limit
	// per object: the objects are cached, so drop the cache each time.
	var last error
	for i := 0; i < 1000 && last == nil; i++ {
		r.cache = map[int]Object{}
		_, last = r.Get(Ref{Num: 4})
	}
	require.ErrorIs(t, last, roamsign.ErrTooLarge)
	require.ErrorIs(t, b.Err(), roamsign.ErrTooLarge, "the budget reports its exhaustion afterwards")
	_, err = r.Get(Ref{Num: 1})
	require.ErrorIs(t, err, roamsign.ErrTooLarge, "every later read fails")
}

func TestRevisionOutsideTheChainReadsItsOwnSections(t *testing.T) {
	// The second revision's table lists every object again and has no
	// /Prev: the first revision's table is not in the final chain, so the
	// first revision reads its own sections, on the same budget.
	w := pdfxtest.NewRaw()
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.Obj(2, "<< /Type /Pages /Count 0 /Kids [] >>")
	w.Table(3, "/Root 1 0 R")
	one := w.Bytes()
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R /Lang (ms-MY) >>")
	w.Table(3, "/Root 1 0 R")
	two := w.Bytes()
	b := NewBudget(DefaultBudget(int64(len(two))))
	r, err := Open(bytes.NewReader(two), int64(len(two)), Limits{Budget: b})
	require.NoError(t, err)
	require.Len(t, r.Sections(), 1)
	before := b.Used()
	rev, err := r.Revision(int64(len(one)))
	require.NoError(t, err)
	assert.NotSame(t, r.x, rev.x)
	assert.Greater(t, b.Used(), before, "the earlier revision's sections are charged to the shared budget")
	cat, err := rev.Catalog()
	require.NoError(t, err)
	assert.Nil(t, cat["Lang"])
	changes := changesOf(t, r, rev)
	require.Len(t, changes, 1)
	assert.Equal(t, 1, changes[0].Num)
}

func changesOf(t *testing.T, r, old *Reader) []Change {
	t.Helper()
	var out []Change
	require.NoError(t, r.Changes(old, func(c Change) error { out = append(out, c); return nil }))
	return out
}

func TestParseObjectBudget(t *testing.T) {
	o, err := ParseObject([]byte("<< /A [1 2.5 (x) /N] /B 3 0 R >>"), Limits{})
	require.NoError(t, err)
	assert.Equal(t, Ref{Num: 3}, o.(Dict)["B"])
	_, err = ParseObject([]byte("["+string(bytes.Repeat([]byte("1 "), 10_000))+"]"), Limits{Budget: NewBudget(4096)})
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
}

func TestDefaultBudgetIsCapped(t *testing.T) {
	require.Equal(t, int64(BudgetBase+BudgetPerByte*1000), DefaultBudget(1000))
	require.Equal(t, int64(BudgetMax), DefaultBudget(1<<30), "a 1 GiB file")
	require.Equal(t, int64(BudgetMax), DefaultBudget(1<<62), "no overflow")
	require.Equal(t, int64(BudgetBase), DefaultBudget(-1))
}
