package roamsign

import (
	"context"
	"time"
)

// API is the contract between a host system and the signing service: the
// "Ultimate API". package service implements it in-process and
// transport/httpapi's client implements it over HTTP, so a host is written
// once against this interface.
//
// The calling host system is not a request field: it is established by the
// transport (mTLS certificate or API key) and carried in the context, see
// [WithHost]. A host may act only for users enrolled for it.
type API interface {
	// Medium reports which signing media a user holds and which one to use
	// with the calling host.
	Medium(ctx context.Context, req MediumRequest) (*MediumResponse, error)
	// RequestOTP creates a challenge bound to the user, the host, the data
	// header and the exact hashes, and delivers the OTP.
	RequestOTP(ctx context.Context, req OTPRequest) (*OTPResponse, error)
	// Sign checks nonce, OTP and PIN against the challenge and the hashes and,
	// when all hold, signs every hash with the user's key.
	Sign(ctx context.Context, req SignRequest) (*SignResponse, error)
	// Status reports a transaction's state.
	Status(ctx context.Context, req StatusRequest) (*StatusResponse, error)
}

// Admin is the administration side of the service: enrolment, PIN and
// device management. It is a separate interface so that a host-facing
// deployment can expose API without it.
type Admin interface {
	// Enrol creates (or updates) a user for a host: generates the key in the
	// HSM and returns a certificate signing request for the CA.
	Enrol(ctx context.Context, req EnrolRequest) (*EnrolResponse, error)
	// ImportChain stores the certificate chain the CA issued for the user's key.
	ImportChain(ctx context.Context, req ImportChainRequest) error
	// SetPIN sets or changes the user's certificate PIN.
	SetPIN(ctx context.Context, req SetPINRequest) error
	// ResetPIN clears a PIN lock and sets a new PIN.
	ResetPIN(ctx context.Context, req ResetPINRequest) error
	// ClearOTPBackoff clears a user's OTP failure counts, and so any wait
	// they imposed, for one host or every host, without touching the PIN.
	ClearOTPBackoff(ctx context.Context, req ClearOTPBackoffRequest) error
	// RegisterDevice registers a push device for OTP delivery.
	RegisterDevice(ctx context.Context, req RegisterDeviceRequest) error
	// Disable revokes a user's roaming medium; no further signing is possible.
	Disable(ctx context.Context, req DisableRequest) error
}

// HostID identifies an authenticated host system (an agency's ICT system).
type HostID string

type hostKey struct{}

// WithHost returns a context that carries the authenticated host identity.
// Transports call it after authenticating the caller; in-process hosts call
// it with their own identity.
func WithHost(ctx context.Context, host HostID) context.Context {
	return context.WithValue(ctx, hostKey{}, host)
}

// HostFromContext returns the host identity set by [WithHost].
func HostFromContext(ctx context.Context) (HostID, bool) {
	h, ok := ctx.Value(hostKey{}).(HostID)
	return h, ok && h != ""
}

// MediumRequest asks for a user's signing media.
type MediumRequest struct {
	User UserID `json:"user"`
}

// MediumResponse lists a user's media and the one to use with the calling
// host. Certificate describes the roaming certificate, if any.
type MediumResponse struct {
	User        UserID              `json:"user"`
	Media       []MediumKind        `json:"media"`
	Use         MediumKind          `json:"use"`
	Certificate *CertificateSummary `json:"certificate,omitempty"`
	// Chain is the roaming certificate chain, leaf first (DER). A host
	// needs it before signing to prepare CMS and PDF signatures, whose
	// signed attributes name the signer certificate.
	Chain [][]byte `json:"chain,omitempty"`
}

// CertificateSummary is what the signing screen shows of a certificate.
type CertificateSummary struct {
	Subject      string    `json:"subject"`
	Issuer       string    `json:"issuer"`
	SerialNumber string    `json:"serialNumber"` // hexadecimal
	NotBefore    time.Time `json:"notBefore"`
	NotAfter     time.Time `json:"notAfter"`
}

// OTPRequest asks for a challenge over a list of hashes. DataHeader is the
// host's document reference shown beside the hashes on the signing screen
// and bound into the audit entry.
type OTPRequest struct {
	User       UserID  `json:"user"`
	Hashes     []Hash  `json:"hashes"`
	DataHeader string  `json:"dataHeader,omitempty"`
	Channel    Channel `json:"channel,omitempty"` // preferred channel; empty: policy decides
}

// OTPResponse describes a challenge. The host echoes ChallengeID and Nonce
// back in [SignRequest]; VerificationCode is shown on the signing screen and
// appears in the OTP message too.
type OTPResponse struct {
	ChallengeID      string    `json:"challengeId"`
	Nonce            []byte    `json:"nonce"`
	ExpiresAt        time.Time `json:"expiresAt"`
	Channel          Channel   `json:"channel"`
	SentTo           string    `json:"sentTo"` // masked destination
	VerificationCode string    `json:"verificationCode"`
}

// OutputForm selects what Sign returns for each hash.
type OutputForm string

// The output forms.
const (
	// FormRaw: the bare signature value (PKCS#1 v1.5, or ECDSA DER).
	FormRaw OutputForm = "raw"
	// FormCMS: a detached CMS SignedData (CAdES-B-B) over the hashed content.
	FormCMS OutputForm = "cms"
)

