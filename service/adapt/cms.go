package adapt

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/parallel"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/signer/cms"
)

// CMS is the CMS form: a detached CMS SignedData (CAdES-B-B) per hash,
// made by signer/cms with the user's key. Its CheckBatch parses each
// output and verifies the signature over the signed attributes with the
// leaf certificate and the message digest against the hash.
type CMS struct {
	// Options are passed to cms.SignDigest; Hash is set per item.
	Options cms.Options
	// Workers bounds parallel signatures; zero: roamsign.Concurrency(key).
	Workers int
}

var _ service.FormSigner = CMS{}

// SignBatch makes one CMS per hash. It leaves the verification of the
// signatures to [CMS.CheckBatch], which the service runs on every batch
// before it records or returns a signature.
func (c CMS) SignBatch(ctx context.Context, key crypto.Signer, chain []*x509.Certificate, hashes []roamsign.Hash) ([][]byte, string, error) {
	const op = "adapt.CMS.SignBatch"
	workers := c.Workers
	if workers <= 0 {
		workers = roamsign.Concurrency(key)
	}
	out := make([][]byte, len(hashes))
	err := parallel.Each(ctx, workers, len(hashes), func(i int) error {
		opts := c.Options
		opts.Hash, opts.CallerVerifies = hashes[i].Algorithm, true
		var err error
		if out[i], err = cms.SignDigest(ctx, key, hashes[i].Value, chain, opts); err != nil {
			return roamsign.Wrap(roamsign.KindOf(err), op, err, fmt.Sprintf("item %d", i))
		}
		return nil
	})
	if cerr := ctx.Err(); cerr != nil {
		return nil, "", roamsign.Wrap(roamsign.ErrUnavailable, op, cerr, "batch cancelled")
	}
	if err != nil {
		return nil, "", err
	}
	return out, "CMS/" + algName(key.Public(), hashes), nil
}

// CheckBatch verifies each CMS against the leaf certificate and its hash.
func (CMS) CheckBatch(_ context.Context, chain []*x509.Certificate, hashes []roamsign.Hash, sigs [][]byte) error {
	const op = "adapt.CMS.CheckBatch"
	if len(chain) == 0 || len(sigs) != len(hashes) {
		return roamsign.E(roamsign.ErrInternal, op, "%d outputs for %d hashes", len(sigs), len(hashes))
	}
	for i := range hashes {
		if err := CheckCMSDigest(sigs[i], hashes[i], chain[0]); err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, fmt.Sprintf("CMS %d", i))
		}
	}
	return nil
}

var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidRSAPSS        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
)

// maxCMS bounds the CMS the check parses.
const maxCMS = 1 << 20

// CheckCMSDigest is the self-check of a detached CMS made over h: the
// single SignerInfo's message-digest attribute equals h and its signature
// over the signed attributes verifies with leaf's public key. It does not
// check chains, times or revocation (package verify does).
func CheckCMSDigest(der []byte, h roamsign.Hash, leaf *x509.Certificate) (err error) {
	defer func() {
		if recover() != nil {
			err = errors.New("CMS parser panicked")
		}
	}()
	if len(der) > maxCMS {
		return errors.New("CMS too large")
	}
	bad := func(what string) error { return fmt.Errorf("malformed CMS: %s", what) }
	in := cryptobyte.String(der)
	var ci, sd cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() || !ci.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidSignedData) {
		return bad("content info")
	}
	var wrapped cryptobyte.String
	if !ci.ReadASN1(&wrapped, cbasn1.Tag(0).Constructed().ContextSpecific()) || !wrapped.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return bad("signed data")
	}
	var version int
	var skip cryptobyte.String
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&skip, cbasn1.SET) || !sd.ReadASN1(&skip, cbasn1.SEQUENCE) {
		return bad("signed data header")
	}
	sd.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific())
	sd.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific())
	var infos, si cryptobyte.String
	if !sd.ReadASN1(&infos, cbasn1.SET) || !infos.ReadASN1(&si, cbasn1.SEQUENCE) || !infos.Empty() {
		return bad("exactly one signer info expected")
	}
	var attrs, sigAlg, sig cryptobyte.String
	var attrsTag cbasn1.Tag
	if !si.ReadASN1Integer(&version) || !si.ReadAnyASN1(&skip, &attrsTag) || !si.ReadASN1(&skip, cbasn1.SEQUENCE) {
		return bad("signer info header")
	}
	if !si.ReadASN1Element(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) || !si.ReadASN1(&sigAlg, cbasn1.SEQUENCE) ||
		!si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return bad("signer info body")
	}
	var algOID asn1.ObjectIdentifier
	if !sigAlg.ReadASN1ObjectIdentifier(&algOID) {
		return bad("signature algorithm")
	}
	// The signature covers the attributes DER-encoded as a SET OF.
	signed := bytes.Clone(attrs)
	signed[0] = 0x31
	if err := checkMessageDigest(attrs, h.Value); err != nil {
		return err
	}
	d := h.Algorithm.CryptoHash().New()
	d.Write(signed)
	digest := d.Sum(nil)
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if algOID.Equal(oidRSAPSS) {
			return rsa.VerifyPSS(k, h.Algorithm.CryptoHash(), digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(k, h.Algorithm.CryptoHash(), digest, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unsupported key %T", leaf.PublicKey)
}

func checkMessageDigest(attrs cryptobyte.String, want []byte) error {
	var set cryptobyte.String
	if !attrs.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return errors.New("malformed CMS: signed attributes")
	}
	found := 0
	for !set.Empty() {
		var attr, vals cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&vals, cbasn1.SET) {
			return errors.New("malformed CMS: attribute")
		}
		if !oid.Equal(oidMessageDigest) {
			continue
		}
		var v cryptobyte.String
		if !vals.ReadASN1(&v, cbasn1.OCTET_STRING) || !vals.Empty() {
			return errors.New("malformed CMS: message digest")
		}
		if !bytes.Equal(v, want) {
			return errors.New("message digest differs from the signed hash")
		}
		found++
	}
	if found != 1 {
		return errors.New("CMS needs exactly one message-digest attribute")
	}
	return nil
}
