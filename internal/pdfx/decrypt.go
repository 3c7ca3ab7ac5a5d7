package pdfx

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rc4"
	"io"

	"github.com/roamsign/roamsign"
)

// streamCrypt is how the data of a stream read from an encrypted file is
// decrypted: the method and the object's key.
type streamCrypt struct {
	method cryptMethod
	key    []byte
}

// costCryptBuf is the buffer WriteFull decrypts stream data in.
const costCryptBuf = 64 << 10

func badCipher(format string, args ...any) error {
	e := roamsign.E(roamsign.ErrInvalidInput, cryptOp, format, args...)
	e.Msg = "encrypted data is malformed: " + e.Msg
	return e
}

// objectKey returns the key of object ref for method m (Algorithm 1;
// AES-256 uses the file key itself).
func (sec *security) objectKey(ref Ref, m cryptMethod) []byte {
	if m == cryptAESV3 || m == cryptIdentity {
		return sec.key
	}
	h := md5.New()
	h.Write(sec.key)
	h.Write([]byte{byte(ref.Num), byte(ref.Num >> 8), byte(ref.Num >> 16), byte(ref.Gen), byte(ref.Gen >> 8)})
	if m == cryptAESV2 {
		h.Write([]byte("sAlT"))
	}
	return h.Sum(nil)[:min(len(sec.key)+5, 16)]
}

// decryptBytes decrypts data in place with method m under key and returns
// the plain text (a prefix of data's memory). AES data is a 16-byte
// initialization vector and whole blocks with PKCS #5 padding.
func decryptBytes(m cryptMethod, key, data []byte) ([]byte, error) {
	switch m {
	case cryptIdentity:
		return data, nil
	case cryptRC4:
		c, err := rc4.NewCipher(key)
		if err != nil {
			return nil, badCipher("bad RC4 key")
		}
		c.XORKeyStream(data, data)
		return data, nil
	}
	if len(data) == aes.BlockSize {
		return data[:0], nil // an initialization vector alone: empty
	}
	if len(data) < 2*aes.BlockSize || len(data)%aes.BlockSize != 0 {
		return nil, badCipher("%d bytes of AES data are not whole blocks after an initialization vector", len(data))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, badCipher("bad AES key")
	}
	body := data[aes.BlockSize:]
	cipher.NewCBCDecrypter(block, data[:aes.BlockSize]).CryptBlocks(body, body)
	n, err := unpad(body)
	if err != nil {
		return nil, err
	}
	return body[:n], nil
}

// unpad returns the length of b (whole blocks) without its PKCS #5
// padding.
func unpad(b []byte) (int, error) {
	p := int(b[len(b)-1])
	if p == 0 || p > aes.BlockSize {
		return 0, badCipher("bad AES padding")
	}
	bad := 0
	for _, c := range b[len(b)-p:] {
		if int(c) != p {
			bad++
		}
	}
	if bad != 0 {
		return 0, badCipher("bad AES padding")
	}
	return len(b) - p, nil
}

// decrypted returns object ref as the decrypting reader presents it: its
// strings decrypted and, for a stream, its data marked for decryption.
// The /Encrypt dictionary and cross-reference streams stay as they are.
func (r *Reader) decrypted(ref Ref, o Object) (Object, error) {
	sec := r.sec
	if sec == nil || (sec.encRef.Num != 0 && ref == sec.encRef) {
		return o, nil
	}
	if s, ok := o.(*Stream); ok && s.Dict["Type"] == Name("XRef") {
		return o, nil
	}
	return r.decryptIn(sec.objectKey(ref, sec.str), ref, o)
}

// decryptIn decrypts the strings of o (in place) with the object's string
// key. The nesting is that of a parsed object, bounded by
// Limits.MaxDepth.
func (r *Reader) decryptIn(key []byte, ref Ref, o Object) (Object, error) {
	var err error
	switch v := o.(type) {
	case String:
		if r.sec.str == cryptIdentity {
			return v, nil
		}
		b, err := decryptBytes(r.sec.str, key, v)
		if err != nil {
			return nil, err
		}
		return String(b), nil
	case Array:
		for i := range v {
			if v[i], err = r.decryptIn(key, ref, v[i]); err != nil {
				return nil, err
			}
		}
	case Dict:
		// The /Contents of a signature dictionary is not encrypted
		// (ISO 32000-2, 7.6.2).
		_, hasRange := v["ByteRange"].(Array)
		sig := v["Type"] == Name("Sig") || v["Type"] == Name("DocTimeStamp") || hasRange
		for k := range v {
			if sig && k == "Contents" {
				continue
			}
			if v[k], err = r.decryptIn(key, ref, v[k]); err != nil {
				return nil, err
			}
		}
	case *Stream:
		if _, err := r.decryptIn(key, ref, v.Dict); err != nil {
			return nil, err
		}
		return v, r.markStream(ref, v)
	}
	return o, nil
}

