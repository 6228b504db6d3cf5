package devserver

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// Access tokens are what generateAccessToken (services/oauth/token-grants.ts)
// signs with jose: RS256, protected header exactly {"alg":"RS256","typ":"at+jwt"}
// (no kid), claims in the order scope, client_id, jti, iss, aud, sub, iat,
// exp. verifyAccessToken is jose's jwtVerify as the server calls it.

// jwksKeyID is the kid the JWKS route puts on the key.
const jwksKeyID = "takos-oauth-1"

// WithSigningKey sets the RSA key access tokens are signed with (default:
// a 2048-bit key generated on first use, or the one in the state file), so
// a test can verify tokens itself or share one key between servers.
func WithSigningKey(k *rsa.PrivateKey) Option { return func(s *Server) { s.oa.key = k } }

// signingKey returns the key, generating it once; a.mu must be held.
func (a *authServer) signingKey() *rsa.PrivateKey {
	if a.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(fmt.Sprintf("devserver: generating the signing key: %v", err))
		}
		a.key = k
	}
	return a.key
}

// PublicKey returns the public half of the access-token signing key.
func (s *Server) PublicKey() *rsa.PublicKey {
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	return &s.oa.signingKey().PublicKey
}

// AccessClaims are the claims of a Takos access token.
type AccessClaims struct {
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
	JTI      string `json:"jti"`
	Issuer   string `json:"iss"`
	Audience string `json:"aud"`
	Subject  string `json:"sub"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"at+jwt"}`))

// signJWT signs claims; a.mu must be held.
func (a *authServer) signJWT(c AccessClaims) string {
	payload, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	input := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, a.signingKey(), crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("devserver: signing an access token: %v", err))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// verifyJWT is verifyAccessToken: a compact JWS signed RS256 by the
// server's key whose iss is issuer, not expired (jose: exp <= now fails)
// and not before nbf, and, when aud is not empty, naming aud. Anything else
// is nil, as the server's catch-all makes it. a.mu must be held.
func (a *authServer) verifyJWT(tok, issuer, aud string, now time.Time) *AccessClaims {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil
	}
	var hdr struct {
		Alg  string          `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "RS256" || hdr.Crit != nil {
		return nil
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&a.signingKey().PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(pb, &raw) != nil {
		return nil
	}
	var c AccessClaims
	var nbf *float64
	for k, v := range map[string]any{"scope": &c.Scope, "client_id": &c.ClientID, "jti": &c.JTI, "iss": &c.Issuer, "sub": &c.Subject} {
		if r, ok := raw[k]; ok {
			_ = json.Unmarshal(r, v)
		}
	}
	if r, ok := raw["nbf"]; ok && json.Unmarshal(r, &nbf) != nil {
		return nil
	}
	var iat, exp *float64
	if r, ok := raw["iat"]; ok && json.Unmarshal(r, &iat) != nil {
		return nil
	}
	if r, ok := raw["exp"]; ok && json.Unmarshal(r, &exp) != nil {
		return nil
	}
	sec := float64(now.Unix())
	switch {
	case c.Issuer != issuer || raw["iss"] == nil:
		return nil
	case exp != nil && *exp <= sec:
		return nil
	case nbf != nil && *nbf > sec:
		return nil
	}
	auds := audiences(raw["aud"])
	if aud != "" {
		found := false
		for _, x := range auds {
			found = found || x == aud
		}
		if !found {
			return nil
		}
	}
	if len(auds) > 0 {
		c.Audience = auds[0]
	}
	if iat != nil {
		c.IssuedAt = int64(*iat)
	}
	if exp != nil {
		c.Expiry = int64(*exp)
	}
	return &c
}

func audiences(v json.RawMessage) []string {
	var one string
	if json.Unmarshal(v, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(v, &many)
	return many
}

// jwks is GET /.well-known/jwks.json. At 7d63ea66 the real route fails:
// jose 5 (browser build, as Deno and Workers load it) imports the public key
// non-extractable, so exportJWK throws and the handler answers 500
// "Failed to generate JWKS". The fake answers the same unless WithJWKS asks
// for the key set the code means to publish.
func (s *Server) jwks() reply {
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	if !s.oa.jwks {
		return envelopeReply(http.StatusInternalServerError, "INTERNAL_ERROR", "Failed to generate JWKS")
	}
	pub := s.oa.signingKey().PublicKey
	e := big.NewInt(int64(pub.E)).Bytes()
	var b bytes.Buffer
	// jose's exportJWK order, then the route's additions.
	fmt.Fprintf(&b, `{"keys":[{"kty":"RSA","n":%q,"e":%q,"kid":%q,"use":"sig","alg":"RS256"}]}`,
		base64.RawURLEncoding.EncodeToString(pub.N.Bytes()), base64.RawURLEncoding.EncodeToString(e), jwksKeyID)
	return reply{status: http.StatusOK, header: http.Header{"Cache-Control": {"public, max-age=86400"}}, body: b.Bytes()}
}

// WithJWKS makes /.well-known/jwks.json publish the signing key, as the
// route's code intends; the real server of 7d63ea66 answers it with 500
// (see jwks).
func WithJWKS() Option { return func(s *Server) { s.oa.jwks = true } }
