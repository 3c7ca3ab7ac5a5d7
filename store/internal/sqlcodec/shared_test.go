package sqlcodec

import (
	"errors"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

func TestCheckLimit(t *testing.T) {
	if _, err := CheckLimit("op", 0); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("limit 0: %v", err)
	}
	if n, err := CheckLimit("op", MaxList+5); err != nil || n != MaxList {
		t.Fatalf("large limit: %d %v", n, err)
	}
	if n, err := CheckLimit("op", 3); err != nil || n != 3 {
		t.Fatalf("limit 3: %d %v", n, err)
	}
}

func TestNotFoundOr(t *testing.T) {
	noRows := errors.New("no rows")
	other := errors.New("other")
	if err := NotFoundOr(noRows, noRows, "op", "user"); !errors.Is(err, roamsign.ErrNotFound) {
		t.Fatalf("NotFoundOr(noRows) = %v", err)
	}
	if err := NotFoundOr(other, noRows, "op", "user"); err != other {
		t.Fatalf("NotFoundOr(other) = %v", err)
	}
	if err := NotFoundOr(nil, noRows, "op", "user"); err != nil {
		t.Fatalf("NotFoundOr(nil) = %v", err)
	}
}

func TestApply(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0002_b.sql": {Data: []byte("B")},
		"migrations/0001_a.sql": {Data: []byte("A")},
	}
	names, err := Migrations(fsys)
	if err != nil || len(names) != 2 || names[0] != "migrations/0001_a.sql" || MustCount(fsys) != 2 {
		t.Fatalf("Migrations = %v %v", names, err)
	}
	var ran []string
	var version int
	exec := func(body string) error { ran = append(ran, body); return nil }
	set := func(v int) error { version = v; return nil }
	if err := Apply(fsys, names, 1, exec, set); err != nil || len(ran) != 1 || ran[0] != "B" || version != 2 {
		t.Fatalf("Apply from 1: %v %v %d", err, ran, version)
	}
	if err := Apply(fsys, names, 3, exec, set); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Apply from 3: %v", err)
	}
	boom := errors.New("boom")
	err = Apply(fsys, names, 0, func(string) error { return boom }, set)
	if !errors.Is(err, boom) {
		t.Fatalf("failing migration: %v", err)
	}
}

// row is a Scanner over fixed values, standing in for a driver row.
type row []any

func (r row) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return errors.New("column count")
	}
	for i, d := range dest {
		dv := reflect.ValueOf(d).Elem()
		if r[i] == nil {
			dv.SetZero()
			continue
		}
		src := reflect.ValueOf(r[i])
		if dv.Kind() == reflect.Pointer {
			p := reflect.New(dv.Type().Elem())
			p.Elem().Set(src.Convert(dv.Type().Elem()))
			dv.Set(p)
			continue
		}
		dv.Set(src.Convert(dv.Type()))
	}
	return nil
}

func TestAuditRoundTrip(t *testing.T) {
	tm := Times[*time.Time]{
		Null: func(t time.Time) any { return t },
		Req:  func(t time.Time) any { return t },
		From: func(p *time.Time) time.Time {
			if p == nil {
				return time.Time{}
			}
			return p.UTC()
		},
	}
	a := &roamsign.AuditRecord{Event: roamsign.AuditSigned, User: "u1", Host: "h1", Count: 2, Time: time.Unix(100, 0)}
	if err := Link(a, 0, nil, time.Unix(200, 0), nil); err != nil {
		t.Fatal(err)
	}
	if a.Seq != 1 || len(a.PrevHash) != store.HashSize || len(a.Hash) == 0 {
		t.Fatalf("Link: %+v", a)
	}
	var back roamsign.AuditRecord
	back.HashList = []byte{9, 9}
	if err := ScanAudit(row(AuditArgs(a, tm)), &back, tm); err != nil {
		t.Fatal(err)
	}
	if back.HashList != nil || back.Seq != 1 || !back.Time.Equal(a.Time) || string(store.AuditHash(&back)) != string(a.Hash) {
		t.Fatalf("round trip: %+v", back)
	}
}

// A retried write starts from the caller's record again: nothing the failed
// attempt set (here Time) survives into the committed copy.
func TestAttemptResetsPerRetry(t *testing.T) {
	audit := &roamsign.AuditRecord{Event: roamsign.AuditSignFailed}
	first := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	second := first.Add(time.Hour)
	busy := errors.New("busy")
	retrying := func(fn func(int) error) error {
		if err := fn(1); !errors.Is(err, busy) {
			t.Fatalf("first attempt: %v", err)
		}
		return fn(2)
	}
	err := attempt(audit, retrying, func(n int, a *roamsign.AuditRecord) error {
		if !a.Time.IsZero() || a.Seq != 0 {
			t.Fatalf("attempt %d starts from a used copy: seq %d time %v", n, a.Seq, a.Time)
		}
		if n == 1 {
			store.ChainAudit(a, 5, nil, first)
			return busy
		}
		store.ChainAudit(a, 7, nil, second)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if audit.Seq != 8 || !audit.Time.Equal(second) {
		t.Fatalf("committed seq %d time %v, want 8 %v", audit.Seq, audit.Time, second)
	}
}