// markStream records how the data of stream ref is decrypted: with the
// stream method, or the crypt filter its /Filter names first (which is
// then taken out of /Filter and /DecodeParms, since the reader applies
// it); metadata streams stay plain when /EncryptMetadata is false.
func (r *Reader) markStream(ref Ref, s *Stream) error {
	m := r.sec.stm
	if !r.sec.encryptMetadata && s.Dict["Type"] == Name("Metadata") {
		m = cryptIdentity
	}
	if name, ok, err := takeCryptFilter(s); err != nil {
		return err
	} else if ok {
		if m, ok = r.sec.filters[name]; !ok {
			return unsupportedCrypt("the stream crypt filter /%s is not defined", name)
		}
	}
	if m != cryptIdentity {
		s.crypt = &streamCrypt{method: m, key: r.sec.objectKey(ref, m)}
	}
	return nil
}

// takeCryptFilter removes a leading /Crypt filter from s's dictionary and
// returns the crypt filter it names (default /Identity).
func takeCryptFilter(s *Stream) (Name, bool, error) {
	var rest, parms Array
	switch f := s.Dict["Filter"].(type) {
	case Name:
		rest = Array{f}
		parms = Array{s.Dict["DecodeParms"]}
	case Array:
		rest = f
		parms, _ = s.Dict["DecodeParms"].(Array)
	}
	if len(rest) == 0 || rest[0] != Name("Crypt") {
		return "", false, nil
	}
	name := Name("Identity")
	if len(parms) > 0 {
		if p, ok := parms[0].(Dict); ok {
			if n, ok := p["Name"].(Name); ok {
				name = n
			}
		}
		parms = parms[1:]
	}
	d := s.Dict.Clone()
	delete(d, "Filter")
	delete(d, "DecodeParms")
	switch {
	case len(rest) == 2:
		d["Filter"] = rest[1]
		if len(parms) > 0 && parms[0] != nil {
			d["DecodeParms"] = parms[0]
		}
	case len(rest) > 2:
		d["Filter"] = rest[1:]
		if len(parms) > 0 {
			d["DecodeParms"] = parms
		}
	}
	s.Dict = d
	return name, true, nil
}

// plainLength returns the length of s's data once decrypted: an AES
// stream's last two blocks are read to find its padding.
func (r *Reader) plainLength(s *Stream) (int64, error) {
	c := s.crypt
	if c == nil || c.method == cryptRC4 {
		return s.Length, nil
	}
	n := s.Length
	if n == aes.BlockSize {
		return 0, nil
	}
	if n < 2*aes.BlockSize || n%aes.BlockSize != 0 {
		return 0, badCipher("%d bytes of AES stream data are not whole blocks after an initialization vector", n)
	}
	tail, _, err := r.readInto(r.scratch, s.Offset+n-2*aes.BlockSize, 2*aes.BlockSize)
	if err != nil {
		return 0, err
	}
	r.scratch = tail[:0]
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return 0, badCipher("bad AES key")
	}
	last := tail[aes.BlockSize:]
	cipher.NewCBCDecrypter(block, tail[:aes.BlockSize]).CryptBlocks(last, last)
	k, err := unpad(last)
	if err != nil {
		return 0, err
	}
	return n - 2*aes.BlockSize + int64(k), nil
}

// copyDecrypted writes the plain data of s (plain bytes, from
// plainLength) to w, decrypting it in chunks through one buffer.
func (r *Reader) copyDecrypted(w io.Writer, s *Stream, plain int64) error {
	c := s.crypt
	if r.cryptBuf == nil {
		if err := r.b.Spend(costCryptBuf); err != nil {
			return err
		}
		r.cryptBuf = make([]byte, costCryptBuf)
	}
	src := io.NewSectionReader(r.ra, s.Offset, s.Length)
	var xor cipher.Stream
	var cbc cipher.BlockMode
	if c.method == cryptRC4 {
		rc, err := rc4.NewCipher(c.key)
		if err != nil {
			return badCipher("bad RC4 key")
		}
		xor = rc
	} else if plain > 0 {
		block, err := aes.NewCipher(c.key)
		if err != nil {
			return badCipher("bad AES key")
		}
		iv := r.cryptBuf[:aes.BlockSize]
		if _, err := io.ReadFull(src, iv); err != nil {
			return roamsign.Wrap(roamsign.ErrUnavailable, "pdfx.WriteFull", err, "reading the file failed")
		}
		cbc = cipher.NewCBCDecrypter(block, iv)
	}
	for plain > 0 {
		n, err := io.ReadFull(src, r.cryptBuf)
		if n == 0 || n%aes.BlockSize != 0 && cbc != nil {
			return roamsign.E(roamsign.ErrUnavailable, "pdfx.WriteFull", "reading the file failed (%v)", err)
		}
		b := r.cryptBuf[:n]
		if cbc != nil {
			cbc.CryptBlocks(b, b)
		} else {
			xor.XORKeyStream(b, b)
		}
		b = b[:min(int64(n), plain)]
		if _, werr := w.Write(b); werr != nil {
			return werr
		}
		plain -= int64(len(b))
	}
	return nil
}
