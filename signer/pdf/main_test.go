package pdf_test

import (
	"flag"
	"os"
	"testing"

	"github.com/roamsign/roamsign/internal/softhsmtest"
)

// fuzzMinimizeTime is the fuzzing engine's time to minimise one new input
// in this package unless -fuzzminimizetime is given. The targets' inputs
// are signed PDFs of kilobytes, each run parsing CMS, time-stamp tokens
// and certificates, and the engine counts none of the minimising runs as
// progress: with its default of 60 s per input, FuzzAddLTV reported no
// execution for the whole of a 30 s run once the first new input was
// found; with 1 s it runs thousands and keeps finding new inputs.
const fuzzMinimizeTime = "1s"

// TestMain removes the process-wide SoftHSM2 token directory after the
// tests, and sets the fuzzing minimisation time (fuzzMinimizeTime) when
// the command line does not.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		if err := flag.Set("test.fuzzminimizetime", fuzzMinimizeTime); err != nil {
			panic(err)
		}
	}
	os.Exit(softhsmtest.Run(m))
}
