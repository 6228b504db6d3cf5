package broker

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// TestRedactorKnowsTheBrokerCredential: the broker's own credential is
// removed by value even when it is not shaped like a Takos PAT, from the
// audit log and from what redact returns for an answer.
func TestRedactorKnowsTheBrokerCredential(t *testing.T) {
	const cred = "deploy-account-credential-0123456789"
	r := &redactor{known: &safetext.Secrets{}}
	r.known.Add(cred)
	msg := "control plane said: bad token " + cred + " and tak_pat_abc123 and eyJhbGciOi.eyJzdWIi.c2ln"
	got := r.redact(msg)
	for _, secret := range []string{cred, "tak_pat_abc123", "eyJhbGciOi"} {
		if strings.Contains(got, secret) {
			t.Errorf("redact kept %q: %s", secret, got)
		}
	}
	var buf bytes.Buffer
	a := newAuditLog(&buf, time.Now, r)
	a.failure(context.Background(), "mint", errors.New(msg))
	if buf.Len() == 0 || strings.Contains(buf.String(), cred) {
		t.Errorf("audit line = %q, want one without the credential", buf.String())
	}
}

// TestBrokerSharesTheProcessRegistry: the broker registers its credential
// in the registry it is given (the one the CLI's streams redact with) and
// redacts what another part of the process registered from the audit log
// and its answers. The access tokens it issues are not registered: their
// shape removes them from every text, and a registry holding every live
// token made each redaction (each audit line, each relayed reply, under
// the registry's lock) cost one scan of the text per token: with a few
// hundred live tokens, a second of CPU per MiB of reply.
func TestBrokerSharesTheProcessRegistry(t *testing.T) {
	const other = "process-secret-0123456789"
	secrets := &safetext.Secrets{}
	secrets.Add(other)
	f := newFixture(t, testPolicy, func(c *Config) { c.Secrets = secrets })
	if !secrets.Contains(f.cp.Token) {
		t.Error("the broker's credential is not in the shared registry")
	}
	a := f.post(exchangeForm(f.token(nil)))
	tok, _ := a.body["access_token"].(string)
	if a.status != 200 || secrets.Contains(tok) {
		t.Fatalf("exchange = %d %s; the access token registered: %v, want false", a.status, a.raw, secrets.Contains(tok))
	}
	// A claim carrying the other secret is recorded and answered redacted.
	d := f.post(exchangeForm(f.token(func(c map[string]any) { c["ref"] = "refs/heads/" + other })))
	if d.status != 400 || strings.Contains(d.raw+f.audit.String(), other) || !strings.Contains(f.audit.String(), "refs/heads/[REDACTED]") {
		t.Errorf("denial = %d %s; audit shows the registered secret or no redaction:\n%s", d.status, d.raw, f.audit.String())
	}
	// The access token is still never written: a request whose path and
	// audience carry it is refused, and neither the answer nor the audit
	// log shows it.
	g := f.do("GET", "/api/"+tok, "", "")
	form := exchangeForm(f.token(nil))
	form.Set("audience", tok)
	e := f.post(form)
	if g.status != 401 || e.status != 400 || strings.Contains(g.raw+e.raw+f.audit.String(), tok) {
		t.Errorf("requests carrying the access token = %d %s, %d %s; audit:\n%s", g.status, g.raw, e.status, e.raw, f.audit.String())
	}
}
