package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// bulkUsage describes the input of `bulk enrol` for its -h.
const bulkUsage = `-csv FILE -csr-dir DIR [-chain-dir DIR] [-report FILE] [-quiet]

  FILE is CSV with a header line naming its columns, in any order:
    user       12-digit MyKad number (required)
    name       name on the certificate (required)
    hosts      host systems, separated by ';' (required)
    email      e-mail address for OTP delivery
    devices    push device ids, separated by ';'
    algorithm  RSA-2048 (default), RSA-3072, RSA-4096, EC-P256, EC-P384, EC-P521
    media      signing media, separated by ';' (default roaming-otp)
  At most 16 MiB and 100,000 users; a file with any bad row is refused whole.
  Each user's request goes to DIR/ID.csr.pem; a chain the CA issued, put in
  -chain-dir as ID.pem, is imported by the next run. Runs may be repeated:
  users already done are skipped. PINs are never in the file: each user's
  first PIN is set apart, with pin set`

// Row outcomes in the report of `bulk enrol`.
const (
	bulkRequested = "requested"      // key made, request written by this run
	bulkAwaiting  = "awaiting-chain" // request written by an earlier run, no chain yet
	bulkImported  = "imported"       // chain imported by this run: the user can sign once a PIN is set
	bulkDone      = "done"           // chain imported before: skipped
	bulkFailed    = "failed"         // see detail; other rows go on
)

func cmdBulkEnrol(ctx context.Context, c *cmdEnv) error {
	csvFile := c.fs.String("csv", "", "the users to enrol (CSV; the columns are listed above)")
	csrDir := c.fs.String("csr-dir", "", "directory the certificate requests are written to, as ID.csr.pem")
	chainDir := c.fs.String("chain-dir", "", "directory of the chains the CA issued, as ID.pem (leaf first); those present are imported")
	report := c.fs.String("report", "", "the per-row report (CSV: line,user,status,detail); default FILE.report.csv beside -csv")
	quiet := c.fs.Bool("quiet", false, "no progress output")
	a, err := c.open(ctx, groupPIN, groupEnrol)
	if err != nil {
		return err
	}
	defer a.Close()
	if *csvFile == "" || *csrDir == "" {
		return errors.New("-csv FILE and -csr-dir DIR are required (signserver bulk enrol -h)")
	}
	if *chainDir != "" {
		if err := a.checkUserCA(); err != nil {
			return err
		}
	}
	rows, err := readEnrolCSV(*csvFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*csrDir, 0o755); err != nil {
		return err
	}
	if *report == "" {
		*report = *csvFile + ".report.csv"
	}
	b := &bulkRun{a: a, csrDir: *csrDir, chainDir: *chainDir}
	if !*quiet {
		b.progress = c.stderr
	}
	counts, err := b.run(ctx, rows, *report)
	fmt.Fprintf(c.stdout, "bulk enrol: %d users: %d requested, %d awaiting a chain, %d imported, %d already done, %d failed; report in %s\n",
		len(rows), counts[bulkRequested], counts[bulkAwaiting], counts[bulkImported], counts[bulkDone], counts[bulkFailed], *report)
	if err != nil {
		return err
	}
	if counts[bulkFailed] > 0 {
		return exitError{1}
	}
	return nil
}

// readEnrolCSV reads and checks a whole enrolment file.
func readEnrolCSV(path string) ([]service.EnrolRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return service.ParseEnrolCSV(f)
}

// bulkRun enrols the rows of one file.
type bulkRun struct {
	a                *app
	csrDir, chainDir string
	progress         io.Writer // nil: quiet
}

// run enrols rows in order, writing one report line per row as it goes
// (so an interrupted run leaves the report of what it did), and returns
// the count of each outcome. It stops early only when ctx ends or the
// report cannot be written.
func (b *bulkRun) run(ctx context.Context, rows []service.EnrolRow, reportPath string) (map[string]int, error) {
	counts := map[string]int{}
	f, err := os.OpenFile(reportPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return counts, err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	if err := w.Write([]string{"line", "user", "status", "detail"}); err != nil {
		return counts, err
	}
	for i, row := range rows {
		if err := ctx.Err(); err != nil {
			w.Flush()
			return counts, fmt.Errorf("interrupted after %d of %d users (run again to go on): %w", i, len(rows), err)
		}
		status, detail := b.enrolOne(ctx, row)
		counts[status]++
		if err := w.Write([]string{strconv.Itoa(row.Line), string(row.Request.User), status, detail}); err != nil {
			return counts, err
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return counts, fmt.Errorf("report %s: %w", reportPath, err)
		}
		if b.progress != nil && ((i+1)%100 == 0 || i+1 == len(rows)) {
			fmt.Fprintf(b.progress, "\rbulk enrol: %d/%d users", i+1, len(rows))
			if i+1 == len(rows) {
				fmt.Fprintln(b.progress)
			}
		}
	}
	return counts, f.Close()
}

// enrolOne takes one user as far as it can go: key and request, devices,
// and the chain when the CA's is in chainDir. A user whose chain is
// already imported is left alone.
func (b *bulkRun) enrolOne(ctx context.Context, row service.EnrolRow) (status, detail string) {
	ctx = operatorContext(ctx)
	id := row.Request.User
	u, err := b.a.store.GetUser(ctx, id)
	switch {
	case err == nil && len(u.Chain) > 0:
		return bulkDone, "chain imported before"
	case err != nil && !errors.Is(err, roamsign.ErrNotFound):
		return failed(err)
	}
	status = bulkAwaiting
	csrPath := filepath.Join(b.csrDir, string(id)+".csr.pem")
	if _, serr := os.Stat(csrPath); err != nil || serr != nil {
		resp, err := b.a.svc.Enrol(ctx, row.Request)
		if err != nil {
			return failed(err)
		}
		if err := writePEM(nil, csrPath, "CERTIFICATE REQUEST", resp.CSR); err != nil {
			return failed(err)
		}
		status = bulkRequested
	}
	for _, d := range row.Devices {
		if err := b.a.svc.RegisterDevice(ctx, roamsign.RegisterDeviceRequest{User: id, DeviceID: d}); err != nil {
			return failed(err)
		}
	}
	if b.chainDir == "" {
		return status, csrPath
	}
	chainPath := filepath.Join(b.chainDir, string(id)+".pem")
	if _, err := os.Stat(chainPath); err != nil {
		return status, csrPath
	}
	chain, err := readChainFile(chainPath)
	if err != nil {
		return failed(err)
	}
	if err := b.a.importChain(ctx, id, chain); err != nil {
		return failed(err)
	}
	return bulkImported, "serial " + chain[0].SerialNumber.Text(16)
}

// failed is the report of a row that failed: the error in plain words
// with its stable code.
func failed(err error) (string, string) {
	if roamsign.KindOf(err) == roamsign.KindUnknown {
		return bulkFailed, err.Error()
	}
	return bulkFailed, httpapi.PublicDetail(err) + " [" + roamsign.KindOf(err).Code() + "]"
}
