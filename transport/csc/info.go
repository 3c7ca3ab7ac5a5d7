package csc

import (
	"context"
	"net/http"
)

// SignAlgorithms is info's signAlgorithms.
type SignAlgorithms struct {
	Algos []string `json:"algos"`
}

// SignatureFormats is info's signature_formats. This service signs hashes
// only (signatures/signHash), so it lists no formats.
type SignatureFormats struct {
	Formats []string `json:"formats"`
}

// The roamsign extensions announced in info's "extensions" member.
const (
	// ExtChallengeHashes: credentials/getChallenge (v1: sendOTP) takes
	// "hashes" and "hashAlgorithmOID" (v1: "hash", "hashAlgo") and an
	// optional "description" (the data header), binds the OTP to those
	// hashes and answers the verification code in the
	// Roamsign-Verification-Code header.
	ExtChallengeHashes = "roamsign:getChallenge-hashes"
	// ExtAuthorizeSignAlgo: credentials/authorize and oauth2/authorize take
	// "signAlgo" and "signAlgoParams" to choose RSASSA-PSS for an RSA
	// credential; the default is PKCS#1 v1.5.
	ExtAuthorizeSignAlgo = "roamsign:authorize-signAlgo"
	// ExtPolicyStrict: credentials/getChallenge (v1: sendOTP) without
	// hashes is refused ([PolicyStrict]).
	ExtPolicyStrict = "roamsign:policy-strict"
	// ExtPolicyCompatible: credentials/getChallenge (v1: sendOTP) without
	// hashes sends an OTP bound to the credential only, and
	// credentials/authorize binds the hashes ([PolicyCompatible]).
	ExtPolicyCompatible = "roamsign:policy-compatible"
)

// HeaderVerificationCode carries the verification code of a challenge; the
// OTP message shows the same code.
const HeaderVerificationCode = "Roamsign-Verification-Code"

// InfoResponse is info's answer (v2).
type InfoResponse struct {
	Specs                     string           `json:"specs"`
	Name                      string           `json:"name"`
	Logo                      string           `json:"logo"`
	Region                    string           `json:"region"`
	Lang                      string           `json:"lang"`
	Description               string           `json:"description"`
	AuthType                  []string         `json:"authType"`
	OAuth2                    string           `json:"oauth2,omitempty"`
	AsynchronousOperationMode bool             `json:"asynchronousOperationMode"`
	Methods                   []string         `json:"methods"`
	ValidationInfo            bool             `json:"validationInfo"`
	SignAlgorithms            SignAlgorithms   `json:"signAlgorithms"`
	SignatureFormats          SignatureFormats `json:"signature_formats"`
	ConformanceLevels         []string         `json:"conformance_levels"`
	Extensions                []string         `json:"extensions,omitempty"`
}

// InfoRequest is info's input.
type InfoRequest struct {
	Lang string `json:"lang,omitempty"`
}

// authTypes lists the service authorization mechanisms offered.
func (s *server) authTypes() []string {
	var t []string
	if s.opts.Auth != nil {
		t = append(t, "external")
		if s.opts.ClientCerts {
			t = append(t, "TLS")
		}
	}
	code, client := false, false
	for _, c := range s.clients {
		code = code || len(c.RedirectURIs) > 0
		client = client || c.confidential()
	}
	if code {
		t = append(t, "oauth2code")
	}
	if client {
		t = append(t, "oauth2client")
	}
	if t == nil {
		t = []string{}
	}
	return t
}

func (s *server) info(r *http.Request) *InfoResponse {
	out := &InfoResponse{
		Specs: "2.0.0.2", Name: s.opts.Name, Logo: s.logo(r), Region: s.opts.Region, Lang: s.opts.Lang,
		Description: s.opts.Description, AuthType: s.authTypes(),
		Methods: []string{"info", "credentials/list", "credentials/info", "credentials/getChallenge",
			"credentials/authorize", "credentials/extendTransaction", "signatures/signHash"},
		SignAlgorithms:    SignAlgorithms{Algos: allSignAlgos(s.opts.OfferPSS)},
		SignatureFormats:  SignatureFormats{Formats: []string{}},
		ConformanceLevels: []string{},
		Extensions:        []string{ExtChallengeHashes, ExtAuthorizeSignAlgo, s.policyExtension()},
	}
	if len(s.clients) > 0 {
		out.OAuth2 = s.baseURL(r) + v2.prefix()
		out.Methods = append(out.Methods, "oauth2/authorize", "oauth2/pushed_authorize", "oauth2/token", "oauth2/revoke")
	}
	return out
}

// policyExtension announces the policy the handler applies.
func (s *server) policyExtension() string {
	if s.late != nil {
		return ExtPolicyCompatible
	}
	return ExtPolicyStrict
}

func (s *server) logo(r *http.Request) string {
	if s.opts.Logo != "" {
		return s.opts.Logo
	}
	return s.baseURL(r) + "/static/logo.png"
}

// infoRoute serves info without authentication.
func infoV2(s *server, _ context.Context, r *http.Request, _ *caller, _ *InfoRequest) (*InfoResponse, error) {
	return s.info(r), nil
}
