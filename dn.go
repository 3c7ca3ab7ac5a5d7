package roamsign

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
)

// OIDs of the name attributes of the roaming subject that Go's pkix.Name
// has no field for.
var (
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
)

// RoamingSubject returns the subject of a roaming certificate:
// C=MY, CN=<name>, SURNAME=<id>, SERIALNUMBER=<id>.
func RoamingSubject(name string, id UserID) pkix.Name {
	return pkix.Name{
		Country:    []string{"MY"},
		CommonName: name,
		ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidSurname, Value: string(id)},
			{Type: oidSerialNumber, Value: string(id)},
		},
	}
}

// dnNames are the short names FormatDN prints. Go's pkix.Name.String
// drops SURNAME and GIVENNAME into dotted OIDs; the roaming subject
// (C=MY, CN=…, SURNAME=<id>, SERIALNUMBER=<id>) needs them by name.
var dnNames = map[string]string{
	"2.5.4.3":              "CN",
	"2.5.4.4":              "SURNAME",
	"2.5.4.5":              "SERIALNUMBER",
	"2.5.4.6":              "C",
	"2.5.4.7":              "L",
	"2.5.4.8":              "ST",
	"2.5.4.9":              "STREET",
	"2.5.4.10":             "O",
	"2.5.4.11":             "OU",
	"2.5.4.12":             "T",
	"2.5.4.42":             "GIVENNAME",
	"2.5.4.97":             "ORGANIZATIONIDENTIFIER",
	"1.2.840.113549.1.9.1": "E",
}

// FormatDN renders a DER-encoded distinguished name (a certificate's
// RawSubject or RawIssuer) the way signing screens show it: attributes in
// encoded order, short names (C, O, CN, SURNAME, SERIALNUMBER, …), values
// escaped as in RFC 4514. An undecodable name gives "".
func FormatDN(raw []byte) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) != 0 {
		return ""
	}
	var b strings.Builder
	for i, rdn := range rdns {
		if i > 0 {
			b.WriteString(", ")
		}
		for j, atv := range rdn {
			if j > 0 {
				b.WriteString(" + ")
			}
			name, ok := dnNames[atv.Type.String()]
			if !ok {
				name = atv.Type.String()
			}
			b.WriteString(name)
			b.WriteByte('=')
			switch v := atv.Value.(type) {
			case string:
				b.WriteString(escapeDNValue(v))
			default:
				b.WriteString("#?")
			}
		}
	}
	return b.String()
}

func escapeDNValue(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(",+\"\\<>;=", r),
			i == 0 && (r == ' ' || r == '#'),
			i == len(s)-1 && r == ' ':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString("\\?")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
