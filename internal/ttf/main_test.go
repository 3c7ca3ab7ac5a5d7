package ttf

import (
	"flag"
	"os"
	"testing"
)

// TestMain sets the fuzzing engine's minimisation time per new input to
// 1 s when the command line does not (as signer/pdf does): at the default
// of 60 s the engine, which counts no minimising run as progress, spends
// most of a short run minimising font inputs of a kilobyte.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		if err := flag.Set("test.fuzzminimizetime", "1s"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
