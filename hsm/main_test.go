package hsm_test

import (
	"os"
	"testing"

	"github.com/roamsign/roamsign/internal/softhsmtest"
)

func TestMain(m *testing.M) { os.Exit(softhsmtest.Run(m)) }
