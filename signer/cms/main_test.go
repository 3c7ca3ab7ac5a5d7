package cms_test

import (
	"os"
	"testing"

	"github.com/roamsign/roamsign/internal/softhsmtest"
)

// TestMain removes the process-wide SoftHSM2 token directory after the tests.
func TestMain(m *testing.M) { os.Exit(softhsmtest.Run(m)) }
