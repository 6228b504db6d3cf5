package broker

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRedactorKnowsTheBrokerCredential: the broker's own credential is
// removed by value even when it is not shaped like a Takos PAT, from the
// audit log and from what redact returns for an answer.
func TestRedactorKnowsTheBrokerCredential(t *testing.T) {
	const cred = "deploy-account-credential-0123456789"
	r := &redactor{}
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
	a.failure("mint", errors.New(msg))
	if buf.Len() == 0 || strings.Contains(buf.String(), cred) {
		t.Errorf("audit line = %q, want one without the credential", buf.String())
	}
}
