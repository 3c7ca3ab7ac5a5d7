package roamsign

// FormRawPSS selects the bare RSASSA-PSS signature value (RFC 8017) for
// each hash: MGF1 with the hash's own algorithm and a salt as long as the
// hash. It is offered for RSA keys only, where the service registers a
// signer for it (service.RawPSSSigner); remote-signing protocols that name
// PSS (the CSC API's signAlgo 1.2.840.113549.1.1.10) need it.
const FormRawPSS OutputForm = "raw-pss"
