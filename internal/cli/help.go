package cli

import "slices"

// help is one command's -h text: what it does, what PATH means, the
// environment it reads and its exit codes. The flags are listed between
// the description and the environment, from the flag set itself, so that
// the defaults shown are the effective ones (read from the environment).
type help struct {
	description string
	env         []string // "NAME  meaning" lines
	exitCodes   string
}

const interruptedHelp = `  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM
`

const exitCodesHelp = `Exit codes:
  0  success (warnings allowed)
  1  at least one error finding, or a warning with --strict
  2  usage error: bad flags or arguments, no manifest, no control-plane URL
  3  I/O, auth, network or control-plane failure
` + interruptedHelp

const planExitCodesHelp = exitCodesHelp + `With --detailed-exitcode (plan only), as terraform's -detailed-exitcode:
  0  no changes   1  any error (findings, usage, failure)   2  changes pending
`

const manifestPathHelp = `PATH is the manifest file; default .takos/app.yml, else .takos/app.yaml, in the
working directory (the file Takos reads). A directory is searched as lint does
and must hold exactly one app: several manifests are a usage error that lists
them (plan or apply each by its path). Standard input (-) is for lint only.
Flags may come before or after PATH; "--" ends the flags.
`

const configHelp = `Lint settings (env, strict, disable, exclude) may also come from
.takos-apply.yml (or .yaml) in the working directory or a parent up to the
repository root; flags beat TAKOS_ENV, which beats the file (see --config).
`

var lintEnvHelp = []string{
	"TAKOS_ENV       default of --env",
	"GITHUB_ACTIONS  \"true\" makes github the default --format",
	"NO_COLOR        no colours with --color auto (https://no-color.org); so does TERM=dumb",
}

// planEnvHelp is lintEnvHelp for plan and apply, whose --format is text
// or json: in Actions their findings are annotations whatever the format.
var planEnvHelp = []string{
	"TAKOS_ENV              default of --env",
	"GITHUB_ACTIONS         \"true\": findings as annotations, secrets masked, results to step outputs",
	"NO_COLOR               no colours with --color auto (https://no-color.org); so does TERM=dumb",
}

