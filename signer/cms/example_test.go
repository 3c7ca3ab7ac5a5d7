package cms_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"log"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/cms"
)

// A host prepares the signed attributes, a remote key signs their digest,
// and the host completes the CMS.
func ExamplePrepare() {
	root, _ := testpki.NewRoot(testpki.Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // held by the remote service
	leaf, _ := root.IssueLeaf("AMINAH BINTI ALI", "900101145678", key.Public(), testpki.LeafOptions{})

	// Host: the content never leaves it, only its digest is used.
	content := []byte("Surat Perakuan 2026/117")
	prep, err := cms.Prepare(roamsign.SHA256.Sum(content), []*x509.Certificate{leaf, root.Cert}, cms.Options{})
	if err != nil {
		log.Fatal(err)
	}
	state, _ := prep.MarshalBinary() // kept while the signer approves
	toSign := roamsign.Hash{Algorithm: prep.Hash(), Value: prep.Digest()}

	// Remote: signs the "Data Hash To Sign".
	signature, _ := key.Sign(rand.Reader, toSign.Value, crypto.SHA256)

	// Host: completes the detached signature.
	back, err := cms.UnmarshalPrepared(state)
	if err != nil {
		log.Fatal(err)
	}
	der, err := back.Complete(signature)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(der) > 0, toSign.Algorithm)
	// Output: true SHA-256
}

// One step with a local key.
func ExampleSign() {
	root, _ := testpki.NewRoot(testpki.Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := root.IssueLeaf("AMINAH BINTI ALI", "900101145678", key.Public(), testpki.LeafOptions{})

	der, err := cms.Sign(context.Background(), key, bytes.NewReader([]byte("content")), []*x509.Certificate{leaf, root.Cert}, cms.Options{AlgorithmProtection: true})
	if err != nil {
		log.Fatal(err)
	}
	sv, _ := cms.SignatureValue(der) // what a TSA would stamp
	fmt.Println(len(sv) > 0)
	// Output: true
}
