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
// and each access token it issues in the registry it is given (the one the
// CLI's streams redact with), redacts what another part of the process
// registered from the audit log and its answers, and forgets an access
// token once it has expired, so the registry does not grow with every
// exchange.
func TestBrokerSharesTheProcessRegistry(t *testing.T) {
	const other = "process-secret-0123456789"
	secrets := &safetext.Secrets{}
	secrets.Add(other)
	f := newFixture(t, testPolicy, func(c *Config) { c.Secrets = secrets })
	if !secrets.Contains(f.cp.Token) {
		t.Error("the broker's credential is not in the shared registry")
	}
	a := f.post(exchangeForm(f.token(nil)))
	first, _ := a.body["access_token"].(string)
	if a.status != 200 || !secrets.Contains(first) {
		t.Fatalf("exchange = %d %s; the access token registered: %v", a.status, a.raw, secrets.Contains(first))
	}
	// A claim carrying the other secret is recorded and answered redacted.
	d := f.post(exchangeForm(f.token(func(c map[string]any) { c["ref"] = "refs/heads/" + other })))
	if d.status != 400 || strings.Contains(d.raw+f.audit.String(), other) || !strings.Contains(f.audit.String(), "refs/heads/[REDACTED]") {
		t.Errorf("denial = %d %s; audit shows the registered secret or no redaction:\n%s", d.status, d.raw, f.audit.String())
	}
	f.clock.Add(6 * time.Minute) // past the first token's 5 minutes
	later := f.token(func(c map[string]any) {
		now := f.clock.Now()
		c["iat"], c["nbf"], c["exp"] = now.Unix(), now.Unix(), now.Add(5*time.Minute).Unix()
	})
	if a := f.post(exchangeForm(later)); a.status != 200 || !secrets.Contains(a.body["access_token"].(string)) {
		t.Fatalf("second exchange = %d %s", a.status, a.raw)
	}
	if secrets.Contains(first) {
		t.Error("an expired access token stays registered")
	}
}
