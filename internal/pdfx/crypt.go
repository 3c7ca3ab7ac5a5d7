package pdfx

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/roamsign/roamsign"
)

const cryptOp = "pdfx.Decrypt"

// ErrPasswordRequired is the cause of a refusal to decrypt a file that
// does not open with the empty user password: it needs a password to
// open, which only its owner can give. Match it with errors.Is.
var ErrPasswordRequired = errors.New("the document needs a password to open")

// ErrUnsupportedEncryption is the cause of a refusal to decrypt a file
// encrypted by a security handler, version or crypt filter that this
// package does not implement (public-key handlers among them). Match it
// with errors.Is.
var ErrUnsupportedEncryption = errors.New("this kind of encryption cannot be removed here")

// cryptMethod is how strings or streams are encrypted (a crypt filter's
// /CFM, ISO 32000-2, 7.6.6).
type cryptMethod uint8

const (
	cryptIdentity cryptMethod = iota // not encrypted
	cryptRC4                         // /V2 and the RC4 of V 1 and 2
	cryptAESV2                       // AES-128-CBC, per-object keys
	cryptAESV3                       // AES-256-CBC, the file key itself
)

// security is a standard security handler (ISO 32000-2, 7.6.4),
// authenticated with the empty user password: the file key and the
// methods of strings and streams.
type security struct {
	v, r            int
	key             []byte
	str, stm        cryptMethod
	filters         map[Name]cryptMethod // named crypt filters (V 4, 5)
	encryptMetadata bool
	encRef          Ref // the /Encrypt dictionary's object, never decrypted; 0 when direct
}

// padding is the password padding string of Algorithm 2 (7.6.4.3.2).
var padding = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

func unsupportedCrypt(format string, args ...any) error {
	return roamsign.Wrap(roamsign.ErrUnsupported, cryptOp, ErrUnsupportedEncryption, fmt.Sprintf(format, args...))
}

func badCrypt(format string, args ...any) error {
	e := roamsign.E(roamsign.ErrInvalidInput, cryptOp, format, args...)
	e.Msg = "the encryption dictionary is malformed: " + e.Msg
	return e
}

// Decryptable reports whether the encryption of an encrypted file can be
// removed without a password: nil when the file opens with the empty user
// password (it has an owner password only), an error with
// [ErrPasswordRequired] when it needs a password to open, with
// [ErrUnsupportedEncryption] (roamsign.ErrUnsupported) for a security
// handler or crypt filter this package does not implement, and
// roamsign.ErrInvalidInput for a malformed encryption dictionary. It
// changes nothing; see [Reader.Decrypt].
func (r *Reader) Decryptable() error {
	if !r.Encrypted() {
		return nil
	}
	_, err := r.security()
	return err
}

// Decrypt authenticates with the empty user password and, when that
// succeeds, makes the reader present the file decrypted: [Reader.Get]
// returns objects with their strings decrypted, [Reader.ReadRaw] and
// [Reader.StreamData] decrypted stream data, and [Reader.WriteFull]
// writes a file without encryption. The /Encrypt dictionary, the
// cross-reference streams and the /Contents of signature dictionaries
// are not decrypted (ISO 32000-2, 7.6.2), nor the metadata streams of a
// file whose /EncryptMetadata is false; objects inside object streams are
// decrypted with their object stream. Errors are those of
// [Reader.Decryptable]; a file that is not encrypted is left as it is.
func (r *Reader) Decrypt() error {
	if !r.Encrypted() || r.sec != nil {
		return nil
	}
	sec, err := r.security()
	if err != nil {
		return err
	}
	r.sec = sec
	clear(r.cache)
	clear(r.objStms)
	if r.repair {
		// A rebuilt reader could not read encrypted object streams.
		if err := r.addCompressed(); err != nil {
			r.sec = nil // not half decrypted: the reader stays as it was
			clear(r.cache)
			clear(r.objStms)
			return err
		}
		r.x.finalize([]int64{r.x.declared}, []int64{r.size})
	}
	return nil
}

