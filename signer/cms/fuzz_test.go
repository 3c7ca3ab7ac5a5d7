package cms_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/cms"
	"github.com/stretchr/testify/require"
)

func FuzzUnmarshalPrepared(f *testing.F) {
	p := ecPKI(f)
	for _, key := range []string{"p256", "p384"} {
		prep, err := cms.Prepare(roamsign.SHA256.Sum(nil), p.chains[key], cms.Options{AlgorithmProtection: true})
		require.NoError(f, err)
		state, _ := prep.MarshalBinary()
		f.Add(state)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		prep, err := cms.UnmarshalPrepared(data)
		if err != nil {
			if roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		// Whatever is accepted must re-encode to the same state and refuse
		// a wrong signature.
		again, err := prep.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		if _, err := prep.Complete(bytes.Repeat([]byte{1}, 64)); err == nil {
			t.Fatal("garbage signature accepted")
		}
	})
}

func FuzzSignatureValue(f *testing.F) {
	p := ecPKI(f)
	for _, key := range []string{"p256", "p384"} {
		der, err := cms.Sign(context.Background(), p.keys[key], bytes.NewReader([]byte("x")), p.chains[key], cms.Options{})
		require.NoError(f, err)
		f.Add(der, []byte{0x30, 0x00})
		sv, _ := cms.SignatureValue(der)
		f.Add(der, tsaToken(f, p, sv))
	}
	f.Fuzz(func(t *testing.T, der, token []byte) {
		sv, err := cms.SignatureValue(der)
		if err != nil {
			if roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if len(sv) == 0 {
			t.Fatal("empty signature value accepted")
		}
		out, err := cms.AddTimestampToken(der, token)
		if err != nil {
			if roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if sv2, err := cms.SignatureValue(out); err != nil || !bytes.Equal(sv, sv2) {
			t.Fatalf("stamped CMS lost its signature value: %v", err)
		}
	})
}

// FuzzAddTimestampToken fuzzes the token parser against a fixed, valid CMS.
func FuzzAddTimestampToken(f *testing.F) {
	p := ecPKI(f)
	der, err := cms.Sign(context.Background(), p.keys["p256"], bytes.NewReader([]byte("x")), p.chains["p256"], cms.Options{})
	require.NoError(f, err)
	sv, _ := cms.SignatureValue(der)
	f.Add(tsaToken(f, p, sv))
	f.Add(tsaToken(f, p, []byte("other")))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, token []byte) {
		out, err := cms.AddTimestampToken(der, token)
		if err != nil {
			if k := roamsign.KindOf(err); k != roamsign.ErrInvalidInput && k != roamsign.ErrUnsupported && k != roamsign.ErrTooLarge {
				t.Fatalf("kind %v: %v", k, err)
			}
			return
		}
		if !bytes.Contains(out, token) {
			t.Fatal("accepted token not embedded verbatim")
		}
		if sv2, err := cms.SignatureValue(out); err != nil || !bytes.Equal(sv, sv2) {
			t.Fatalf("stamped CMS lost its signature value: %v", err)
		}
	})
}
