package servercert_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/servercert"
)

func d(t *testing.T, s string) servercert.Date {
	t.Helper()
	if s == "" {
		return servercert.Date{}
	}
	v, err := servercert.ParseDate(s)
	require.NoError(t, err)
	return v
}

func TestComputeDeadlines(t *testing.T) {
	type want struct {
		earliest, installBy, claimBy string
		statuses                     []string
		overdue, problems            int
	}
	for _, tc := range []struct {
		name                                  string
		delivered, accepted, installed, today string
		grade                                 string
		want                                  want
	}{
		{"just delivered", "2026-11-02", "", "", "2026-11-02", "",
			want{"2026-11-03", "2026-11-17", "2026-11-17", []string{"not-yet", "open", "pending", "pending"}, 0, 0}},
		{"accepted, installing", "2026-11-02", "2026-11-04", "", "2026-11-10", "",
			want{"2026-11-03", "2026-11-18", "2026-11-18", []string{"done", "open", "pending", "pending"}, 0, 0}},
		{"last day is not overdue", "2026-11-02", "2026-11-04", "", "2026-11-18", "",
			want{"2026-11-03", "2026-11-18", "2026-11-18", []string{"done", "open", "pending", "pending"}, 0, 0}},
		{"overdue", "2026-11-02", "2026-11-04", "", "2026-11-19", "",
			want{"2026-11-03", "2026-11-18", "2026-11-18", []string{"done", "closed", "overdue", "pending"}, 1, 0}},
		{"not accepted, assumed day after delivery", "2026-11-02", "", "", "2026-11-20", "",
			want{"2026-11-03", "2026-11-17", "2026-11-17", []string{"due-now", "closed", "overdue", "pending"}, 1, 0}},
		{"accepted same day as delivery", "2026-11-02", "2026-11-02", "2026-11-05", "2026-11-06", "A+",
			want{"2026-11-03", "2026-11-16", "2026-11-16", []string{"invalid", "open", "done", "done"}, 0, 1}},
		{"installed late, grade B", "2026-11-02", "2026-11-03", "2026-11-20", "2026-11-21", "B",
			want{"2026-11-03", "2026-11-17", "2026-11-17", []string{"done", "closed", "done-late", "done"}, 0, 2}},
		{"installed, grade missing", "2026-11-02", "2026-11-03", "2026-11-10", "2026-11-10", "",
			want{"2026-11-03", "2026-11-17", "2026-11-17", []string{"done", "open", "done", "due-now"}, 0, 0}},
		{"month and leap-year boundary", "2028-02-27", "2028-02-28", "", "2028-03-01", "",
			want{"2028-02-28", "2028-03-13", "2028-03-13", []string{"done", "open", "pending", "pending"}, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := servercert.ComputeDeadlines(servercert.DeadlineInput{
				Delivered: d(t, tc.delivered), Accepted: d(t, tc.accepted), Installed: d(t, tc.installed),
				Today: d(t, tc.today), Grade: tc.grade,
			})
			require.NoError(t, err)
			var st []string
			for _, s := range c.Steps {
				st = append(st, s.Status)
			}
			got := want{c.EarliestAcceptance.String(), c.InstallBy.String(), c.WarrantyClaimBy.String(), st, len(c.Overdue), len(c.Problems)}
			if strings.Join(got.statuses, ",") != strings.Join(tc.want.statuses, ",") || got.earliest != tc.want.earliest ||
				got.installBy != tc.want.installBy || got.claimBy != tc.want.claimBy || got.overdue != tc.want.overdue || got.problems != tc.want.problems {
				t.Fatalf("got %+v\nwant %+v\n%s", got, tc.want, c.Text())
			}
			js, err := json.Marshal(c)
			require.NoError(t, err)
			var back servercert.Checklist
			require.NoError(t, json.Unmarshal(js, &back))
			if back.InstallBy != c.InstallBy || len(back.Steps) != len(c.Steps) {
				t.Fatal("JSON round trip changed the checklist")
			}
		})
	}
}

func TestComputeDeadlinesRejects(t *testing.T) {
	for name, in := range map[string]servercert.DeadlineInput{
		"no delivery":               {},
		"accepted before delivery":  {Delivered: d(t, "2026-11-02"), Accepted: d(t, "2026-11-01")},
		"installed before delivery": {Delivered: d(t, "2026-11-02"), Installed: d(t, "2026-10-30")},
	} {
		if _, err := servercert.ComputeDeadlines(in); !errors.Is(err, roamsign.ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
	if _, err := servercert.ParseDate("02/11/2026"); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Errorf("bad date: %v", err)
	}
}
