package export

import "fmt"

// dotenvSink is the --env-file dotenv file: OAUTH_CLIENT_ID and
// OAUTH_CLIENT_SECRET, other lines kept (writeDotenv).
type dotenvSink struct {
	path  string
	notes []string
}

func (s *dotenvSink) Name() string { return s.path }

func (s *dotenvSink) Deliver(clientID, secret string) error {
	return s.update("write env file", []KV{{oauthClientIDEnv, clientID}, {oauthClientSecretEnv, secret}})
}

func (s *dotenvSink) Retract() error {
	return s.update("blank the secret in the env file", []KV{{oauthClientSecretEnv, ""}})
}

func (s *dotenvSink) Publish(o Outcome) error {
	return s.update("write env file", []KV{{oauthClientIDEnv, o.ClientID}})
}

func (s *dotenvSink) update(what string, kv []KV) error {
	res, err := writeDotenv(s.path, kv)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if res.TightenedFrom != 0 {
		// The secret is now in a 0600 file, but earlier contents may have
		// been read.
		s.notes = append(s.notes, fmt.Sprintf("warning: %s was mode %04o; it is now 0600", s.path, res.TightenedFrom))
	}
	return nil
}

func (s *dotenvSink) takeNotes() []string {
	n := s.notes
	s.notes = nil
	return n
}
