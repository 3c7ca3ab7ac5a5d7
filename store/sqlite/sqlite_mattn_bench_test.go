//go:build cgo

package sqlite

import (
	"fmt"
	"testing"

	_ "github.com/mattn/go-sqlite3" // cgo driver, compared with modernc.org/sqlite

	"github.com/roamsign/roamsign/store/storetest"
)

// BenchmarkDriver compares the pure-Go driver (modernc.org/sqlite, the one
// the package uses) with the cgo driver (github.com/mattn/go-sqlite3) on
// the same store code: challenge create + consume round trips.
func BenchmarkDriver(b *testing.B) {
	for _, drv := range []string{"sqlite", "sqlite3"} {
		name := map[string]string{"sqlite": "modernc", "sqlite3": "mattn-cgo"}[drv]
		for _, g := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", name, g), func(b *testing.B) {
				storetest.BenchChallenges(b, benchStore(b, Options{driver: drv}), g)
			})
		}
	}
}
