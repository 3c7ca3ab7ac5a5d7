//go:build !cgo

// Package softhsmtest creates throwaway SoftHSM2 tokens for tests. It needs
// cgo (PKCS#11); without cgo it is empty.
package softhsmtest
