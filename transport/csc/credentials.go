package csc

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// credPrefix starts every credentialID: a user holds one roaming
// credential, named after the user id.
const credPrefix = "RS-"

// CredentialID returns the credentialID of user's roaming credential.
func CredentialID(user roamsign.UserID) string { return credPrefix + string(user) }

// userOfCredential parses a credentialID.
func userOfCredential(id string) (roamsign.UserID, error) {
	if id == "" {
		return "", badRequest("Missing (or invalid type) string parameter credentialID")
	}
	u, ok := strings.CutPrefix(id, credPrefix)
	if !ok || !roamsign.UserID(u).Valid() {
		return "", badRequest("Invalid parameter credentialID")
	}
	return roamsign.UserID(u), nil
}

// cred is a resolved credential: the user, the chain and whether it can
// sign now.
type cred struct {
	id      string
	user    roamsign.UserID
	chain   []*x509.Certificate
	enabled bool
}

// credential resolves a credentialID through Medium, as the calling host
// sees the user: a user the host may not act for is an invalid
// credentialID, like one that does not exist.
func (s *server) credential(ctx context.Context, id string) (*cred, error) {
	u, err := userOfCredential(id)
	if err != nil {
		return nil, err
	}
	m, err := s.api.Medium(ctx, roamsign.MediumRequest{User: u})
	if err != nil {
		if errors.Is(err, roamsign.ErrNotFound) {
			return nil, badRequest("Invalid parameter credentialID")
		}
		return nil, err
	}
	if len(m.Chain) == 0 || !hasRoaming(m.Media) {
		return nil, badRequest("Invalid parameter credentialID")
	}
	chain := make([]*x509.Certificate, 0, len(m.Chain))
	for _, der := range m.Chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInternal, "csc.credential", err, "stored certificate does not parse")
		}
		chain = append(chain, c)
	}
	return &cred{id: id, user: u, chain: chain, enabled: m.Use == roamsign.MediumRoamingOTP}, nil
}

// usable refuses a credential that cannot sign now: its key disabled, or
// its certificate outside its validity (CSC API v2.0.0.2 clause 11.10:
// "Signing certificate is expired"), so that no OTP is sent and nothing
// is signed for it.
func (c *cred) usable(now time.Time) error {
	leaf := c.chain[0]
	switch {
	case !c.enabled:
		return badRequest("The credential identified by credentialID is disabled")
	case now.After(leaf.NotAfter):
		return badRequest("Signing certificate is expired")
	case now.Before(leaf.NotBefore):
		return badRequest("Signing certificate is not yet valid")
	}
	return nil
}

func hasRoaming(media []roamsign.MediumKind) bool {
	for _, m := range media {
		if m == roamsign.MediumRoamingOTP {
			return true
		}
	}
	return false
}

// KeyInfo is credentials/info's "key".
type KeyInfo struct {
	Status string   `json:"status"` // enabled | disabled
	Algo   []string `json:"algo"`
	Len    int      `json:"len"`
	Curve  string   `json:"curve,omitempty"`
}

// CertInfo is credentials/info's "cert".
type CertInfo struct {
	Status       string   `json:"status,omitempty"`
	Certificates []string `json:"certificates,omitempty"` // base64 DER, signer first
	IssuerDN     string   `json:"issuerDN,omitempty"`
	SerialNumber string   `json:"serialNumber,omitempty"` // hexadecimal
	SubjectDN    string   `json:"subjectDN,omitempty"`
	ValidFrom    string   `json:"validFrom,omitempty"` // GeneralizedTime YYYYMMDDHHMMSSZ
	ValidTo      string   `json:"validTo,omitempty"`
}

// AuthObject describes one authentication factor of the explicit mode.
type AuthObject struct {
	Type        string `json:"type"` // Password | ChallengeResponse
	ID          string `json:"id"`
	Format      string `json:"format,omitempty"` // A | N
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty"`
}

// AuthInfo is credentials/info's "auth" (v2).
type AuthInfo struct {
	Mode       string       `json:"mode"` // explicit | oauth2code
	Expression string       `json:"expression,omitempty"`
	Objects    []AuthObject `json:"objects,omitempty"`
}

// CredentialInfo is the answer of credentials/info and an entry of
// credentials/list's credentialInfos (v2).
type CredentialInfo struct {
	CredentialID string    `json:"credentialID,omitempty"`
	Description  string    `json:"description,omitempty"`
	Key          KeyInfo   `json:"key"`
	Cert         *CertInfo `json:"cert,omitempty"`
	Auth         AuthInfo  `json:"auth"`
	SCAL         string    `json:"SCAL"`
	Multisign    int       `json:"multisign"`
	Lang         string    `json:"lang,omitempty"`
}

// The authorization modes of credentials/info.
const (
	AuthModeExplicit   = "explicit"
	AuthModeOAuth2Code = "oauth2code"
)

// The authentication object ids of the explicit mode.
const (
	AuthObjectPIN = "PIN"
	AuthObjectOTP = "OTP"
)

// InfoOptions are the shared options of credentials/list and
// credentials/info.
type InfoOptions struct {
	Certificates string `json:"certificates,omitempty"` // none | single | chain (default single)
	CertInfo     bool   `json:"certInfo,omitempty"`
	AuthInfo     bool   `json:"authInfo,omitempty"`
	Lang         string `json:"lang,omitempty"`
	ClientData   string `json:"clientData,omitempty"`
}

func (o InfoOptions) check() error {
	switch o.Certificates {
	case "", "none", "single", "chain":
		return nil
	}
	return badRequest("Invalid parameter certificates")
}

