package verify

// SignatureKind says what a PDF signature is for.
type SignatureKind string

// The kinds of PDF signature.
const (
	// KindApproval is an ordinary signature (ISO 32000-2 clause 12.8.1):
	// later form filling and further signatures are allowed.
	KindApproval SignatureKind = "approval"
	// KindCertification is the signature that /Perms /DocMDP names: its
	// DocMDP level (PDFSignature.DocMDP) governs what may change after it.
	KindCertification SignatureKind = "certification"
	// KindDocumentTimestamp is a document timestamp (/Type /DocTimeStamp,
	// /SubFilter /ETSI.RFC3161): an RFC 3161 token over the byte range,
	// no signer.
	KindDocumentTimestamp SignatureKind = "document-timestamp"
)

// TimeSource says where Result.TrustedTime comes from.
type TimeSource string

// The time sources.
const (
	// TimeSourceTimestamp: TrustedTime is the genTime of a verified RFC
	// 3161 timestamp token (the signature's own, or the document
	// timestamp's), a proof of existence.
	TimeSourceTimestamp TimeSource = "timestamp"
	// TimeSourceVerificationTime: no proof of existence; TrustedTime is
	// the verifier's clock (Config.Now) or the caller's ChainRequest.At.
	TimeSourceVerificationTime TimeSource = "verification-time"
)
