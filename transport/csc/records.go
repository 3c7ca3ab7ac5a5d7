package csc

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"time"

	"github.com/roamsign/roamsign"
)

// The records of the state store, as JSON. A record never holds a usable
// handle: a code refers to its token by the token's digest.

type grantJSON struct {
	Token        bool            `json:"token,omitempty"`
	CredentialID string          `json:"credentialID"`
	User         roamsign.UserID `json:"user"`
	Host         roamsign.HostID `json:"host"`
	Client       string          `json:"client,omitempty"`
	Hashes       []roamsign.Hash `json:"hashes"`
	Released     []bool          `json:"released"`
	Left         int             `json:"left"`
	TxID         string          `json:"txID"`
	Scheme       scheme          `json:"scheme"`
	KeyScheme    scheme          `json:"keyScheme"`
	Deadline     time.Time       `json:"deadline"`
}

func encGrant(g *grant) ([]byte, error) {
	return json.Marshal(grantJSON{Token: g.token, CredentialID: g.credentialID, User: g.user, Host: g.host, Client: g.client,
		Hashes: g.hashes, Released: g.released, Left: g.left, TxID: g.txID, Scheme: g.scheme, KeyScheme: g.keyScheme, Deadline: g.deadline})
}

func decGrant(b []byte) (*grant, error) {
	var j grantJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	if len(j.Released) != len(j.Hashes) {
		return nil, errors.New("csc: grant record with inconsistent release marks")
	}
	return &grant{token: j.Token, credentialID: j.CredentialID, user: j.User, host: j.Host, client: j.Client,
		hashes: j.Hashes, released: j.Released, left: j.Left, txID: j.TxID, scheme: j.Scheme, keyScheme: j.KeyScheme, deadline: j.Deadline}, nil
}

type serviceTokenJSON struct {
	Host   roamsign.HostID `json:"host"`
	Client string          `json:"client"`
}

func encServiceToken(t *serviceToken) ([]byte, error) {
	return json.Marshal(serviceTokenJSON{Host: t.host, Client: t.client})
}

func decServiceToken(b []byte) (*serviceToken, error) {
	var j serviceTokenJSON
	err := json.Unmarshal(b, &j)
	return &serviceToken{host: j.Host, client: j.Client}, err
}

type pendingJSON struct {
	CredentialID string                `json:"credentialID"`
	User         roamsign.UserID       `json:"user"`
	Challenge    *roamsign.OTPResponse `json:"challenge"`
	Hashes       []roamsign.Hash       `json:"hashes,omitempty"`
}

func encPending(p *pendingChallenge) ([]byte, error) {
	return json.Marshal(pendingJSON{CredentialID: p.credentialID, User: p.user, Challenge: p.challenge, Hashes: p.hashes})
}

func decPending(b []byte) (*pendingChallenge, error) {
	var j pendingJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	if j.Challenge == nil {
		return nil, errors.New("csc: pending record without a challenge")
	}
	return &pendingChallenge{credentialID: j.CredentialID, user: j.User, challenge: j.Challenge, hashes: j.Hashes}, nil
}

type authzJSON struct {
	Client       string          `json:"client"`
	RedirectURI  string          `json:"redirectURI"`
	State        string          `json:"state"`
	Challenge    string          `json:"challenge"`
	CredentialID string          `json:"credentialID"`
	Hashes       []roamsign.Hash `json:"hashes"`
	Labels       []string        `json:"labels,omitempty"`
	Description  string          `json:"description,omitempty"`
	Scheme       scheme          `json:"scheme"`
	Details      json.RawMessage `json:"details,omitempty"`
	Lang         string          `json:"lang,omitempty"`
}

func authzOf(r *authzRequest) authzJSON {
	return authzJSON{Client: r.client.ID, RedirectURI: r.redirectURI, State: r.state, Challenge: r.challenge,
		CredentialID: r.credentialID, Hashes: r.hashes, Labels: r.labels, Description: r.description, Scheme: r.scheme,
		Details: r.details, Lang: r.lang}
}

// authzFrom restores a request; its client must still be registered.
func (s *server) authzFrom(j authzJSON) (*authzRequest, error) {
	cl, ok := s.clients[j.Client]
	if !ok {
		return nil, errors.New("csc: the request's client is no longer registered")
	}
	return &authzRequest{client: cl, redirectURI: j.RedirectURI, state: j.State, challenge: j.Challenge,
		credentialID: j.CredentialID, hashes: j.Hashes, labels: j.Labels, description: j.Description, scheme: j.Scheme,
		details: j.Details, lang: j.Lang}, nil
}

func encAuthz(r *authzRequest) ([]byte, error) { return json.Marshal(authzOf(r)) }

func (s *server) decAuthz(b []byte) (*authzRequest, error) {
	var j authzJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	return s.authzFrom(j)
}

type authCodeJSON struct {
	Req      authzJSON       `json:"req"`
	User     roamsign.UserID `json:"user"`
	TxID     string          `json:"txID"`
	KeySc    scheme          `json:"keyScheme"`
	Used     bool            `json:"used,omitempty"`
	TokenKey []byte          `json:"tokenKey,omitempty"`
}

func encAuthCode(a *authCode) ([]byte, error) {
	return json.Marshal(authCodeJSON{Req: authzOf(a.req), User: a.user, TxID: a.txID, KeySc: a.keySc, Used: a.used, TokenKey: a.tokenKey})
}

func (s *server) decAuthCode(b []byte) (*authCode, error) {
	var j authCodeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	req, err := s.authzFrom(j.Req)
	if err != nil {
		return nil, err
	}
	return &authCode{req: req, user: j.User, txID: j.TxID, keySc: j.KeySc, used: j.Used, tokenKey: j.TokenKey}, nil
}

type pageJSON struct {
	Req       authzJSON             `json:"req"`
	CredID    string                `json:"credentialID"`
	User      roamsign.UserID       `json:"user"`
	Chain     [][]byte              `json:"chain"`
	Enabled   bool                  `json:"enabled"`
	Challenge *roamsign.OTPResponse `json:"challenge"`
}

func encPage(p *pageSession) ([]byte, error) {
	j := pageJSON{Req: authzOf(p.req), CredID: p.cred.id, User: p.cred.user, Enabled: p.cred.enabled, Challenge: p.challenge}
	for _, c := range p.cred.chain {
		j.Chain = append(j.Chain, c.Raw)
	}
	return json.Marshal(j)
}

func (s *server) decPage(b []byte) (*pageSession, error) {
	var j pageJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	req, err := s.authzFrom(j.Req)
	if err != nil {
		return nil, err
	}
	if j.Challenge == nil || len(j.Chain) == 0 {
		return nil, errors.New("csc: page record without a challenge or a chain")
	}
	cr := &cred{id: j.CredID, user: j.User, enabled: j.Enabled}
	for _, der := range j.Chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		cr.chain = append(cr.chain, c)
	}
	return &pageSession{req: req, cred: cr, challenge: j.Challenge}, nil
}
