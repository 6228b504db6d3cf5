package export

import (
	"context"
	"fmt"
)

// githubEnvSink is the GITHUB_ENV file: OAUTH_CLIENT_ID and
// OAUTH_CLIENT_SECRET for the later steps of the job.
type githubEnvSink struct{ path string }

func (githubEnvSink) Name() string { return envGitHubEnv }

func (s githubEnvSink) Check(context.Context) error { return checkAppend(envGitHubEnv, s.path) }

func (s githubEnvSink) Deliver(_ context.Context, clientID, secret string) error {
	if err := setEnv(s.path, []KV{{oauthClientIDEnv, clientID}, {oauthClientSecretEnv, secret}}); err != nil {
		return fmt.Errorf("export environment: %w", err)
	}
	return nil
}

func (s githubEnvSink) Retract(context.Context) error {
	return setEnv(s.path, []KV{{oauthClientSecretEnv, ""}})
}

func (s githubEnvSink) Publish(_ context.Context, o Outcome) error {
	if err := setEnv(s.path, []KV{{oauthClientIDEnv, o.ClientID}}); err != nil {
		return fmt.Errorf("export environment: %w", err)
	}
	return nil
}
