package csc

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/roamsign/roamsign"
)

// AuthData is one authentication object of credentials/authorize (v2).
type AuthData struct {
	ID    string `json:"id"`
	Value string `json:"value,omitempty"`
}

// GetChallengeRequest is credentials/getChallenge's input (v2). Hashes,
// HashAlgorithmOID and Description are the roamsign extension
// ExtChallengeHashes.
type GetChallengeRequest struct {
	CredentialID     string   `json:"credentialID"`
	AuthObjectID     string   `json:"authObjectID"`
	Hashes           []string `json:"hashes,omitempty"`
	HashAlgorithmOID string   `json:"hashAlgorithmOID,omitempty"`
	Description      string   `json:"description,omitempty"`
	ClientData       string   `json:"clientData,omitempty"`
}

// AuthorizeRequest is credentials/authorize's input (v2). SignAlgo and
// SignAlgoParams are the roamsign extension ExtAuthorizeSignAlgo.
type AuthorizeRequest struct {
	CredentialID     string     `json:"credentialID"`
	NumSignatures    int        `json:"numSignatures"`
	Hashes           []string   `json:"hashes,omitempty"`
	HashAlgorithmOID string     `json:"hashAlgorithmOID,omitempty"`
	AuthData         []AuthData `json:"authData,omitempty"`
	Description      string     `json:"description,omitempty"`
	ClientData       string     `json:"clientData,omitempty"`
	SignAlgo         string     `json:"signAlgo,omitempty"`
	SignAlgoParams   string     `json:"signAlgoParams,omitempty"`

	numSignaturesSet bool // decoded: numSignatures was given
}