// security reads the /Encrypt dictionary and authenticates.
func (r *Reader) security() (*security, error) {
	sec := &security{encryptMetadata: true}
	eo := r.trailer["Encrypt"]
	if ref, ok := eo.(Ref); ok {
		sec.encRef = ref
	}
	o, err := r.Resolve(eo)
	if err != nil {
		return nil, err
	}
	d, ok := o.(Dict)
	if !ok {
		return nil, badCrypt("/Encrypt is not a dictionary")
	}
	if f, _ := d["Filter"].(Name); f != "Standard" {
		return nil, unsupportedCrypt("the security handler /%s is not supported (only the standard password handler is)", f)
	}
	if err := sec.readMethods(d); err != nil {
		return nil, err
	}
	var id0 []byte
	if ids, ok := r.trailer["ID"].(Array); ok && len(ids) > 0 {
		s, _ := ids[0].(String)
		id0 = s
	}
	if sec.v == 5 {
		err = sec.authenticateAES256(d)
	} else {
		err = sec.authenticateRC4MD5(d, id0)
	}
	if err != nil {
		return nil, err
	}
	return sec, nil
}

// readMethods reads /V, /R, /Length and the crypt filters.
func (sec *security) readMethods(d Dict) error {
	v, _ := Int(d["V"])
	rev, _ := Int(d["R"])
	sec.v, sec.r = int(v), int(rev)
	if em, ok := d["EncryptMetadata"].(bool); ok && v >= 4 {
		sec.encryptMetadata = em
	}
	switch {
	case (v == 1 || v == 2) && (rev == 2 || rev == 3):
		sec.str, sec.stm = cryptRC4, cryptRC4
		return nil
	case v == 4 && rev == 4, v == 5 && (rev == 5 || rev == 6):
	default:
		return unsupportedCrypt("standard encryption of version %d, revision %d is not supported", v, rev)
	}
	sec.filters = map[Name]cryptMethod{"Identity": cryptIdentity}
	cf, _ := d["CF"].(Dict)
	for name, o := range cf {
		fd, _ := o.(Dict)
		if fd == nil || name == "Identity" {
			continue
		}
		m, err := sec.method(fd)
		if err != nil {
			return err
		}
		sec.filters[name] = m
	}
	var err error
	if sec.stm, err = sec.named(d["StmF"]); err != nil {
		return err
	}
	sec.str, err = sec.named(d["StrF"])
	return err
}

// method returns a crypt filter dictionary's method.
func (sec *security) method(fd Dict) (cryptMethod, error) {
	cfm, _ := fd["CFM"].(Name)
	switch {
	case cfm == "None" || cfm == "":
		return 0, unsupportedCrypt("crypt filters that leave decryption to the application are not supported")
	case cfm == "V2" && sec.v == 4:
		return cryptRC4, nil
	case cfm == "AESV2" && sec.v == 4:
		return cryptAESV2, nil
	case cfm == "AESV3" && sec.v == 5:
		return cryptAESV3, nil
	}
	return 0, unsupportedCrypt("the crypt filter method /%s is not supported with encryption version %d", cfm, sec.v)
}

// named returns the method of the crypt filter named by /StmF or /StrF.
func (sec *security) named(o Object) (cryptMethod, error) {
	if o == nil {
		return cryptIdentity, nil
	}
	n, ok := o.(Name)
	if !ok {
		return 0, badCrypt("a crypt filter name is not a name")
	}
	m, ok := sec.filters[n]
	if !ok {
		return 0, badCrypt("the crypt filter /%s is not defined", n)
	}
	return m, nil
}

// keyBytes returns the file key length of revisions 2 to 4, in bytes.
func (sec *security) keyBytes(d Dict) (int, error) {
	if sec.v == 1 {
		return 5, nil
	}
	bits := int64(128)
	if sec.v == 2 {
		bits = 40
	}
	if l, ok := Int(d["Length"]); ok {
		bits = l
	}
	if sec.stm == cryptAESV2 || sec.str == cryptAESV2 {
		bits = 128
	}
	if bits < 40 || bits > 128 || bits%8 != 0 {
		return 0, badCrypt("key length of %d bits", bits)
	}
	return int(bits / 8), nil
}

