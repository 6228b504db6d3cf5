package export

import "fmt"

// githubEnvSink is the GITHUB_ENV file: OAUTH_CLIENT_ID and
// OAUTH_CLIENT_SECRET for the later steps of the job.
type githubEnvSink struct{ path string }

func (githubEnvSink) Name() string { return envGitHubEnv }

func (s githubEnvSink) Deliver(clientID, secret string) error {
	if err := setEnv(s.path, []KV{{oauthClientIDEnv, clientID}, {oauthClientSecretEnv, secret}}); err != nil {
		return fmt.Errorf("export environment: %w", err)
	}
	return nil
}

func (s githubEnvSink) Retract() error {
	return setEnv(s.path, []KV{{oauthClientSecretEnv, ""}})
}

func (s githubEnvSink) Publish(o Outcome) error {
	if err := setEnv(s.path, []KV{{oauthClientIDEnv, o.ClientID}}); err != nil {
		return fmt.Errorf("export environment: %w", err)
	}
	return nil
}
