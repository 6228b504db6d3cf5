package broker

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AccessTokenPrefix starts every access token the broker issues. The job
// presents it to the broker and nowhere else: Takos does not know it.
const AccessTokenPrefix = "takb_"

// maxAccessToken bounds a presented token before any work is done on it.
const maxAccessToken = 4 << 10

// Grant is what an access token binds: the rule that granted it (its
// permissions are read from the current policy at each request), who
// asked (repository and run, for the audit log) and its lifetime. It is
// carried in the token, signed, so every replica that shares the key
// (derived from the broker's own credential) verifies it without shared
// state.
type Grant struct {
	Version      int    `json:"v"`
	ID           string `json:"jti"`
	Audience     string `json:"aud"` // the broker's URL
	Rule         string `json:"rule"`
	Repository   string `json:"repository,omitempty"`
	RepositoryID string `json:"repository_id,omitempty"`
	RunID        string `json:"run_id,omitempty"`
	RunAttempt   string `json:"run_attempt,omitempty"`
	IssuedAt     int64  `json:"iat"`
	Expiry       int64  `json:"exp"`
}

// Expires returns the expiry as a time.
func (g *Grant) Expires() time.Time { return time.Unix(g.Expiry, 0) }

// tokenKey derives the MAC key of access tokens from the broker's own
// credential: replicas with one credential accept each other's tokens, a
// restart keeps tokens valid, and replacing the credential retires every
// token at once. Whoever knows the credential can forge a token, but
// whoever knows it holds the account already.
func tokenKey(credential string) ([]byte, error) {
	return hkdf.Key(sha256.New, []byte(credential), nil, "takos-apply broker access token v1", 32)
}

// signer issues and verifies access tokens:
// takb_ base64url(JSON grant) "." base64url(HMAC-SHA256(key, takb_ base64url(JSON grant))).
type signer struct {
	key []byte
}

func (s *signer) mac(signed string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// issue returns a token for g, filling its id.
func (s *signer) issue(g *Grant) (string, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	g.Version, g.ID = 1, hex.EncodeToString(id)
	payload, err := json.Marshal(g)
	if err != nil {
		return "", err
	}
	signed := AccessTokenPrefix + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(s.mac(signed)), nil
}

// errTokenExpired is returned for a well-formed token past its expiry.
var errTokenExpired = errors.New("expired")

// verify checks the token's MAC first (nothing of an unsigned token is
// read), then its version, audience and expiry: the token is dead from
// exp on, with no leeway (the broker is the only clock that judges it).
func (s *signer) verify(tok, audience string, now time.Time) (*Grant, error) {
	if len(tok) > maxAccessToken || !strings.HasPrefix(tok, AccessTokenPrefix) {
		return nil, errors.New("not an access token of this broker")
	}
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return nil, errors.New("not an access token of this broker")
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || !hmac.Equal(sig, s.mac(tok[:i])) {
		return nil, errors.New("the signature does not verify (a token of another broker or credential, or altered)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(tok[len(AccessTokenPrefix):i])
	if err != nil {
		return nil, errors.New("malformed payload")
	}
	var g Grant
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return nil, errors.New("malformed payload")
	}
	switch {
	case g.Version != 1:
		return nil, fmt.Errorf("version %d is not known", g.Version)
	case g.Audience != audience:
		return nil, errors.New("issued by another broker URL")
	case g.Rule == "" || g.ID == "":
		return nil, errors.New("malformed payload")
	case !now.Before(g.Expires()):
		return &g, errTokenExpired
	}
	return &g, nil
}
