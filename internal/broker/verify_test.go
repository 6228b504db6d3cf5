package broker

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// issuerServer serves an OpenID configuration naming issuer (SELF: its own
// URL) and jwksURI (SELF replaced too), and keys as the JWKS.
func issuerServer(t *testing.T, issuer, jwksURI string, keys ...json.RawMessage) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(nil)
	self := srv.URL
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{
				"issuer": strings.ReplaceAll(issuer, "SELF", self), "jwks_uri": strings.ReplaceAll(jwksURI, "SELF", self)})
		case "/jwks":
			json.NewEncoder(w).Encode(map[string]any{"keys": keys})
		default:
			w.WriteHeader(404)
		}
	})
	t.Cleanup(srv.Close)
	return srv
}

func rsaJWK(t *testing.T, kid, use, alg string) json.RawMessage {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b, err := jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Use: use, Algorithm: alg}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFetchJWKS(t *testing.T) {
	hc := &http.Client{Timeout: 5 * time.Second}
	weird := json.RawMessage(`{"kty":"XYZ","kid":"w"}`)
	for _, tc := range []struct {
		name, issuer, jwks string
		keys               []json.RawMessage
		want               []string // kids kept
		err                string
	}{
		{name: "keeps RS256 signing keys, skips the rest", issuer: "SELF", jwks: "SELF/jwks",
			keys: []json.RawMessage{weird, rsaJWK(t, "a", "sig", "RS256"), rsaJWK(t, "b", "", ""), rsaJWK(t, "enc", "enc", ""), rsaJWK(t, "ps", "sig", "PS256"), rsaJWK(t, "", "sig", "RS256")},
			want: []string{"a", "b"}},
		{name: "issuer mismatch", issuer: "https://evil.example", jwks: "SELF/jwks", err: `names issuer "https://evil.example"`},
		{name: "plain-http jwks_uri elsewhere", issuer: "SELF", jwks: "http://keys.example/jwks", err: "jwks_uri"},
		{name: "no usable key", issuer: "SELF", jwks: "SELF/jwks", keys: []json.RawMessage{weird}, err: "has no RS256 signing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := issuerServer(t, tc.issuer, tc.jwks, tc.keys...)
			keys, err := fetchJWKS(context.Background(), hc, srv.URL)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("fetchJWKS() = %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for kid := range keys {
				got = append(got, kid)
			}
			if strings.Join(slices.Sorted(slices.Values(got)), ",") != strings.Join(tc.want, ",") {
				t.Errorf("kept kids %v, want %v", got, tc.want)
			}
		})
	}
}
