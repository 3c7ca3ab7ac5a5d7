package csc

import (
	"context"
	"net/http"

	"github.com/roamsign/roamsign"
)

// The CSC API v1.0.4 aliases under /csc/v1/: the same operations with the
// v1 field names ("hash", "hashAlgo", "PIN", "OTP", credentials/sendOTP),
// so that v1-era signature applications work unmodified.

// InfoResponseV1 is info's answer in v1.0.4.
type InfoResponseV1 struct {
	Specs       string   `json:"specs"`
	Name        string   `json:"name"`
	Logo        string   `json:"logo"`
	Region      string   `json:"region"`
	Lang        string   `json:"lang"`
	Description string   `json:"description"`
	AuthType    []string `json:"authType"`
	OAuth2      string   `json:"oauth2,omitempty"`
	Methods     []string `json:"methods"`
	Extensions  []string `json:"extensions,omitempty"`
}

// CredentialsListRequestV1 is credentials/list's input in v1.0.4.
type CredentialsListRequestV1 struct {
	UserID     string `json:"userID,omitempty"`
	MaxResults int    `json:"maxResults,omitempty"`
	PageToken  string `json:"pageToken,omitempty"`
	ClientData string `json:"clientData,omitempty"`
}

// CredentialsListResponseV1 is credentials/list's answer in v1.0.4.
type CredentialsListResponseV1 struct {
	CredentialIDs []string `json:"credentialIDs"`
	NextPageToken string   `json:"nextPageToken,omitempty"`
}

// PINInfoV1 is credentials/info's "PIN" in v1.0.4.
type PINInfoV1 struct {
	Presence    string `json:"presence"` // true | false | optional
	Format      string `json:"format,omitempty"`
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty"`
}

// OTPInfoV1 is credentials/info's "OTP" in v1.0.4.
type OTPInfoV1 struct {
	Presence    string `json:"presence"`
	Type        string `json:"type,omitempty"` // offline | online
	Format      string `json:"format,omitempty"`
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty"`
	ID          string `json:"ID,omitempty"`
	Provider    string `json:"provider,omitempty"`
}

// CredentialInfoV1 is credentials/info's answer in v1.0.4.
type CredentialInfoV1 struct {
	Description string     `json:"description,omitempty"`
	Key         KeyInfo    `json:"key"`
	Cert        *CertInfo  `json:"cert,omitempty"`
	AuthMode    string     `json:"authMode"`
	SCAL        string     `json:"SCAL"`
	PIN         *PINInfoV1 `json:"PIN,omitempty"`
	OTP         *OTPInfoV1 `json:"OTP,omitempty"`
	Multisign   int        `json:"multisign"`
	Lang        string     `json:"lang,omitempty"`
}

// SendOTPRequestV1 is credentials/sendOTP's input in v1.0.4; Hash,
// HashAlgo and Description are the roamsign extension ExtChallengeHashes.
type SendOTPRequestV1 struct {
	CredentialID string   `json:"credentialID"`
	Hash         []string `json:"hash,omitempty"`
	HashAlgo     string   `json:"hashAlgo,omitempty"`
	Description  string   `json:"description,omitempty"`
	ClientData   string   `json:"clientData,omitempty"`
}

// AuthorizeRequestV1 is credentials/authorize's input in v1.0.4.
type AuthorizeRequestV1 struct {
	CredentialID   string   `json:"credentialID"`
	NumSignatures  int      `json:"numSignatures"`
	Hash           []string `json:"hash,omitempty"`
	PIN            string   `json:"PIN,omitempty"`
	OTP            string   `json:"OTP,omitempty"`
	Description    string   `json:"description,omitempty"`
	ClientData     string   `json:"clientData,omitempty"`
	SignAlgo       string   `json:"signAlgo,omitempty"`
	SignAlgoParams string   `json:"signAlgoParams,omitempty"`
}

// ExtendTransactionRequestV1 is credentials/extendTransaction's input in
// v1.0.4.
type ExtendTransactionRequestV1 struct {
	CredentialID string   `json:"credentialID"`
	Hash         []string `json:"hash,omitempty"`
	SAD          string   `json:"SAD"`
	ClientData   string   `json:"clientData,omitempty"`
}

// SignHashRequestV1 is signatures/signHash's input in v1.0.4.
type SignHashRequestV1 struct {
	CredentialID   string   `json:"credentialID"`
	SAD            string   `json:"SAD,omitempty"`
	Hash           []string `json:"hash"`
	HashAlgo       string   `json:"hashAlgo,omitempty"`
	SignAlgo       string   `json:"signAlgo"`
	SignAlgoParams string   `json:"signAlgoParams,omitempty"`
	ClientData     string   `json:"clientData,omitempty"`
}

func v1Routes(p string) []route {
	return []route{
		{method: http.MethodPost, path: p + "/info", access: public,
			in: func() any { return new(InfoRequest) }, out: func() any { return new(InfoResponseV1) },
			serve: func(s *server, w http.ResponseWriter, r *http.Request, _ *caller) {
				writeJSON(w, http.StatusOK, s.infoV1(r))
			}},
		jsonRoute(p+"/credentials/list", service, listV1),
		jsonRoute(p+"/credentials/info", credential, credInfoV1),
		jsonRoute(p+"/credentials/sendOTP", service, sendOTPV1),
		jsonRoute(p+"/credentials/authorize", service, authorizeV1),
		jsonRoute(p+"/credentials/extendTransaction", service, extendV1),
		jsonRoute(p+"/signatures/signHash", credential, signHashV1),
	}
}