// UnmarshalJSON decodes the request and notes whether numSignatures was
// given, so that a missing one is told apart from a value below 1 (CSC
// API v2.0.0.2 clause 11.6's error table).
func (r *AuthorizeRequest) UnmarshalJSON(b []byte) error {
	type plain AuthorizeRequest
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	var n struct {
		N *json.RawMessage `json:"numSignatures"`
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	r.numSignaturesSet = n.N != nil
	return nil
}

// AuthorizeResponse is the answer of credentials/authorize and
// credentials/extendTransaction.
type AuthorizeResponse struct {
	SAD       string `json:"SAD"`
	ExpiresIn int    `json:"expiresIn,omitempty"`
}

// ExtendTransactionRequest is credentials/extendTransaction's input (v2).
type ExtendTransactionRequest struct {
	CredentialID     string   `json:"credentialID"`
	Hashes           []string `json:"hashes,omitempty"`
	HashAlgorithmOID string   `json:"hashAlgorithmOID,omitempty"`
	SAD              string   `json:"SAD"`
	ClientData       string   `json:"clientData,omitempty"`
}

// SignHashRequest is signatures/signHash's input (v2).
type SignHashRequest struct {
	CredentialID     string   `json:"credentialID"`
	SAD              string   `json:"SAD,omitempty"`
	Hashes           []string `json:"hashes"`
	HashAlgorithmOID string   `json:"hashAlgorithmOID,omitempty"`
	SignAlgo         string   `json:"signAlgo"`
	SignAlgoParams   string   `json:"signAlgoParams,omitempty"`
	OperationMode    string   `json:"operationMode,omitempty"`
	ValidityPeriod   int      `json:"validity_period,omitempty"`
	ResponseURI      string   `json:"response_uri,omitempty"`
	ClientData       string   `json:"clientData,omitempty"`
}

// SignHashResponse is signatures/signHash's answer: base64 signatures in
// the order of the hashes.
type SignHashResponse struct {
	Signatures []string `json:"signatures"`
}

// optHashes decodes optional hashes with a hashAlgorithmOID.
func (s *server) optHashes(values []string, oid, param string) ([]roamsign.Hash, roamsign.HashAlgorithm, error) {
	var alg roamsign.HashAlgorithm
	if oid != "" {
		a, err := hashAlgOf(oid)
		if err != nil {
			return nil, 0, err
		}
		alg = a
	}
	if values == nil {
		return nil, alg, nil
	}
	if alg == 0 {
		return nil, 0, badRequest("Missing (or invalid type) string parameter hashAlgorithmOID")
	}
	hs, err := decodeHashes(values, alg, s.opts.MultiSign, param)
	return hs, alg, err
}

func getChallengeV2(s *server, ctx context.Context, w http.ResponseWriter, c *caller, req *GetChallengeRequest) (*noContent, error) {
	if req.AuthObjectID == "" {
		return nil, badRequest("Missing (or invalid type) string parameter authObjectID")
	}
	hs, _, err := s.optHashes(req.Hashes, req.HashAlgorithmOID, "hashes")
	if err != nil {
		return nil, err
	}
	vc, err := s.challenge(ctx, c, challengeInput{credentialID: req.CredentialID, authObjectID: req.AuthObjectID, hashes: hs, description: req.Description})
	if err != nil {
		return nil, err
	}
	w.Header().Set(HeaderVerificationCode, vc)
	return nil, nil
}

func authorizeV2(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *AuthorizeRequest) (*AuthorizeResponse, error) {
	if req.CredentialID == "" {
		return nil, badRequest("Missing (or invalid type) string parameter credentialID")
	}
	if !req.numSignaturesSet {
		return nil, badRequest("Missing (or invalid type) integer parameter numSignatures")
	}
	if req.Hashes == nil {
		return nil, badRequest("Missing (or invalid type) array parameter hashes: SCAL 2 binds the SAD to the hashes")
	}
	hs, alg, err := s.optHashes(req.Hashes, req.HashAlgorithmOID, "hashes")
	if err != nil {
		return nil, err
	}
	sc, err := schemeOfExtension(req.SignAlgo, req.SignAlgoParams, alg)
	if err != nil {
		return nil, err
	}
	in := authorizeInput{credentialID: req.CredentialID, numSignatures: req.NumSignatures, hashes: hs, scheme: sc}
	for _, a := range req.AuthData {
		switch a.ID {
		case AuthObjectPIN:
			in.pin = a.Value
		case AuthObjectOTP:
			in.otp = a.Value
		default:
			return nil, cscErr(http.StatusBadRequest, ErrCodeInvalidAuthData, "Unknown authentication object "+quoteID(a.ID))
		}
	}
	sad, exp, err := s.authorize(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return &AuthorizeResponse{SAD: sad, ExpiresIn: s.expiresIn(exp)}, nil
}

func extendV2(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *ExtendTransactionRequest) (*AuthorizeResponse, error) {
	hs, _, err := s.optHashes(req.Hashes, req.HashAlgorithmOID, "hashes")
	if err != nil {
		return nil, err
	}
	sad, exp, err := s.extend(ctx, c, extendInput{credentialID: req.CredentialID, sad: req.SAD, hashes: hs})
	if err != nil {
		return nil, err
	}
	return &AuthorizeResponse{SAD: sad, ExpiresIn: s.expiresIn(exp)}, nil
}

func signHashV2(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *SignHashRequest) (*SignHashResponse, error) {
	sigs, err := s.signHash(ctx, c, signInput{credentialID: req.CredentialID, sad: req.SAD, hashes: req.Hashes,
		hashOID: req.HashAlgorithmOID, signAlgo: req.SignAlgo, signAlgoParam: req.SignAlgoParams, operationMode: req.OperationMode})
	if err != nil {
		return nil, err
	}
	return &SignHashResponse{Signatures: sigs}, nil
}

func listV2(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *CredentialsListRequest) (*CredentialsListResponse, error) {
	return s.list(ctx, c, req)
}

func credInfoV2(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *CredentialsInfoRequest) (*CredentialInfo, error) {
	return s.credInfo(ctx, c, req)
}

// quoteID shows an id from a request in an error, shortened.
func quoteID(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return `"` + s + `"`
}
