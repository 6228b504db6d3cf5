package export

import (
	"fmt"
	"os"
	"slices"
)

// DevEnvNames are the variables takos-apply dev hands to the app it runs
// and writes to its --env-file: the client's credentials (the names the
// Takos docs give autoEnv), the authorization server's URLs, and the dev
// server's own. Like isAllowedEnvName's list it is fixed in code: no name
// ever comes from a manifest or a server.
var DevEnvNames = []string{
	oauthClientIDEnv, oauthClientSecretEnv,
	"OAUTH_ISSUER", "OAUTH_AUTHORIZATION_ENDPOINT", "OAUTH_TOKEN_ENDPOINT", "OAUTH_USERINFO_ENDPOINT",
	"OAUTH_INTROSPECTION_ENDPOINT", "OAUTH_REVOCATION_ENDPOINT", "OAUTH_JWKS_URI",
	"TAKOS_API_URL", "TAKOS_TOKEN", "TAKOS_DEV_ADMIN_URL", "TAKOS_DEV_ADMIN_TOKEN",
}

func isDevEnvName(name string) bool { return slices.Contains(DevEnvNames, name) }

// WriteDevEnv sets kv in the dotenv file at path as --env-file does for
// apply (other lines kept, atomic, mode 0600, no symlinks), for names of
// DevEnvNames only. It returns remarks for the user: a file that had been
// readable by others.
func WriteDevEnv(path string, kv []KV) ([]string, error) {
	res, err := updateDotenvNames(path, kv, isDevEnvName, os.Rename)
	if err != nil {
		return nil, err
	}
	if res.TightenedFrom != 0 {
		return []string{fmt.Sprintf("warning: %s was mode %04o; it is now 0600", path, res.TightenedFrom)}, nil
	}
	return nil, nil
}