// describe builds a CredentialInfo for c as opts ask.
func (s *server) describe(c *cred, opts InfoOptions) CredentialInfo {
	leaf := c.chain[0]
	algos, bits, curve, _ := keyFacts(leaf.PublicKey, s.opts.OfferPSS)
	status := "disabled"
	if c.enabled {
		status = "enabled"
	}
	ci := CredentialInfo{
		Description: "Roaming certificate of " + leaf.Subject.CommonName + ", PIN and OTP",
		Key:         KeyInfo{Status: status, Algo: algos, Len: bits, Curve: curve},
		Auth:        AuthInfo{Mode: AuthModeExplicit},
		SCAL:        "2",
		Multisign:   s.opts.MultiSign,
		Lang:        s.opts.Lang,
	}
	if s.opts.AuthMode == AuthModeOAuth2Code {
		ci.Auth.Mode = AuthModeOAuth2Code
	}
	ci.Cert = certInfo(c.chain, opts, s.opts.Now())
	if opts.AuthInfo && ci.Auth.Mode == AuthModeExplicit {
		ci.Auth.Expression = "PIN AND OTP"
		ci.Auth.Objects = []AuthObject{
			{Type: "Password", ID: AuthObjectPIN, Format: "A", Label: "PIN", Description: "The certificate PIN (6 to 16 characters)"},
			{Type: "ChallengeResponse", ID: AuthObjectOTP, Format: "N", Label: "OTP",
				Description: "The 6-digit one-time password sent to the signer after credentials/getChallenge"},
		}
	}
	return ci
}

// certInfo is the "cert" object for the chain, or nil when nothing is
// asked for.
func certInfo(chain []*x509.Certificate, opts InfoOptions, now time.Time) *CertInfo {
	leaf := chain[0]
	ci := &CertInfo{}
	// cert/status (CSC API v2.0.0.2 clause 11.4): the validity of the
	// signer's certificate at now; a client may offer only credentials
	// whose certificate says "valid".
	switch {
	case now.After(leaf.NotAfter):
		ci.Status = "expired"
	case !now.Before(leaf.NotBefore):
		ci.Status = "valid"
	}
	switch opts.Certificates {
	case "", "single":
		ci.Certificates = []string{base64.StdEncoding.EncodeToString(leaf.Raw)}
	case "chain":
		for _, c := range chain {
			ci.Certificates = append(ci.Certificates, base64.StdEncoding.EncodeToString(c.Raw))
		}
	}
	if opts.CertInfo {
		ci.IssuerDN = roamsign.FormatDN(leaf.RawIssuer)
		ci.SubjectDN = roamsign.FormatDN(leaf.RawSubject)
		ci.SerialNumber = strings.ToUpper(leaf.SerialNumber.Text(16))
		ci.ValidFrom = leaf.NotBefore.UTC().Format("20060102150405Z")
		ci.ValidTo = leaf.NotAfter.UTC().Format("20060102150405Z")
	}
	if ci.Status == "" && ci.Certificates == nil && ci.IssuerDN == "" {
		return nil
	}
	return ci
}

// CredentialsListRequest is credentials/list's input (v2).
type CredentialsListRequest struct {
	UserID         string `json:"userID,omitempty"`
	CredentialInfo bool   `json:"credentialInfo,omitempty"`
	OnlyValid      bool   `json:"onlyValid,omitempty"`
	InfoOptions
}

// CredentialsListResponse is credentials/list's answer (v2).
type CredentialsListResponse struct {
	CredentialIDs   []string         `json:"credentialIDs"`
	CredentialInfos []CredentialInfo `json:"credentialInfos,omitempty"`
	OnlyValid       bool             `json:"onlyValid,omitempty"`
}

// list answers credentials/list: the host names the user (userID), since
// its service authorization is not user-specific.
func (s *server) list(ctx context.Context, c *caller, req *CredentialsListRequest) (*CredentialsListResponse, error) {
	if err := c.serviceScope(); err != nil {
		return nil, err
	}
	if err := req.InfoOptions.check(); err != nil {
		return nil, err
	}
	if req.UserID == "" {
		return nil, badRequest("Missing (or invalid type) string parameter userID")
	}
	u := roamsign.UserID(req.UserID)
	if !u.Valid() {
		return nil, badRequest("Invalid parameter userID")
	}
	out := &CredentialsListResponse{CredentialIDs: []string{}, OnlyValid: req.OnlyValid}
	cr, err := s.credential(ctx, CredentialID(u))
	if err != nil {
		if e := errorOf(err); e.Status == http.StatusBadRequest {
			return out, nil // no usable credential for this host
		}
		return nil, err
	}
	if req.OnlyValid && (!cr.enabled || s.opts.Now().After(cr.chain[0].NotAfter)) {
		return out, nil
	}
	out.CredentialIDs = append(out.CredentialIDs, cr.id)
	if req.CredentialInfo {
		ci := s.describe(cr, req.InfoOptions)
		ci.CredentialID = cr.id
		out.CredentialInfos = append(out.CredentialInfos, ci)
	}
	return out, nil
}

// CredentialsInfoRequest is credentials/info's input (v2).
type CredentialsInfoRequest struct {
	CredentialID string `json:"credentialID"`
	InfoOptions
}

// info answers credentials/info.
func (s *server) credInfo(ctx context.Context, c *caller, req *CredentialsInfoRequest) (*CredentialInfo, error) {
	if err := req.InfoOptions.check(); err != nil {
		return nil, err
	}
	if c.grant != nil && c.grant.credentialID != req.CredentialID {
		return nil, cscErr(http.StatusUnauthorized, ErrCodeInvalidToken, "The access token is not valid for this credential")
	}
	cr, err := s.credential(ctx, req.CredentialID)
	if err != nil {
		return nil, err
	}
	ci := s.describe(cr, req.InfoOptions)
	return &ci, nil
}