// authenticateRC4MD5 computes the file key of the empty user password
// (Algorithm 2) and checks it against /U (Algorithms 4 and 5, as
// Algorithm 6 does).
func (sec *security) authenticateRC4MD5(d Dict, id0 []byte) error {
	o, _ := d["O"].(String)
	u, _ := d["U"].(String)
	p, okP := Int(d["P"])
	if len(o) < 32 || len(u) < 32 || !okP {
		return badCrypt("/O, /U or /P is missing or too short")
	}
	n, err := sec.keyBytes(d)
	if err != nil {
		return err
	}
	h := md5.New()
	h.Write(padding)
	h.Write(o[:32])
	var pb [4]byte
	binary.LittleEndian.PutUint32(pb[:], uint32(p))
	h.Write(pb[:])
	h.Write(id0)
	if sec.r >= 4 && !sec.encryptMetadata {
		h.Write([]byte{0xff, 0xff, 0xff, 0xff})
	}
	key := h.Sum(nil)
	if sec.r >= 3 {
		for i := 0; i < 50; i++ {
			sum := md5.Sum(key[:n])
			key = sum[:]
		}
	}
	key = key[:n]
	var want, got []byte
	if sec.r == 2 {
		got, want = rc4Crypt(key, padding), u[:32]
	} else {
		sum := md5.Sum(append(bytes.Clone(padding), id0...))
		got = sum[:]
		k := make([]byte, n)
		for i := 0; i < 20; i++ {
			for j := range k {
				k[j] = key[j] ^ byte(i)
			}
			got = rc4Crypt(k, got)
		}
		want = u[:16]
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return roamsign.Wrap(roamsign.ErrUnsupported, cryptOp, ErrPasswordRequired, "")
	}
	sec.key = key
	return nil
}

// authenticateAES256 checks the empty user password against /U and
// decrypts the file key from /UE (Algorithms 2.A, 2.B and 11).
func (sec *security) authenticateAES256(d Dict) error {
	u, _ := d["U"].(String)
	ue, _ := d["UE"].(String)
	if len(u) < 48 || len(ue) < 32 {
		return badCrypt("/U or /UE is missing or too short")
	}
	if sec.stm != cryptAESV3 && sec.stm != cryptIdentity || sec.str != cryptAESV3 && sec.str != cryptIdentity {
		return unsupportedCrypt("AES-256 encryption with other crypt filters is not supported")
	}
	hashOf := func(salt []byte) []byte {
		if sec.r == 5 {
			s := sha256.Sum256(salt)
			return s[:]
		}
		return hash2B(nil, salt, nil)
	}
	if subtle.ConstantTimeCompare(hashOf(u[32:40]), u[:32]) != 1 {
		return roamsign.Wrap(roamsign.ErrUnsupported, cryptOp, ErrPasswordRequired, "")
	}
	block, err := aes.NewCipher(hashOf(u[40:48]))
	if err != nil {
		return badCrypt("bad intermediate key")
	}
	key := make([]byte, 32)
	cipher.NewCBCDecrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(key, ue[:32])
	sec.key = key
	return nil
}

// hash2B is the hash of revision 6 (Algorithm 2.B) of a password (at most
// 127 bytes), a salt and, for owner passwords, the /U string.
func hash2B(pw, salt, udata []byte) []byte {
	h := sha256.New()
	h.Write(pw)
	h.Write(salt)
	h.Write(udata)
	k := h.Sum(nil)
	var e []byte
	for i := 0; i < 64 || int(e[len(e)-1]) > i-32; i++ {
		unit := make([]byte, 0, len(pw)+len(k)+len(udata))
		unit = append(append(append(unit, pw...), k...), udata...)
		k1 := bytes.Repeat(unit, 64)
		block, _ := aes.NewCipher(k[:16]) // 16 bytes: never fails
		e = make([]byte, len(k1))
		cipher.NewCBCEncrypter(block, k[16:32]).CryptBlocks(e, k1)
		sum := 0
		for _, c := range e[:16] {
			sum += int(c)
		}
		var hh hash.Hash
		switch sum % 3 {
		case 0:
			hh = sha256.New()
		case 1:
			hh = sha512.New384()
		default:
			hh = sha512.New()
		}
		hh.Write(e)
		k = hh.Sum(nil)
	}
	return k[:32]
}

// rc4Crypt returns data encrypted (or decrypted) with RC4 under key (5 to
// 16 bytes).
func rc4Crypt(key, data []byte) []byte {
	c, _ := rc4.NewCipher(key) // key length checked by the callers
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}
