package servercert

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// The agency rules for a received server certificate, in calendar days.
const (
	// AcceptanceDelayDays: acceptance is recorded at least this many days
	// after the CA's delivery date.
	AcceptanceDelayDays = 1
	// InstallationDays: the certificate is installed at most this many days
	// after acceptance.
	InstallationDays = 14
	// WarrantyClaimDays: a corrupt certificate is claimed under warranty at
	// most this many days after acceptance.
	WarrantyClaimDays = 14
)

// Date is a calendar day (no time of day), written as "2006-01-02" in JSON.
type Date struct{ t time.Time }

// DateOf returns the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	if t.IsZero() {
		return Date{}
	}
	y, m, d := t.Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// ParseDate reads "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, roamsign.Wrap(roamsign.ErrInvalidInput, "servercert.ParseDate", err, fmt.Sprintf("date %q is not YYYY-MM-DD", s))
	}
	return Date{t}, nil
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Time returns midnight UTC of the day.
func (d Date) Time() time.Time { return d.t }

// AddDays returns the date n days later.
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// After reports whether d is a later day than e.
func (d Date) After(e Date) bool { return d.t.After(e.t) }

// DaysUntil returns the number of days from d to e (negative when e is
// earlier).
func (d Date) DaysUntil(e Date) int { return int(e.t.Sub(d.t).Hours() / 24) }

// String formats the date as "2006-01-02", or "" when unset.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

var (
	_ json.Marshaler   = Date{}
	_ json.Unmarshaler = (*Date)(nil)
	_ fmt.Stringer     = Date{}
)

// MarshalJSON writes "2006-01-02" or null.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "2006-01-02" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return roamsign.Wrap(roamsign.ErrInvalidInput, "servercert.Date", err, "date must be a string")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// WarrantyClaimDue returns the last day to claim a corrupt certificate
// under warranty for a given acceptance date.
func WarrantyClaimDue(accepted time.Time) time.Time {
	return DateOf(accepted).AddDays(WarrantyClaimDays).Time()
}

// DeadlineInput holds the recorded dates. Only Delivered is required.
type DeadlineInput struct {
	Delivered Date   // the CA's delivery date
	Accepted  Date   // acceptance date, when recorded
	Installed Date   // installation date, when recorded
	Grade     string // TLS grade recorded after installation, when known
	Today     Date   // the day to judge against; zero means today (UTC)
}

// Step statuses in a [Checklist].
const (
	StatusDone     = "done"
	StatusLate     = "done-late"
	StatusInvalid  = "invalid"
	StatusPending  = "pending"
	StatusDue      = "due-now"
	StatusOverdue  = "overdue"
	StatusOpen     = "open"
	StatusClosed   = "closed"
	StatusUpcoming = "not-yet"
)

// Step is one line of the checklist.
type Step struct {
	Name   string `json:"step"`
	Due    Date   `json:"due"`
	Done   Date   `json:"done"`
	Status string `json:"status"`
	Note   string `json:"note,omitempty"`
}

// Checklist is the outcome of [ComputeDeadlines].
type Checklist struct {
	Today              Date     `json:"today"`
	Delivered          Date     `json:"delivered"`
	EarliestAcceptance Date     `json:"earliest_acceptance"`
	Accepted           Date     `json:"accepted"`
	InstallBy          Date     `json:"install_by"`
	WarrantyClaimBy    Date     `json:"warranty_claim_by"`
	Installed          Date     `json:"installed"`
	Steps              []Step   `json:"steps"`
	Overdue            []string `json:"overdue"`
	Problems           []string `json:"problems"`
}

// ComputeDeadlines derives the due dates from the recorded dates:
// acceptance no earlier than delivery + [AcceptanceDelayDays], installation
// and warranty claim no later than acceptance + [InstallationDays] and
// [WarrantyClaimDays]. Without a recorded acceptance the earliest allowed
// one is assumed. Dates in an impossible order (acceptance or installation
// before delivery) are refused with [roamsign.ErrInvalidInput]; rule breaks
// (acceptance on the delivery day, late installation) are listed in
// Problems and in the step statuses.
func ComputeDeadlines(in DeadlineInput) (*Checklist, error) {
	const op = "servercert.ComputeDeadlines"
	if in.Delivered.IsZero() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "the delivery date is required")
	}
	if !in.Accepted.IsZero() && in.Accepted.Before(in.Delivered) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "acceptance %s is before delivery %s", in.Accepted, in.Delivered)
	}
	if !in.Installed.IsZero() && in.Installed.Before(in.Delivered) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "installation %s is before delivery %s", in.Installed, in.Delivered)
	}
	today := in.Today
	if today.IsZero() {
		today = DateOf(time.Now().UTC())
	}
	c := &Checklist{
		Today:              today,
		Delivered:          in.Delivered,
		EarliestAcceptance: in.Delivered.AddDays(AcceptanceDelayDays),
		Accepted:           in.Accepted,
		Installed:          in.Installed,
		Overdue:            []string{},
		Problems:           []string{},
	}
	acc := in.Accepted
	if acc.IsZero() {
		// Not recorded: assume the earliest allowed day, the conservative
		// reading of "acceptance is the day after delivery".
		acc = c.EarliestAcceptance
	}
	c.InstallBy = acc.AddDays(InstallationDays)
	c.WarrantyClaimBy = acc.AddDays(WarrantyClaimDays)

	c.Steps = append(c.Steps, acceptanceStep(c, in, today), warrantyStep(c, today), installStep(c, in, today), recordStep(c, in))
	return c, nil
}

