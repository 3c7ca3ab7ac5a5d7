//go:build !cgo

package softhsmtest

import "errors"

// create fails: SoftHSM2 is reached through PKCS#11, which needs cgo.
func (t *Token) create() (uint, error) {
	return 0, errors.New("softhsmtest needs a build with cgo (CGO_ENABLED=1)")
}
