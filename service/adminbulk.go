package service

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/roamsign/roamsign"
)

// Limits of a bulk enrolment file ([ParseEnrolCSV]): 16 MiB and 100,000
// users (the largest agency enrols about 42,000 roaming users).
const (
	MaxEnrolCSVBytes = 16 << 20
	MaxEnrolCSVRows  = 100_000
)

// The columns of a bulk enrolment file. user, name and hosts are
// required; the others may be left out. hosts, media and devices hold
// several values separated by ';'.
const (
	ColUser      = "user"      // 12-digit MyKad number
	ColName      = "name"      // common name on the certificate
	ColHosts     = "hosts"     // host systems the user is enrolled for
	ColEmail     = "email"     // e-mail address for OTP delivery
	ColMedia     = "media"     // signing media (default roaming-otp)
	ColAlgorithm = "algorithm" // key algorithm (default: the service's)
	ColDevices   = "devices"   // push device ids to register
)

var enrolColumns = []string{ColUser, ColName, ColHosts, ColEmail, ColMedia, ColAlgorithm, ColDevices}

// EnrolRow is one user of a bulk enrolment file.
type EnrolRow struct {
	// Line is the row's line in the file (the header is line 1).
	Line int
	// Request is what [Service.Enrol] is called with.
	Request roamsign.EnrolRequest
	// Devices are the push devices to register after enrolment.
	Devices []string
}

// ParseEnrolCSV reads a bulk enrolment file: a header line naming the
// columns (any order, each once; see ColUser and the others), then one
// user per line. Every row is checked as [Service.Enrol] checks its
// request, device ids as [Service.RegisterDevice] does, and no user may
// appear twice. Any fault refuses the whole file — ErrInvalidInput naming
// the line, or ErrTooLarge past [MaxEnrolCSVBytes] or [MaxEnrolCSVRows] —
// so nothing is enrolled from a file with a mistake in it. A UTF-8 byte
// order mark before the header (as spreadsheets write) is skipped.
func ParseEnrolCSV(r io.Reader) ([]EnrolRow, error) {
	const op = "service.ParseEnrolCSV"
	b, err := io.ReadAll(io.LimitReader(r, MaxEnrolCSVBytes+1))
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "reading the enrolment file failed")
	}
	if len(b) > MaxEnrolCSVBytes {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "enrolment file larger than %d bytes", MaxEnrolCSVBytes)
	}
	if !utf8.Valid(b) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "enrolment file is not UTF-8")
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, csvError(op, err, "header")
	}
	cols, err := enrolHeader(op, header)
	if err != nil {
		return nil, err
	}
	var rows []EnrolRow
	seen := map[roamsign.UserID]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(op, err, "row")
		}
		if len(rows) == MaxEnrolCSVRows {
			return nil, roamsign.E(roamsign.ErrTooLarge, op, "more than %d users in the enrolment file", MaxEnrolCSVRows)
		}
		line, _ := cr.FieldPos(0)
		row, err := enrolRow(op, cols, rec, line)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[row.Request.User]; dup {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "line %d: user on line %d again", line, first)
		}
		seen[row.Request.User] = line
		rows = append(rows, row)
	}
	return rows, nil
}

// enrolHeader maps each known column name to its index in the file.
func enrolHeader(op string, header []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range enrolColumns {
			known = known || c == h
		}
		if !known {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "header: unknown column %q (known: %s)", truncate(h, 32), strings.Join(enrolColumns, ", "))
		}
		if _, dup := cols[h]; dup {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "header: column %q twice", h)
		}
		cols[h] = i
	}
	for _, c := range []string{ColUser, ColName, ColHosts} {
		if _, ok := cols[c]; !ok {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "header: column %q is required", c)
		}
	}
	return cols, nil
}

// enrolRow builds and checks the row rec found on line.
func enrolRow(op string, cols map[string]int, rec []string, line int) (EnrolRow, error) {
	field := func(c string) string {
		if i, ok := cols[c]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	row := EnrolRow{Line: line, Request: roamsign.EnrolRequest{
		User: roamsign.UserID(field(ColUser)), Name: field(ColName), Email: field(ColEmail),
		Algorithm: roamsign.KeyAlgorithm(field(ColAlgorithm)),
	}}
	for _, h := range splitList(field(ColHosts)) {
		row.Request.Hosts = append(row.Request.Hosts, roamsign.HostID(h))
	}
	for _, m := range splitList(field(ColMedia)) {
		row.Request.Media = append(row.Request.Media, roamsign.MediumKind(m))
	}
	row.Devices = splitList(field(ColDevices))
	if err := checkEnrol(op, &row.Request); err != nil {
		return EnrolRow{}, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, fmt.Sprintf("line %d: %s", line, errMsg(err)))
	}
	if len(row.Devices) > maxDevices {
		return EnrolRow{}, roamsign.E(roamsign.ErrInvalidInput, op, "line %d: at most %d devices per user", line, maxDevices)
	}
	for _, d := range row.Devices {
		if !validDeviceID(d) {
			return EnrolRow{}, roamsign.E(roamsign.ErrInvalidInput, op, "line %d: device id must be 1 to 256 bytes", line)
		}
	}
	return row, nil
}

// splitList splits a cell of several values separated by ';', dropping
// blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ";") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// csvError reports a CSV syntax error (or a row of another width than the
// header) with its line, as ErrInvalidInput.
func csvError(op string, err error, what string) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, fmt.Sprintf("line %d: %s", pe.Line, pe.Err))
	}
	if errors.Is(err, io.EOF) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "enrolment file is empty: it needs a header line")
	}
	return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "malformed "+what)
}
