// Command webapp is the smallest web app that signs its user in with Takos
// OAuth as the real server requires it: the authorization-code flow with
// PKCE (S256) and a state, client credentials in the form body, and a
// refresh token that is single use (each refresh returns a new one, which
// must replace the old).
//
// Run it against a local Takos, with the client of ../.takos/app.yml:
//
//	takos-apply dev examples/hello -- go run ./examples/hello/webapp
//
// then open http://localhost:3000/login. takos-apply dev gives it
// OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET and the endpoint URLs; APP_URL
// (default http://localhost:3000) is where it listens, and its redirect URI
// is APP_URL/auth/callback, which the manifest registers. With -once it
// exits after one sign-in: 0 when it worked, 1 when it did not.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

func main() {
	once := flag.Bool("once", false, "exit after one sign-in: 0 when it worked, 1 when it did not")
	flag.Parse()
	if err := run(context.Background(), os.Getenv, os.Stdout, *once); err != nil {
		log.SetFlags(0)
		log.Fatalf("webapp: %v", err)
	}
}

type app struct {
	cfg      *oauth2.Config
	userinfo string
	out      io.Writer

	mu      sync.Mutex
	pending map[string]string // state → PKCE verifier of a sign-in under way
	done    chan error        // -once: the first sign-in's outcome
}

func run(ctx context.Context, getenv func(string) string, out io.Writer, once bool) error {
	for _, k := range []string{"OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_AUTHORIZATION_ENDPOINT", "OAUTH_TOKEN_ENDPOINT", "OAUTH_USERINFO_ENDPOINT"} {
		if getenv(k) == "" {
			return fmt.Errorf("%s is not set: run me with takos-apply dev PATH -- COMMAND", k)
		}
	}
	base := getenv("APP_URL")
	if base == "" {
		base = "http://localhost:3000"
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("APP_URL %q is not a URL", base)
	}
	a := &app{
		cfg: &oauth2.Config{
			ClientID:     getenv("OAUTH_CLIENT_ID"),
			ClientSecret: getenv("OAUTH_CLIENT_SECRET"),
			Endpoint: oauth2.Endpoint{
				AuthURL:  getenv("OAUTH_AUTHORIZATION_ENDPOINT"),
				TokenURL: getenv("OAUTH_TOKEN_ENDPOINT"),
				// Takos reads client_id and client_secret from the form
				// body only, though its discovery advertises HTTP Basic.
				AuthStyle: oauth2.AuthStyleInParams,
			},
			RedirectURL: base + "/auth/callback",
			Scopes:      []string{"openid", "profile"},
		},
		userinfo: getenv("OAUTH_USERINFO_ENDPOINT"),
		out:      out,
		pending:  map[string]string{},
		done:     make(chan error, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /auth/callback", a.callback)
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(out, "webapp: listening on %s; open %s/login\n", base, base)
	if !once {
		return <-served
	}
	result := <-a.done
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return result
}

var page = template.Must(template.New("p").Parse(`<!DOCTYPE html><title>webapp</title><p id="message">{{.}}</p><p><a href="/login">Sign in with Takos</a></p>`))

func (a *app) home(w http.ResponseWriter, r *http.Request) { page.Execute(w, "Not signed in.") }

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	state, verifier := randomString(), oauth2.GenerateVerifier()
	a.mu.Lock()
	a.pending[state] = verifier
	a.mu.Unlock()
	http.Redirect(w, r, a.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	msg, err := a.finish(r)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		msg = "Sign-in failed: " + err.Error()
	}
	page.Execute(w, msg)
	fmt.Fprintf(a.out, "webapp: %s\n", msg)
	select {
	case a.done <- err:
	default:
	}
}

func (a *app) finish(r *http.Request) (string, error) {
	q := r.URL.Query()
	a.mu.Lock()
	verifier, ok := a.pending[q.Get("state")]
	delete(a.pending, q.Get("state"))
	a.mu.Unlock()
	if !ok {
		return "", errors.New("unknown state: start again at /login")
	}
	if e := q.Get("error"); e != "" {
		// access_denied when the user pressed Deny; the docs' error table.
		return "", fmt.Errorf("%s: %s", e, q.Get("error_description"))
	}
	ctx := r.Context()
	tok, err := a.cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("exchanging the code: %w", err)
	}
	name, err := a.whoami(ctx, tok)
	if err != nil {
		return "", err
	}
	// Refresh once, as the app will when the hour is up: the reply carries
	// a new refresh token, and the old one is dead from now on.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := a.cfg.TokenSource(ctx, &expired).Token()
	if err != nil {
		return "", fmt.Errorf("refreshing: %w", err)
	}
	if fresh.RefreshToken == tok.RefreshToken {
		return "", errors.New("the refresh token did not rotate")
	}
	if _, err := a.whoami(ctx, fresh); err != nil {
		return "", fmt.Errorf("after the refresh: %w", err)
	}
	return fmt.Sprintf("Signed in as %s; the token was refreshed and the refresh token rotated.", name), nil
}

// whoami asks /oauth/userinfo who the token belongs to.
func (a *app) whoami(ctx context.Context, tok *oauth2.Token) (string, error) {
	resp, err := a.cfg.Client(ctx, tok).Get(a.userinfo)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var info struct{ Sub, Name string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&info) != nil {
		return "", fmt.Errorf("userinfo answered HTTP %d", resp.StatusCode)
	}
	return fmt.Sprintf("%s (%s)", info.Name, info.Sub), nil
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
