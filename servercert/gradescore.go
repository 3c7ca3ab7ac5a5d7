package servercert

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"strings"
)

func addCap(rep *GradeReport, grade, reason string) {
	for _, c := range rep.Caps {
		if c.Grade == grade && c.Reason == reason {
			return
		}
	}
	rep.Caps = append(rep.Caps, Cap{Grade: grade, Reason: reason})
}

// strengthScore maps a key size in RSA-equivalent bits to the key-exchange
// score of the rating guide.
func strengthScore(bits int) int {
	switch {
	case bits < 512:
		return 20
	case bits < 1024:
		return 40
	case bits < 2048:
		return 80
	case bits < 4096:
		return 90
	}
	return 100
}

func cipherScore(bits int) int {
	switch {
	case bits == 0:
		return 0
	case bits < 128:
		return 20
	case bits < 256:
		return 80
	}
	return 100
}

func protocolScore(v uint16) int {
	switch v {
	case tls.VersionTLS10:
		return 90
	case tls.VersionTLS11:
		return 95
	}
	return 100
}

// scoreAndCap scores the protocols, key exchange and ciphers by the rating
// guide, applies the cap rules, and sets the grade: A+ needs TLS 1.3 and
// HSTS on top of an A; trust and name problems override as T and M.
func scoreAndCap(rep *GradeReport, supported map[uint16]bool, best *tls.ConnectionState) {
	rep.ProtocolScore = protocolsScore(supported)
	f := suiteFactsOf(rep.Suites, best)
	rep.KeyExchangeScore = strengthScore(f.kx)
	rep.CipherScore = (cipherScore(f.minBits) + cipherScore(f.maxBits)) / 2
	rep.Score = (30*rep.ProtocolScore + 30*rep.KeyExchangeScore + 40*rep.CipherScore) / 100
	applyCaps(rep, supported, f)
	g := cappedGrade(rep)
	if g == "A" {
		g = plusGrade(rep, supported)
	}
	rep.GradeIgnoringTrust = g
	rep.Grade = g
	var trust, mismatch bool
	for _, c := range rep.Caps {
		trust = trust || c.Grade == "T"
		mismatch = mismatch || c.Grade == "M"
	}
	switch {
	case trust:
		rep.Grade = "T"
	case mismatch:
		rep.Grade = "M"
	}
	reasons := make([]string, 0, len(rep.Caps)+len(rep.Reasons))
	for _, c := range rep.Caps {
		reasons = append(reasons, "cap "+c.Grade+": "+c.Reason)
	}
	rep.Reasons = append(reasons, rep.Reasons...)
}

