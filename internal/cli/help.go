package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// help is one command's -h text: what it does, what PATH means, the
// environment it reads and its exit codes. The flags are listed between
// the description and the environment, from the flag set itself, so that
// the defaults shown are the effective ones (read from the environment).
type help struct {
	synopsis    string
	description string
	env         []string // "NAME  meaning" lines
	exitCodes   string
}

const exitCodesHelp = `Exit codes:
  0  success (warnings allowed)
  1  at least one error finding, or a warning with --strict
  2  usage error: bad flags or arguments, no manifest, no control-plane URL
  3  I/O, auth, network or control-plane failure
`

const planExitCodesHelp = exitCodesHelp + `With --detailed-exitcode (plan only), as terraform's -detailed-exitcode:
  0  no changes   1  any error (findings, usage, failure)   2  changes pending
`

const manifestPathHelp = `PATH is the manifest file; default .takos/app.yml, else .takos/app.yaml, in the
working directory. A directory is searched as lint does and its first
manifest by path is used. Standard input (-) is for lint only. Flags may come
before or after PATH; "--" ends the flags.
`

var lintEnvHelp = []string{
	"TAKOS_ENV       default of --env",
	"GITHUB_ACTIONS  \"true\" makes github the default --format",
	"NO_COLOR        no colours with --color auto (https://no-color.org); so does TERM=dumb",
}

var cpEnvHelp = []string{
	"TAKOS_API_URL          default of --control-plane",
	"TAKOS_TOKEN            a Takos personal access token (tak_pat_…), used first by --auth auto",
	"TAKOS_AUTH             default of --auth",
	"TAKOS_AUDIENCE         default of --audience",
	"TAKOS_TOKEN_URL        default of --token-url",
	"ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN",
	"                       set by GitHub Actions with permissions: id-token: write (GitHub OIDC)",
	"GOOGLE_APPLICATION_CREDENTIALS  an external_account file (Google workload identity)",
	"HOME                   ~/.takos/config.json ({token, apiUrl}, as takos login writes it)",
}

var helps = map[string]help{
	"lint": {
		synopsis: "lint [flags] [PATH...]",
		description: `Validate and lint Takos app manifests: the embedded JSON Schema, OAuth scopes,
redirect URIs, client metadata and cross-references. Nothing is sent anywhere.

PATH is a file (linted whatever its name), a directory (searched recursively
for .takos/app.yml and .takos/app.yaml, skipping .git, node_modules and
vendor) or "-" for standard input (name it with --stdin-filename). No PATH:
.takos/app.yml, else .takos/app.yaml, in the working directory. Flags may come
before or after paths; "--" ends the flags ("lint -- -odd.yml").
`,
		env:       lintEnvHelp,
		exitCodes: exitCodesHelp,
	},
	"plan": {
		synopsis: "plan [flags] [PATH]",
		description: `Lint the manifest, authenticate and show what apply would change on the
control plane: create, update (each field) or unchanged. Only GET requests.

` + manifestPathHelp,
		env:       append(append([]string{}, lintEnvHelp...), cpEnvHelp...),
		exitCodes: planExitCodesHelp,
	},
	"apply": {
		synopsis: "apply [flags] [PATH]",
		description: `Lint the manifest, authenticate, then create or update its spec.oauth client
and export the results: in GitHub Actions masked step outputs (and GITHUB_ENV
with --export-env), elsewhere --env-file. A new client secret is delivered
before anything else can fail; a secret no sink takes is revoked (exit 3).

` + manifestPathHelp,
		env: append(append(append([]string{}, lintEnvHelp...), cpEnvHelp...),
			"TAKOS_OAUTH_CLIENT_ID  default of --client-id",
			"GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STEP_SUMMARY  Actions result files"),
		exitCodes: exitCodesHelp,
	},
	"auth": {
		synopsis: "auth debug [flags]",
		description: `Show how takos-apply authenticates: the mode chosen and why, the GitHub
token's non-secret claims, the issued token's type, scopes and expiry, and
whether the control plane accepts the token (one GET of its OAuth client
list). Never prints a token.
`,
		env: cpEnvHelp,
		exitCodes: `Exit codes:
  0  a token was obtained and the control plane accepted it
  2  usage error: bad flags or arguments, no control-plane URL
  3  no token, or the control plane refused it or could not be reached
`,
	},
	"dev": {
		synopsis: "dev [flags] [PATH] [-- COMMAND ARGS...]",
		description: `Run, on loopback, a local server that behaves like the Takos control plane of
the v1alpha1 era for everything takos-apply and an app touch: the OAuth
client API and PATs (plan and apply work against it with the printed token),
and the OAuth authorization server as the real one behaves (PKCE S256, state
and scope required, exact redirect URIs, form bodies only, single-use codes
and rotating refresh tokens), with a consent page in the browser.

The manifest is linted first (errors: nothing starts) and its spec.oauth
client registered as apply would; editing the file updates the client.
The client's credentials, the issuer and the endpoint URLs are printed as
KEY=VALUE lines, written with --env-file, and given to COMMAND (after "--")
in its environment: OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_ISSUER,
OAUTH_*_ENDPOINT, TAKOS_API_URL, TAKOS_DEV_ADMIN_URL, TAKOS_DEV_ADMIN_TOKEN.
takos-apply then exits with COMMAND's exit code, and passes signals on.
Without COMMAND it serves until interrupted.

Failure injection for the app's error handling: POST $TAKOS_DEV_ADMIN_URL/
token-faults {"error":"invalid_grant"} fails the next token request,
/expire-next-token issues the next access token already expired,
/expire-tokens expires the ones issued (Authorization: Bearer
$TAKOS_DEV_ADMIN_TOKEN).

` + manifestPathHelp,
		env: []string{
			"TAKOS_ENV       default of --env (dev: development)",
			"NO_COLOR        no colours with --color auto",
		},
		exitCodes: `Exit codes:
  COMMAND's exit code (128+N when signal N ended it), or without COMMAND:
  0  stopped by a signal
  1  the manifest has errors (the server does not start)
  2  usage error
  3  the server or the client registration failed (a port in use, a state file)
`,
	},
	"version": {
		synopsis:    "version",
		description: "Print the version, then the commit, Go toolchain, platform and how this binary was installed.\n",
		exitCodes:   "Exit codes: 0 printed, 2 usage error.\n",
	},
	"rules":   rulesHelp,
	"explain": explainHelp,
	"schema": {
		synopsis:    "schema",
		description: "Print the embedded JSON Schema of .takos/app.yml, for editors (yaml-language-server).\n",
		exitCodes:   "Exit codes: 0 printed, 2 usage error, 3 write failure.\n",
	},
}

// writeHelp prints cmd's help with fs's flags and their effective defaults.
func writeHelp(w io.Writer, fs *flag.FlagSet, cmd string) {
	h := helps[strings.Fields(cmd)[0]]
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: takos-apply %s\n\n%s", h.synopsis, h.description)
	n := 0
	if fs != nil {
		fs.VisitAll(func(*flag.Flag) { n++ })
	}
	if n > 0 {
		b.WriteString("\nFlags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if len(h.env) > 0 {
		b.WriteString("\nEnvironment:\n")
		for _, l := range h.env {
			b.WriteString("  " + l + "\n")
		}
	}
	b.WriteString("\n" + h.exitCodes)
	io.WriteString(w, b.String())
}