// appEnvHelp: what plan and apply read about the client and, with
// spec.oauth.autoEnv, where in Takos its credentials go.
var appEnvHelp = []string{
	"TAKOS_OAUTH_CLIENT_ID  default of --client-id",
	"TAKOS_WORKSPACE_ID     default of --space (the Takos CLI's variable)",
	"TAKOS_ENV_PREFIX       default of --env-prefix",
	"TAKOS_PROVIDER         default of --provider",
	"TAKOS_DEPLOY_ENV       default of --deploy-env",
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

var lintHelp = help{
	description: `Validate and lint Takos app manifests: the embedded JSON Schema, OAuth scopes,
redirect URIs, client metadata and cross-references. Nothing is sent anywhere.

PATH is a file (linted whatever its name), a directory (searched recursively
for .takos/app.yml and .takos/app.yaml, skipping .git, node_modules and
vendor) or "-" for standard input (name it with --stdin-filename). No PATH:
.takos/app.yml, else .takos/app.yaml, in the working directory. Flags may come
before or after paths; "--" ends the flags ("lint -- -odd.yml"). A symbolic
link out of the directory being linted, or a file that is not a regular file,
is reported and not read.

` + configHelp,
	env:       lintEnvHelp,
	exitCodes: exitCodesHelp,
}

var planHelp = help{
	description: `Lint the manifest, authenticate and show what apply would change on the
control plane: create, update (each field) or unchanged. Only GET requests.

` + manifestPathHelp + "\n" + configHelp,
	env:       slices.Concat(planEnvHelp, cpEnvHelp, appEnvHelp),
	exitCodes: planExitCodesHelp,
}

var applyHelp = help{
	description: `Lint the manifest, authenticate, then create or update its spec.oauth client
and export the results: in GitHub Actions masked step outputs (and GITHUB_ENV
with autoEnv: true or --export-env), elsewhere --env-file; with
spec.oauth.autoEnv also the Takos space's common env (--space), linked to the
app's workers when autoEnv is true. A new client secret is delivered before
anything else can fail; a secret no sink takes is revoked (exit 3).
Interrupted, a client already created still settles and its secret is
delivered before the exit.

` + manifestPathHelp + "\n" + configHelp,
	env: slices.Concat(planEnvHelp, cpEnvHelp, appEnvHelp, []string{
		"GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STEP_SUMMARY  Actions result files"}),
	exitCodes: exitCodesHelp,
}

var authDebugHelp = help{
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
` + interruptedHelp,
}

var versionHelp = help{
	description: "Print the version, then the commit, Go toolchain, platform and how this binary was installed.\n'takos-apply -v' and 'takos-apply --version' do the same.\n",
	exitCodes:   "Exit codes: 0 printed, 2 usage error.\n",
}

var schemaHelp = help{
	description: "Print the embedded JSON Schema of .takos/app.yml, for editors (yaml-language-server).\n",
	exitCodes:   "Exit codes: 0 printed, 2 usage error, 3 write failure.\n",
}

var brokerHelp = help{
	description: `Run the GitHub OIDC broker and gateway to Takos: an RFC 8693 token endpoint
that verifies a workflow's GitHub OIDC token against a trust policy and issues
a short-lived access token of its own, bound to the matching rule; and the
job's control plane, forwarding to Takos, with the deploy account's own
credential, only the requests that rule permits. The job never holds a Takos
credential. It serves until SIGINT or SIGTERM, then shuts down gracefully
(exit 0).
`,
	env: []string{
		EnvBrokerToken + "     required: the deploy account's Takos PAT the broker forwards with;",
		"                       read from the environment only, never from a flag",
		"TAKOS_BROKER_POLICY    default of --policy",
		"TAKOS_API_URL          default of --control-plane",
		"TAKOS_BROKER_URL       default of --url",
		"TAKOS_BROKER_LISTEN    default of --listen; else :$PORT (Cloud Run), else :8080",
		"TAKOS_BROKER_AUDIENCE  default of --audience",
		"TAKOS_BROKER_ISSUERS   default of --issuer, comma-separated",
		"TAKOS_BROKER_REDIS_URL default of --redis-url (keeps its password off the command line)",
	},
	exitCodes: `Exit codes:
  0  stopped by SIGINT or SIGTERM after a graceful shutdown
  1  the trust policy has errors (printed as file:line:col)
  2  usage error: bad flags or arguments, no policy, no control plane, no ` + EnvBrokerToken + `
  3  cannot listen, write the audit log or serve
`,
}

var brokerCheckHelp = help{
	description: `Decide a trust policy for a token's claims (a JSON object, such as the payload
of a GitHub OIDC token or the claims auth debug prints) or for a captured
token, exactly as the broker does, and say which rule matches, with what
permissions, and why each other rule does not. A token's signature is not
checked and it is never printed. Nothing is sent anywhere.
`,
	env: []string{"TAKOS_BROKER_POLICY  default of --policy"},
	exitCodes: `Exit codes:
  0  a rule matches: the broker would grant the exchange
  1  no rule matches, or the policy has errors
  2  usage error: bad flags or arguments, claims that are not a JSON object
  3  a file could not be read
`,
}

var brokerTestHelp = help{
	description: `Decide every case of CASES.yml (claims or a captured token, and the rule or
the refusal expected) with the trust policy, and report each case decided
otherwise as a finding in the lint formats, so it runs as a check on pull
requests to the policy. Nothing is sent anywhere.
`,
	env: []string{"TAKOS_BROKER_POLICY  default of --policy"},
	exitCodes: `Exit codes:
  0  every case passes
  1  a case is decided otherwise, or either file has errors
  2  usage error: bad flags or arguments
  3  a file could not be read
`,
}

var brokerSchemaHelp = help{
	description: "Print the JSON Schema of the broker's trust policy, for editors.\n",
	exitCodes:   "Exit codes: 0 printed, 2 usage error, 3 write failure.\n",
}

var devHelp = help{
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
/expire-tokens expires the ones issued, and /deploy {"group":"hello",
"workers":{"web":"v1"}} deploys the app's workers as takos apply would, to
try autoEnv's rollout (Authorization: Bearer $TAKOS_DEV_ADMIN_TOKEN).

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
}
