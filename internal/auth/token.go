package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/oauth2"

	"github.com/takos-dev/takos-apply/internal/httpx"
)

// maxConfigFile caps ~/.takos/config.json.
const maxConfigFile = 1 << 20

// configPath returns ~/.takos/config.json, or "" without a home directory.
func (r *resolver) configPath() string {
	if r.cfg.HomeDir == "" {
		return ""
	}
	return filepath.Join(r.cfg.HomeDir, ".takos", "config.json")
}

// token builds the token mode: TAKOS_TOKEN, else ~/.takos/config.json.
// reason says why the mode was chosen; when the mode was selected
// explicitly, reason cannot name the source, so token appends the one used.
func (r *resolver) token(reason string, explicit bool) (*Resolved, error) {
	const op = "token"
	if v := r.getenv(envToken); v != "" {
		r.rt.secret(v)
		tok, err := checkBearer(v)
		if err != nil {
			return nil, &Error{Op: op, Err: fmt.Errorf("TAKOS_TOKEN %w", err), Fix: "set TAKOS_TOKEN to the token alone (tak_pat_…), without quotes or line breaks"}
		}
		if explicit {
			reason += "; token from " + envToken
		}
		return staticResolved(reason, tok, ""), nil
	}
	path := r.configPath()
	if path == "" {
		return nil, &Error{Op: op, Err: errors.New("TAKOS_TOKEN is not set and there is no home directory"),
			Fix: "set TAKOS_TOKEN to a Takos personal access token (tak_pat_…)"}
	}
	info, err := r.cfg.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{Op: op, Err: fmt.Errorf("TAKOS_TOKEN is not set and %s does not exist", path),
			Fix: "set TAKOS_TOKEN to a Takos personal access token (tak_pat_…), or run takos login"}
	}
	if err != nil {
		return nil, &Error{Op: op, Err: fmt.Errorf("reading %s: %w", path, err)}
	}
	// Like the takos CLI, refuse a credential file others can read: the
	// token would already be exposed, and silently using it hides that.
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, &Error{Op: op, Err: fmt.Errorf("%s is readable by group or others (mode %04o)", path, perm),
			Fix: fmt.Sprintf("run: chmod 600 %s (and consider revoking the token it holds)", path)}
	}
	if info.Size() > maxConfigFile {
		return nil, &Error{Op: op, Err: fmt.Errorf("%s is larger than %d bytes", path, maxConfigFile)}
	}
	data, err := r.cfg.ReadFile(path)
	if err != nil {
		return nil, &Error{Op: op, Err: fmt.Errorf("reading %s: %w", path, err)}
	}
	var f struct {
		Token  string `json:"token"`
		APIURL string `json:"apiUrl"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, &Error{Op: op, Err: fmt.Errorf("%s is not valid JSON", path), Fix: "run takos login again"}
	}
	r.rt.secret(f.Token)
	if f.Token == "" {
		return nil, &Error{Op: op, Err: fmt.Errorf("%s has no token", path), Fix: "run takos login, or set TAKOS_TOKEN"}
	}
	tok, err := checkBearer(f.Token)
	if err != nil {
		return nil, &Error{Op: op, Err: fmt.Errorf("the token in %s %w", path, err), Fix: "run takos login again"}
	}
	if f.APIURL != "" {
		if _, err := httpx.CheckURL(f.APIURL); err != nil {
			return nil, &Error{Op: op, Err: fmt.Errorf("apiUrl in %s: %w", path, err), Fix: "fix apiUrl in the file, or run takos login again"}
		}
	}
	if explicit {
		reason += "; token from " + path
	}
	return staticResolved(reason, tok, f.APIURL), nil
}

// checkBearer trims surrounding whitespace and refuses tokens that cannot
// be sent safely in an Authorization header.
func checkBearer(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", errors.New("is empty")
	}
	for _, c := range v {
		if c < 0x21 || c > 0x7e {
			return "", errors.New("contains whitespace or non-ASCII characters")
		}
	}
	return v, nil
}

// staticResolved is the token mode's result for the bearer tok.
func staticResolved(reason, tok, apiURL string) *Resolved {
	return &Resolved{
		Mode:   ModeToken,
		Reason: reason,
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, TokenType: "Bearer"}),
		APIURL: apiURL,
	}
}