// SignRequest approves and signs the hashes of a challenge. Hashes must be
// exactly those given to RequestOTP, in the same order. RequestID makes the
// call idempotent: a retry with the same id returns the first result and
// never signs twice.
type SignRequest struct {
	ChallengeID string     `json:"challengeId"`
	Nonce       []byte     `json:"nonce"`
	PIN         Secret     `json:"pin"`
	OTP         Secret     `json:"otp"`
	Hashes      []Hash     `json:"hashes"`
	RequestID   string     `json:"requestId"`
	Form        OutputForm `json:"form,omitempty"` // default FormRaw
}

// ItemStatus is the result state of one hash in a batch.
type ItemStatus string

// The item states.
const (
	ItemSigned ItemStatus = "signed"
	ItemFailed ItemStatus = "failed"
)

// SignedItem is the result for one hash, in input order.
type SignedItem struct {
	Index     int        `json:"index"`
	Status    ItemStatus `json:"status"`
	Signature []byte     `json:"signature,omitempty"`
	Error     string     `json:"error,omitempty"` // kind code when failed
}

// SignResponse carries the signatures of a batch, the signer's certificate
// chain (leaf first, DER) and the transaction id.
type SignResponse struct {
	TransactionID      string       `json:"transactionId"`
	Items              []SignedItem `json:"items"`
	Chain              [][]byte     `json:"chain"`
	SignatureAlgorithm string       `json:"signatureAlgorithm"`
	Form               OutputForm   `json:"form"`
}

// StatusRequest names a transaction.
type StatusRequest struct {
	TransactionID string `json:"transactionId"`
}

// TxState is the state of a transaction.
type TxState string

// The transaction states.
const (
	TxPending TxState = "pending"
	TxSigned  TxState = "signed"
	TxFailed  TxState = "failed"
	TxExpired TxState = "expired"
)

// StatusResponse reports a transaction.
type StatusResponse struct {
	TransactionID string       `json:"transactionId"`
	State         TxState      `json:"state"`
	User          UserID       `json:"user"`
	Items         []SignedItem `json:"items,omitempty"`
	CreatedAt     time.Time    `json:"createdAt"`
	UpdatedAt     time.Time    `json:"updatedAt"`
}

// KeyAlgorithm names a key type and size for enrolment.
type KeyAlgorithm string

// The key algorithms.
const (
	RSA2048 KeyAlgorithm = "RSA-2048"
	RSA3072 KeyAlgorithm = "RSA-3072"
	RSA4096 KeyAlgorithm = "RSA-4096"
	ECP256  KeyAlgorithm = "EC-P256"
	ECP384  KeyAlgorithm = "EC-P384"
	ECP521  KeyAlgorithm = "EC-P521"
)

// Valid reports whether a is a defined key algorithm.
func (a KeyAlgorithm) Valid() bool {
	switch a {
	case RSA2048, RSA3072, RSA4096, ECP256, ECP384, ECP521:
		return true
	}
	return false
}

// EnrolRequest enrols a user for a host system.
type EnrolRequest struct {
	User      UserID       `json:"user"`
	Name      string       `json:"name"` // common name on the certificate
	Hosts     []HostID     `json:"hosts"`
	Media     []MediumKind `json:"media,omitempty"`
	Email     string       `json:"email,omitempty"`
	Algorithm KeyAlgorithm `json:"algorithm,omitempty"` // default RSA-2048
}

// EnrolResponse carries the CSR (DER) for the user's new key.
type EnrolResponse struct {
	User  UserID `json:"user"`
	KeyID string `json:"keyId"`
	CSR   []byte `json:"csr"`
}

// ImportChainRequest stores a user's certificate chain (leaf first, DER).
type ImportChainRequest struct {
	User  UserID   `json:"user"`
	Chain [][]byte `json:"chain"`
}

// SetPINRequest sets a PIN; Old is required when a PIN is already set.
type SetPINRequest struct {
	User UserID `json:"user"`
	Old  Secret `json:"old,omitempty"`
	New  Secret `json:"new"`
}

// ResetPINRequest clears a lock and sets a new PIN (administrator action).
type ResetPINRequest struct {
	User UserID `json:"user"`
	New  Secret `json:"new"`
}

// ClearOTPBackoffRequest clears a user's OTP back-off (administrator
// action): for Host, or for every host when Host is empty.
type ClearOTPBackoffRequest struct {
	User UserID `json:"user"`
	Host HostID `json:"host,omitempty"`
}

// RegisterDeviceRequest registers a push device for OTP delivery.
type RegisterDeviceRequest struct {
	User     UserID `json:"user"`
	DeviceID string `json:"deviceId"`
}

// DisableRequest disables a user's roaming signing.
type DisableRequest struct {
	User   UserID `json:"user"`
	Reason string `json:"reason,omitempty"`
}

type correlationKey struct{}

// WithCorrelationID returns a context carrying a correlation id (for
// example the HTTP X-Request-ID) that servers put into their log lines, so
// one host request can be followed through the transport and the service.
// It is not the idempotency key of [SignRequest.RequestID].
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the id set by [WithCorrelationID], or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}
