package authtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// signer holds one RS256 key and its JWKS entry. GitHub signs its OIDC
// tokens with RS256 and publishes kid and x5t; the fakes do the same so a
// verifier written against the real issuer works unchanged.
type signer struct {
	key *rsa.PrivateKey
	kid string
	x5t string
}

func newSigner() (*signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating RSA key: %w", err)
	}
	// A self-signed certificate only so that x5t (the SHA-1 thumbprint of
	// the DER certificate) is a real value, as in GitHub's JWKS.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "authtest issuer"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating certificate: %w", err)
	}
	sum := sha1.Sum(der)
	kid := sha256.Sum256(der)
	return &signer{
		key: key,
		kid: strings.ToUpper(hex.EncodeToString(kid[:20])),
		x5t: base64.RawURLEncoding.EncodeToString(sum[:]),
	}, nil
}

func (s *signer) sign(claims map[string]any) (string, error) {
	return s.signHeader(map[string]any{"alg": "RS256", "typ": "JWT", "kid": s.kid, "x5t": s.x5t}, claims)
}

// signHeader signs with RS256 whatever header says.
func (s *signer) signHeader(header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func (s *signer) jwks() map[string]any {
	pub := s.key.PublicKey
	return map[string]any{"keys": []any{map[string]any{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": s.kid,
		"x5t": s.x5t,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

// jwksVerifier verifies RS256 JWTs against an issuer's published keys,
// found through its OpenID discovery document, the way a relying party
// (an STS) does. Keys are fetched once and cached.
type jwksVerifier struct {
	issuer string
	client *http.Client

	mu   sync.Mutex
	keys map[string]*rsa.PublicKey
}

func newJWKSVerifier(issuer string) *jwksVerifier {
	return &jwksVerifier{issuer: strings.TrimSuffix(issuer, "/"), client: &http.Client{Timeout: 5 * time.Second}}
}

func (v *jwksVerifier) load() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != nil {
		return nil
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(v.client, v.issuer+"/.well-known/openid-configuration", &disc); err != nil {
		return fmt.Errorf("issuer discovery: %w", err)
	}
	if disc.Issuer != v.issuer {
		return fmt.Errorf("issuer discovery: issuer %q, want %q", disc.Issuer, v.issuer)
	}
	var set struct {
		Keys []struct {
			Kty, Kid, N, E string
		} `json:"keys"`
	}
	if err := getJSON(v.client, disc.JWKSURI, &set); err != nil {
		return fmt.Errorf("fetching JWKS: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("JWKS key %q is not base64url", k.Kid)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	v.keys = keys
	return nil
}

func getJSON(c *http.Client, url string, v any) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(v)
}

// Refusals of a subject token that the STS fakes report with their own
// error codes and descriptions, as real servers do; any other verification
// error means the token itself is invalid.
var (
	errTokenExpired  = errors.New("token expired")
	errWrongAudience = errors.New("aud does not match the trust policy")
	errWrongSubject  = errors.New("sub does not match the trust policy")
)

// verifySubject makes the checks every STS fake makes on a subject token:
// signature, iss, exp and nbf through v, then aud (when audience is not "")
// and sub (when subject is not ""). The claims are returned whenever the
// token verified, also with errWrongAudience or errWrongSubject, so that a
// refusal can quote them.
func verifySubject(v *jwksVerifier, tok, audience, subject string) (map[string]any, error) {
	claims, err := v.verify(tok, time.Now())
	if err != nil {
		return nil, err
	}
	if audience != "" && !hasAudience(claims, audience) {
		return claims, errWrongAudience
	}
	if subject != "" && stringClaim(claims, "sub") != subject {
		return claims, errWrongSubject
	}
	return claims, nil
}

// verify checks the signature, iss, exp and nbf of tok and returns its
// claims. Audience and subject are the caller's policy.
func (v *jwksVerifier) verify(tok string, now time.Time) (map[string]any, error) {
	if err := v.load(); err != nil {
		return nil, err
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWS compact serialization")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("header is not base64url")
	}
	var header struct{ Alg, Kid string }
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, errors.New("header is not JSON")
	}
	if header.Alg != "RS256" {
		return nil, fmt.Errorf("alg %q not accepted", header.Alg)
	}
	v.mu.Lock()
	key := v.keys[header.Kid]
	v.mu.Unlock()
	if key == nil {
		return nil, fmt.Errorf("unknown kid %q", header.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("signature is not base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return nil, errors.New("signature does not verify")
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("payload is not base64url")
	}
	var claims map[string]any
	if err := json.Unmarshal(cb, &claims); err != nil {
		return nil, errors.New("payload is not JSON")
	}
	if iss, _ := claims["iss"].(string); iss != v.issuer {
		return nil, fmt.Errorf("iss %q is not the trusted issuer %q", iss, v.issuer)
	}
	exp, ok := claims["exp"].(float64)
	if !ok {
		return nil, errors.New("no exp claim")
	}
	if now.Unix() >= int64(exp) {
		return nil, errTokenExpired
	}
	if nbf, ok := claims["nbf"].(float64); ok && now.Unix()+60 < int64(nbf) {
		return nil, errors.New("token not yet valid")
	}
	return claims, nil
}

// hasAudience reports whether the aud claim (a string or an array) contains want.
func hasAudience(claims map[string]any, want string) bool {
	switch aud := claims["aud"].(type) {
	case string:
		return aud == want
	case []any:
		for _, a := range aud {
			if a == want {
				return true
			}
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