// acceptanceStep: record the acceptance, at least a day after delivery.
func acceptanceStep(c *Checklist, in DeadlineInput, today Date) Step {
	s := Step{Name: "Record acceptance (at least 1 day after delivery)", Due: c.EarliestAcceptance, Done: in.Accepted}
	switch {
	case !in.Accepted.IsZero() && in.Accepted.Before(c.EarliestAcceptance):
		s.Status = StatusInvalid
		s.Note = fmt.Sprintf("recorded %s, earlier than delivery + %d day", in.Accepted, AcceptanceDelayDays)
		c.Problems = append(c.Problems, s.Note)
	case !in.Accepted.IsZero():
		s.Status = StatusDone
	case today.Before(c.EarliestAcceptance):
		s.Status = StatusUpcoming
		s.Note = fmt.Sprintf("not before %s", c.EarliestAcceptance)
	default:
		s.Status = StatusDue
		s.Note = "record the acceptance date now; install and warranty deadlines count from it"
	}
	return s
}

// warrantyStep: the warranty claim for a corrupt certificate.
func warrantyStep(c *Checklist, today Date) Step {
	s := Step{Name: "Check the certificate (certcheck bundle); claim warranty if corrupt", Due: c.WarrantyClaimBy}
	if today.After(c.WarrantyClaimBy) {
		s.Status = StatusClosed
		s.Note = "warranty claim window has closed"
	} else {
		s.Status = StatusOpen
		s.Note = fmt.Sprintf("%d days left to claim", today.DaysUntil(c.WarrantyClaimBy))
	}
	return s
}

// installStep: install with the full chain by the deadline.
func installStep(c *Checklist, in DeadlineInput, today Date) Step {
	s := Step{Name: "Install with the full chain (server + intermediate; root known to clients)", Due: c.InstallBy, Done: in.Installed}
	switch {
	case !in.Installed.IsZero() && in.Installed.After(c.InstallBy):
		s.Status = StatusLate
		s.Note = fmt.Sprintf("installed %d days late", c.InstallBy.DaysUntil(in.Installed))
		c.Problems = append(c.Problems, "installation "+s.Note)
	case !in.Installed.IsZero() && !in.Accepted.IsZero() && in.Installed.Before(in.Accepted):
		s.Status = StatusDone
		s.Note = "installed before acceptance was recorded"
	case !in.Installed.IsZero():
		s.Status = StatusDone
	case today.After(c.InstallBy):
		s.Status = StatusOverdue
		s.Note = fmt.Sprintf("%d days overdue", c.InstallBy.DaysUntil(today))
		c.Overdue = append(c.Overdue, s.Name)
	default:
		s.Status = StatusPending
		s.Note = fmt.Sprintf("%d days left", today.DaysUntil(c.InstallBy))
	}
	return s
}

// recordStep: record the installation date and the TLS grade.
func recordStep(c *Checklist, in DeadlineInput) Step {
	s := Step{Name: "Record installation date and TLS grade (target A)", Done: in.Installed}
	switch {
	case !in.Installed.IsZero() && in.Grade != "":
		s.Status = StatusDone
		s.Note = "grade " + in.Grade
		if !strings.HasPrefix(in.Grade, "A") {
			s.Note += "; below A: see certcheck grade for the reasons"
			c.Problems = append(c.Problems, "TLS grade "+in.Grade+" is below A")
		}
	case !in.Installed.IsZero():
		s.Status = StatusDue
		s.Note = "run certcheck grade and record the grade"
	default:
		s.Status = StatusPending
	}
	return s
}

// Text renders the checklist for people.
func (c *Checklist) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Certificate checklist (today %s)\n", c.Today)
	fmt.Fprintf(&b, "  delivered %s, accept from %s, install by %s, warranty claim by %s\n", c.Delivered, c.EarliestAcceptance, c.InstallBy, c.WarrantyClaimBy)
	for _, s := range c.Steps {
		box := "[ ]"
		if s.Status == StatusDone || s.Status == StatusLate {
			box = "[x]"
		}
		line := fmt.Sprintf("%s %s", box, s.Name)
		if !s.Due.IsZero() {
			line += " — due " + s.Due.String()
		}
		if !s.Done.IsZero() {
			line += ", done " + s.Done.String()
		}
		line += " — " + strings.ToUpper(s.Status)
		if s.Note != "" {
			line += " (" + s.Note + ")"
		}
		b.WriteString(line + "\n")
	}
	if len(c.Overdue) > 0 {
		fmt.Fprintf(&b, "OVERDUE: %s\n", strings.Join(c.Overdue, "; "))
	}
	for _, p := range c.Problems {
		fmt.Fprintf(&b, "PROBLEM: %s\n", p)
	}
	return b.String()
}