// protocolsScore is the average of the best and the worst version offered.
func protocolsScore(supported map[uint16]bool) int {
	var lo, hi uint16
	for v := range supported {
		if lo == 0 || v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return (protocolScore(lo) + protocolScore(hi)) / 2
}

// suiteFacts are what the accepted suites tell the score and the caps.
type suiteFacts struct {
	kx               int // the weakest key exchange, in RSA-equivalent bits
	minBits, maxBits int // cipher strengths
	fs, aead         bool
	anyRC4, any3DES  bool
	anyCBCSHA1       bool
	anyRSAKex        bool
}

// suiteFactsOf sums up the accepted suites. ECDHE over P-256/X25519
// counts as 3072 bits, P-384 and hybrid post-quantum groups as 7680; the
// certificate key authenticates every exchange, so a weaker one lowers
// the key exchange too.
func suiteFactsOf(suites []SuiteResult, best *tls.ConnectionState) suiteFacts {
	ecdhe := 3072
	switch best.CurveID {
	case tls.CurveP384, tls.CurveP521, tls.X25519MLKEM768:
		ecdhe = 7680
	}
	leafBits := 0
	switch k := best.PeerCertificates[0].PublicKey.(type) {
	case *rsa.PublicKey:
		leafBits = k.N.BitLen()
	case *ecdsa.PublicKey:
		leafBits = map[int]int{256: 3072, 384: 7680, 521: 15360}[k.Curve.Params().BitSize]
	}
	var f suiteFacts
	for _, s := range suites {
		b := ecdhe
		if !s.ForwardSecrecy {
			b = leafBits
			f.anyRSAKex = true
		}
		if f.kx == 0 || b < f.kx {
			f.kx = b
		}
		if f.minBits == 0 || s.Bits < f.minBits {
			f.minBits = s.Bits
		}
		if s.Bits > f.maxBits {
			f.maxBits = s.Bits
		}
		f.fs = f.fs || s.ForwardSecrecy
		f.aead = f.aead || s.AEAD
		f.anyRC4 = f.anyRC4 || strings.Contains(s.Name, "RC4")
		f.any3DES = f.any3DES || strings.Contains(s.Name, "3DES")
		f.anyCBCSHA1 = f.anyCBCSHA1 || strings.HasSuffix(s.Name, "_CBC_SHA")
	}
	if f.kx == 0 {
		f.kx = ecdhe
	}
	if leafBits > 0 && leafBits < f.kx {
		f.kx = leafBits
	}
	return f
}

// applyCaps adds the cap rules of the package documentation.
func applyCaps(rep *GradeReport, supported map[uint16]bool, f suiteFacts) {
	if !supported[tls.VersionTLS12] && !supported[tls.VersionTLS13] {
		addCap(rep, "C", "neither TLS 1.2 nor TLS 1.3 is supported")
	}
	if supported[tls.VersionTLS10] || supported[tls.VersionTLS11] {
		addCap(rep, "B", "TLS 1.0 or TLS 1.1 is enabled")
	}
	if f.anyRC4 {
		addCap(rep, "C", "RC4 cipher suites are enabled")
	}
	if f.any3DES {
		addCap(rep, "C", "3DES cipher suites are enabled (Sweet32)")
	}
	if !f.fs {
		addCap(rep, "B", "no forward secrecy: no ECDHE suite and no TLS 1.3")
	}
	if !f.aead {
		addCap(rep, "B", "no AEAD cipher suite (GCM or ChaCha20-Poly1305)")
	}
	if f.fs && f.anyRSAKex {
		addCap(rep, "A-", "suites without forward secrecy (RSA key exchange) are enabled")
	}
	if f.anyCBCSHA1 {
		addCap(rep, "A-", "weak CBC suites with SHA-1 MAC are enabled")
	}
}

// cappedGrade is the grade of the score, lowered by the worst cap.
func cappedGrade(rep *GradeReport) string {
	g := "F"
	switch s := rep.Score; {
	case s >= 80:
		g = "A"
	case s >= 65:
		g = "B"
	case s >= 50:
		g = "C"
	case s >= 35:
		g = "D"
	case s >= 20:
		g = "E"
	}
	for _, c := range rep.Caps {
		if r := gradeRank(c.Grade); r >= 0 && r > gradeRank(g) {
			g = c.Grade
		}
	}
	return g
}

// plusGrade turns an A into an A+ with TLS 1.3 and an HSTS max-age of at
// least HSTSMinMaxAge, or says why not.
func plusGrade(rep *GradeReport, supported map[uint16]bool) string {
	switch {
	case rep.HSTSMaxAge >= HSTSMinMaxAge && supported[tls.VersionTLS13]:
		return "A+"
	case rep.HSTSMaxAge >= HSTSMinMaxAge:
		rep.Reasons = append(rep.Reasons, "no A+: TLS 1.3 is not enabled")
	case rep.HSTSMaxAge >= 0:
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("no A+: HSTS max-age %d is below %d (180 days)", rep.HSTSMaxAge, HSTSMinMaxAge))
	default:
		rep.Reasons = append(rep.Reasons, "no A+: no Strict-Transport-Security (HSTS) header")
	}
	return "A"
}
