package sqlcodec

import (
	"strconv"
	"strings"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// Placeholders are a backend's statement parameter markers, numbered from
// 1: SQLite's "?" ([Question]) or PostgreSQL's "$1", "$2", … ([Dollar]).
type Placeholders func(i int) string

// The backends' placeholders.
var (
	Question Placeholders = func(int) string { return "?" }
	Dollar   Placeholders = func(i int) string { return "$" + strconv.Itoa(i) }
)

// List returns n markers numbered from first, comma-separated: "?,?,?" or
// "$1,$2,$3".
func (p Placeholders) List(first, n int) string {
	ms := make([]string, n)
	for i := range ms {
		ms[i] = p(first + i)
	}
	return strings.Join(ms, ",")
}

// Insert returns "INSERT INTO table (cols) VALUES (…)" with one marker per
// column of cols, a comma-separated column list such as [ChallengeCols].
func (p Placeholders) Insert(table, cols string) string {
	return "INSERT INTO " + table + " (" + cols + ") VALUES (" + p.List(1, strings.Count(cols, ",")+1) + ")"
}

// Update returns "UPDATE table SET c2 = …, c3 = …, … WHERE c1 = …": every
// column of cols (see [Placeholders.Insert]) but the first is set, in the
// row whose first column matches. Its arguments are the insert arguments
// with the first moved to the end ([KeyLast]), so that SQLite's numbered
// "?" and PostgreSQL's "$n" both read them in order.
func (p Placeholders) Update(table, cols string) string {
	names := strings.Split(cols, ",")
	set := make([]string, len(names)-1)
	for i, n := range names[1:] {
		set[i] = strings.TrimSpace(n) + " = " + p(i+1)
	}
	return "UPDATE " + table + " SET " + strings.Join(set, ", ") + " WHERE " + strings.TrimSpace(names[0]) + " = " + p(len(names))
}

// KeyLast returns args with its first element moved to the end, for
// [Placeholders.Update].
func KeyLast(args []any) []any {
	return append(args[1:len(args):len(args)], args[0])
}

// NthNewest returns the query, and its arguments, that reads created_at of
// the n-th newest challenge of scope sc (the challenges of c's user, host
// or both) created at or after since, for [store.NthNewest]; no row when
// the scope has fewer. since is already encoded for the backend's time
// column.
func NthNewest(p Placeholders, sc store.IssueScope, c *roamsign.ChallengeRecord, n int, since any) (string, []any) {
	q := "SELECT created_at FROM challenges WHERE created_at >= " + p(1)
	args := []any{since}
	if sc.ByUser {
		args = append(args, c.User)
		q += " AND user_id = " + p(len(args))
	}
	if sc.ByHost {
		args = append(args, c.Host)
		q += " AND host = " + p(len(args))
	}
	args = append(args, n-1)
	q += " ORDER BY created_at DESC LIMIT 1 OFFSET " + p(len(args))
	return q, args
}
