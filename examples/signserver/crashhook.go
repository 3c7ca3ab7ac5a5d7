package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"log/slog"
	"os"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/service"
)

// crashEnv names the crash test hook. When the server starts with it set
// to "after-sign", every output form kills the process with SIGKILL (as
// kill -9 would) right after a batch is signed: after the approval was
// consumed and the pending transaction committed, before the self-check
// and before the transaction is recorded as signed. The crash tests of
// package bench use it to crash at that point every time instead of
// racing a kill against the batch. Production never sets it.
const crashEnv = "ROAMSIGN_TEST_CRASH"

// withCrashHook returns forms, each wrapped to crash after signing when
// crashEnv asks for it.
func withCrashHook(forms map[roamsign.OutputForm]service.FormSigner, log *slog.Logger) map[roamsign.OutputForm]service.FormSigner {
	if getenv(crashEnv) != "after-sign" {
		return forms
	}
	log.Warn("crash test hook armed: the process kills itself after signing a batch", "env", crashEnv)
	out := make(map[roamsign.OutputForm]service.FormSigner, len(forms))
	for k, f := range forms {
		out[k] = crashAfterSign{f}
	}
	return out
}

// crashAfterSign kills the process once its form signer has signed a batch.
type crashAfterSign struct{ service.FormSigner }

func (c crashAfterSign) SignBatch(ctx context.Context, key crypto.Signer, chain []*x509.Certificate, hashes []roamsign.Hash) ([][]byte, string, error) {
	sigs, alg, err := c.FormSigner.SignBatch(ctx, key, chain, hashes)
	if err != nil {
		return sigs, alg, err
	}
	if p, perr := os.FindProcess(os.Getpid()); perr != nil || p.Kill() != nil { // SIGKILL on Unix
		os.Exit(137) // as a SIGKILLed process would, should the signal fail
	}
	select {} // the signal is on its way; never finish the transaction
}
