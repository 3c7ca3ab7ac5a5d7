// Package hsm holds signing keys behind [crypto.Signer]: a PKCS#11 key
// store for hardware security modules and a software key store for
// development and embedded use.
package hsm