func (s *server) infoV1(r *http.Request) *InfoResponseV1 {
	i := s.info(r)
	out := &InfoResponseV1{Specs: "1.0.4.0", Name: i.Name, Logo: i.Logo, Region: i.Region, Lang: i.Lang,
		Description: i.Description, AuthType: i.AuthType, Extensions: i.Extensions,
		Methods: []string{"info", "credentials/list", "credentials/info", "credentials/sendOTP",
			"credentials/authorize", "credentials/extendTransaction", "signatures/signHash"}}
	if i.OAuth2 != "" {
		out.OAuth2 = s.baseURL(r) + v1.prefix()
		out.Methods = append(out.Methods, "oauth2/authorize", "oauth2/token", "oauth2/revoke")
	}
	return out
}

func listV1(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *CredentialsListRequestV1) (*CredentialsListResponseV1, error) {
	if req.MaxResults < 0 {
		return nil, badRequest("Invalid parameter maxResults")
	}
	if req.PageToken != "" {
		return nil, badRequest("Invalid parameter pageToken")
	}
	out, err := s.list(ctx, c, &CredentialsListRequest{UserID: req.UserID})
	if err != nil {
		return nil, err
	}
	return &CredentialsListResponseV1{CredentialIDs: out.CredentialIDs}, nil
}

func credInfoV1(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *CredentialsInfoRequest) (*CredentialInfoV1, error) {
	ci, err := s.credInfo(ctx, c, req)
	if err != nil {
		return nil, err
	}
	out := &CredentialInfoV1{Description: ci.Description, Key: ci.Key, Cert: ci.Cert, AuthMode: ci.Auth.Mode,
		SCAL: ci.SCAL, Multisign: ci.Multisign, Lang: ci.Lang}
	if req.AuthInfo && ci.Auth.Mode == AuthModeExplicit {
		out.PIN = &PINInfoV1{Presence: "true", Format: "A", Label: "PIN", Description: ci.Auth.Objects[0].Description}
		out.OTP = &OTPInfoV1{Presence: "true", Type: "online", Format: "N", Label: "OTP", ID: "roamsign-otp",
			Provider: "roamsign", Description: "The 6-digit one-time password sent to the signer after credentials/sendOTP"}
	}
	return out, nil
}

func sendOTPV1(s *server, ctx context.Context, w http.ResponseWriter, c *caller, req *SendOTPRequestV1) (*noContent, error) {
	alg := s.v1Alg(req.HashAlgo)
	var err error
	in := challengeInput{credentialID: req.CredentialID, authObjectID: AuthObjectOTP, description: req.Description}
	if req.Hash != nil {
		if in.hashes, err = decodeHashes(req.Hash, alg, s.opts.MultiSign, "hash"); err != nil {
			return nil, err
		}
	}
	vc, err := s.challenge(ctx, c, in)
	if err != nil {
		return nil, err
	}
	w.Header().Set(HeaderVerificationCode, vc)
	return nil, nil
}

// v1Alg reads a v1 hashAlgo; an unknown or absent one leaves the
// algorithm to the digest length.
func (s *server) v1Alg(oid string) roamsign.HashAlgorithm {
	if oid == "" {
		return 0
	}
	if a, err := hashAlgOf(oid); err == nil {
		return a
	}
	return 0
}

func authorizeV1(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *AuthorizeRequestV1) (*AuthorizeResponse, error) {
	if req.CredentialID == "" {
		return nil, badRequest("Missing (or invalid type) string parameter credentialID")
	}
	hs, err := decodeHashes(req.Hash, 0, s.opts.MultiSign, "hash")
	if err != nil {
		return nil, err
	}
	sc, err := schemeOfExtension(req.SignAlgo, req.SignAlgoParams, hs[0].Algorithm)
	if err != nil {
		return nil, err
	}
	sad, exp, err := s.authorize(ctx, c, authorizeInput{credentialID: req.CredentialID, numSignatures: req.NumSignatures,
		hashes: hs, pin: req.PIN, otp: req.OTP, scheme: sc})
	if err != nil {
		if e := errorOf(err); e.Code == ErrCodeInvalidAuthData {
			// v1.0.4 names the failed factor; roamsign never says which.
			return nil, cscErr(http.StatusBadRequest, ErrCodeInvalidRequest, "The PIN or the OTP is invalid")
		}
		return nil, err
	}
	return &AuthorizeResponse{SAD: sad, ExpiresIn: s.expiresIn(exp)}, nil
}

func extendV1(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *ExtendTransactionRequestV1) (*AuthorizeResponse, error) {
	in := extendInput{credentialID: req.CredentialID, sad: req.SAD}
	if req.Hash != nil {
		hs, err := decodeHashes(req.Hash, 0, s.opts.MultiSign, "hash")
		if err != nil {
			return nil, err
		}
		in.hashes = hs
	}
	sad, exp, err := s.extend(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return &AuthorizeResponse{SAD: sad, ExpiresIn: s.expiresIn(exp)}, nil
}

func signHashV1(s *server, ctx context.Context, _ http.ResponseWriter, c *caller, req *SignHashRequestV1) (*SignHashResponse, error) {
	sigs, err := s.signHash(ctx, c, signInput{credentialID: req.CredentialID, sad: req.SAD, hashes: req.Hash,
		hashOID: req.HashAlgo, signAlgo: req.SignAlgo, signAlgoParam: req.SignAlgoParams})
	if err != nil {
		return nil, err
	}
	return &SignHashResponse{Signatures: sigs}, nil
}
