package devserver

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
)

// A dev server's state lives in memory; WithStateFile keeps it in a JSON
// file across restarts: clients, PATs, codes, tokens, consents, accounts,
// spaces with their env, groups, services, links and deployments,
// the signing key (so issued access tokens still verify), the server's own
// bearer and admin token, and the plaintext secret of each client it
// created (a record for the developer, which the real server does not
// keep). The file is rewritten after every request that may have changed
// the state, before the reply is sent, atomically (a temporary file in the
// same directory, fsync, rename) and with mode 0600.

// WithStateFile loads the state from path when it exists and keeps it
// there. The file holds secrets: it is written 0600, and a file that is a
// symlink or readable by others is refused.
func WithStateFile(path string) Option { return func(s *Server) { s.statePath = path } }

const stateVersion = 1

type stateFile struct {
	Version    int               `json:"version"`
	Token      string            `json:"token"`
	AdminToken string            `json:"admin_token,omitempty"`
	SigningKey string            `json:"signing_key,omitempty"`
	Clients    []StoredClient    `json:"clients"`
	Secrets    map[string]string `json:"client_secrets"`
	PATs       []StoredPAT       `json:"pats"`
	Codes      []*authCode       `json:"authorization_codes"`
	Tokens     []*oauthToken     `json:"oauth_tokens"`
	Consents   []*consent        `json:"oauth_consents"`
	Users      []User            `json:"accounts"`
	// Spaces and Services hold the space routes' state (spaces.go).
	Spaces   []stateSpace   `json:"spaces,omitempty"`
	Services []stateService `json:"services,omitempty"`
}

// SecretOf returns the secret the server issued when it created clientID,
// kept in memory (and in the state file) for the developer: Takos itself
// stores only its hash.
func (s *Server) SecretOf(clientID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.clientSecrets[clientID]
	return v, ok
}

func (s *Server) snapshot() ([]byte, error) {
	st := stateFile{Version: stateVersion}
	s.mu.Lock()
	st.Token, st.AdminToken = s.Token, s.adminToken
	for _, c := range s.clients {
		st.Clients = append(st.Clients, c.clone())
	}
	st.Secrets = maps.Clone(s.clientSecrets)
	s.mu.Unlock()
	st.PATs = s.PATs()
	st.Spaces, st.Services = s.spacesSnapshot()
	s.oa.mu.Lock()
	key := s.oa.signingKey()
	for _, c := range s.oa.codes {
		cc := *c
		st.Codes = append(st.Codes, &cc)
	}
	for _, t := range s.oa.tokens {
		tt := *t
		st.Tokens = append(st.Tokens, &tt)
	}
	for _, c := range s.oa.consents {
		cc := *c
		cc.Scopes = slices.Clone(c.Scopes)
		st.Consents = append(st.Consents, &cc)
	}
	for _, id := range slices.Sorted(maps.Keys(s.oa.users)) {
		st.Users = append(st.Users, s.oa.users[id])
	}
	s.oa.mu.Unlock()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	st.SigningKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	return json.MarshalIndent(st, "", " ")
}

// loadState restores the state file, if there is one; called by Listen
// after the options, so the file's bearer and key win over the defaults.
func (s *Server) loadState() error {
	fi, err := os.Lstat(s.statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is a symlink or not a regular file", s.statePath)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is readable by others (mode %04o); it holds secrets: chmod 600 %s", s.statePath, fi.Mode().Perm(), s.statePath)
	}
	data, err := os.ReadFile(s.statePath)
	if err != nil {
		return err
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s: %w", s.statePath, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%s: state version %d, this takos-apply reads %d", s.statePath, st.Version, stateVersion)
	}
	var key *rsa.PrivateKey
	if st.SigningKey != "" {
		b, _ := pem.Decode([]byte(st.SigningKey))
		if b == nil {
			return fmt.Errorf("%s: signing_key is not PEM", s.statePath)
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		rk, ok := k.(*rsa.PrivateKey)
		if err != nil || !ok {
			return fmt.Errorf("%s: signing_key is not an RSA PKCS#8 key", s.statePath)
		}
		key = rk
	}
	s.mu.Lock()
	if st.Token != "" {
		delete(s.tokens, s.Token)
		s.Token = st.Token
		s.tokens[st.Token] = DefaultOwner
	}
	if st.AdminToken != "" {
		s.adminToken = st.AdminToken
	}
	for _, c := range st.Clients {
		cc := c.clone()
		s.clients = append(s.clients, &cc)
	}
	if st.Secrets != nil {
		s.clientSecrets = st.Secrets
	}
	s.mu.Unlock()
	s.pats.mu.Lock()
	for _, p := range st.PATs {
		pp := p
		s.pats.pats = append(s.pats.pats, &pp)
	}
	s.pats.mu.Unlock()
	s.restoreSpaces(st.Spaces, st.Services)
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	if key != nil {
		s.oa.key = key
	}
	s.oa.codes, s.oa.tokens, s.oa.consents = st.Codes, st.Tokens, st.Consents
	for _, u := range st.Users {
		// The login user of this run (--user) wins over its old record.
		if s.oa.login == nil || s.oa.login.ID != u.ID {
			s.oa.users[u.ID] = u
		}
	}
	return nil
}

// mayChangeState says whether a request can have changed the state: every
// write, and GET /oauth/authorize, which issues codes once consent exists.
func mayChangeState(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead || r.URL.Path == "/oauth/authorize"
}

// persist writes the state file when it changed. Writes are serialized and
// compared with the last one written, so a read-only request costs one
// snapshot.
func (s *Server) persist() error {
	if s.statePath == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	data, err := s.snapshot()
	if err != nil {
		return err
	}
	if bytes.Equal(data, s.saved) {
		return nil
	}
	if err := writeFileAtomic(s.statePath, data); err != nil {
		return err
	}
	s.saved = data
	return nil
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory, mode 0600, fsync, rename, then a best-effort fsync of the
// directory. No temporary file is left behind on failure.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
