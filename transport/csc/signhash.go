package csc

import (
	"context"
	"encoding/base64"

	"github.com/roamsign/roamsign"
)

// signInput is signatures/signHash in either version's words.
type signInput struct {
	credentialID, sad       string
	hashes                  []string
	hashOID                 string // v1: hashAlgo
	signAlgo, signAlgoParam string
	operationMode           string
}

// signHash releases the signatures of the named hashes from the grant.
func (s *server) signHash(ctx context.Context, c *caller, in signInput) ([]string, error) {
	if in.credentialID == "" {
		return nil, badRequest("Missing (or invalid type) string parameter credentialID")
	}
	if in.operationMode != "" && in.operationMode != "S" {
		return nil, badRequest("Invalid parameter operationMode: only synchronous (S) operation is offered")
	}
	sa, err := parseSignAlgo(in.signAlgo, in.signAlgoParam, in.hashOID)
	if err != nil {
		return nil, err
	}
	hashes, err := decodeHashes(in.hashes, sa.hash, s.opts.MultiSign, "hashes")
	if err != nil {
		return nil, err
	}
	g, handle, err := s.grantFor(ctx, c, in.sad, in.credentialID)
	if err != nil {
		return nil, err
	}
	if err := checkScheme(sa, g.keyScheme, g.scheme); err != nil {
		return nil, err
	}
	sigs, err := s.release(ctx, g, handle, hashes)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(sigs))
	for i, sig := range sigs {
		out[i] = base64.StdEncoding.EncodeToString(sig)
	}
	return out, nil
}

// schemeOfExtension reads the signAlgo extension of credentials/authorize
// and oauth2/authorize: RSASSA-PSS (with parameters) or a PKCS#1 v1.5 or
// ECDSA algorithm; "" keeps the key's default.
func schemeOfExtension(signAlgo, params string, h roamsign.HashAlgorithm) (scheme, error) {
	if signAlgo == "" {
		return schemeNone, nil
	}
	hashOID := ""
	if signAlgo == OIDRSA && h.Valid() {
		hashOID = h.OID().String()
	}
	sa, err := parseSignAlgo(signAlgo, params, hashOID)
	if err != nil {
		return 0, err
	}
	if h.Valid() && sa.hash != 0 && sa.hash != h {
		return 0, badRequest("String parameter hashAlgorithmOID contradicts the signAlgo parameter")
	}
	return sa.scheme, nil
}
