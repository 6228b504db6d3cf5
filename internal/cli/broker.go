package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/takos-dev/takos-apply/internal/broker"
	"github.com/takos-dev/takos-apply/internal/brokerstate"
	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/internal/report"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// EnvBrokerToken is the broker's own control-plane credential. It is read
// from the environment only (never a flag, which ps would show).
const EnvBrokerToken = "TAKOS_BROKER_TOKEN"

var brokerCommand = &command{
	name:    "broker",
	usage:   "broker [flags]",
	summary: "run the GitHub OIDC broker and gateway to Takos (keyless CI)",
	help:    brokerHelp,
	signals: signalServe, // a graceful shutdown on SIGTERM is a success
	setup:   brokerServeSetup,
}

const brokerCheckUsage = "broker check --policy FILE (--claims CLAIMS.json | --token TOKEN.jwt)"

var brokerCheckCommand = &command{
	name:    "broker check",
	usage:   brokerCheckUsage,
	summary: "say which policy rule a token's claims, or a captured token, match",
	help:    brokerCheckHelp,
	signals: signalAbandon,
	setup:   brokerCheckSetup,
}

const brokerTestUsage = "broker test --policy FILE [--format F] CASES.yml"

var brokerTestCommand = &command{
	name:    "broker test",
	usage:   brokerTestUsage,
	summary: "check the policy against a table of cases (a PR check)",
	help:    brokerTestHelp,
	args:    optPath,
	signals: signalAbandon,
	setup:   brokerTestSetup,
}

var brokerSchemaCommand = &command{
	name:    "broker schema",
	usage:   "broker schema",
	summary: "print the JSON Schema of the trust policy",
	help:    brokerSchemaHelp,
	signals: signalAbandon,
	setup: func(e *env, _ *flag.FlagSet) action {
		return action{run: func(context.Context, []string) int {
			if _, err := e.stdout.Write(broker.PolicySchema()); err != nil {
				fmt.Fprintf(e.stderr, "takos-apply broker schema: %v\n", err)
				return ExitFailure
			}
			return ExitOK
		}}
	},
}

type issuerList []string

func (l *issuerList) String() string { return strings.Join(*l, ",") }
func (l *issuerList) Set(v string) error {
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		*l = append(*l, s)
	}
	return nil
}

func brokerServeSetup(e *env, fs *flag.FlagSet) action {
	listenDefault := ":8080"
	if p := e.getenv("PORT"); p != "" { // Cloud Run, Heroku and friends
		listenDefault = ":" + p
	}
	var o brokerServeFlags
	fs.StringVar(&o.listen, "listen", envDefault(e.getenv, "TAKOS_BROKER_LISTEN", listenDefault), "address to listen on (env TAKOS_BROKER_LISTEN, else :$PORT, else :8080)")
	fs.StringVar(&o.publicURL, "url", e.getenv("TAKOS_BROKER_URL"), "the broker's public https URL, issuer of its RFC 8414 metadata (env TAKOS_BROKER_URL; default http://ADDR on loopback only)")
	fs.StringVar(&o.policyPath, "policy", e.getenv("TAKOS_BROKER_POLICY"), "trust policy YAML file (env TAKOS_BROKER_POLICY); required")
	fs.StringVar(&o.controlPlane, "control-plane", e.getenv("TAKOS_API_URL"), "the Takos control plane permitted requests are forwarded to (env TAKOS_API_URL); required")
	fs.StringVar(&o.audience, "audience", e.getenv("TAKOS_BROKER_AUDIENCE"), "aud the GitHub tokens must carry (env TAKOS_BROKER_AUDIENCE; default the broker's origin, which takos-apply requests when the broker is its control plane)")
	fs.Var(&o.issuers, "issuer", "trusted OIDC issuer, repeatable (env TAKOS_BROKER_ISSUERS, comma-separated; default "+broker.GitHubIssuer+")")
	fs.IntVar(&o.rate, "rate", 30, "token exchanges per repository per minute (negative: unlimited)")
	fs.IntVar(&o.burst, "burst", 10, "exchanges a repository may make at once before the rate applies")
	// Not the flag's default: help prints defaults, and this one holds the
	// Redis password (read after parsing instead, in runBrokerServe).
	fs.StringVar(&o.redisURL, "redis-url", "", "Redis or Valkey that replicas share for the replay cache and rate limits: redis://[:PASSWORD@]HOST:PORT[/DB], rediss:// for TLS (env TAKOS_BROKER_REDIS_URL, which keeps the password off the command line; default this process's memory: one replica)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of each outbound request (JWKS, forwarded requests)")
	fs.StringVar(&o.auditPath, "audit-log", "", "append the JSON audit log to this file (default stderr)")
	fs.StringVar(&o.addrFile, "addr-file", "", "write the address the broker listens on to this file once listening (for --listen with port 0)")
	return action{run: func(ctx context.Context, _ []string) int { return runBrokerServe(ctx, e, o) }}
}

// brokerServeFlags are the flags of takos-apply broker.
type brokerServeFlags struct {
	listen, publicURL, policyPath, controlPlane, audience, redisURL string
	issuers                                                         issuerList
	rate, burst                                                     int
	timeout                                                         time.Duration
	auditPath, addrFile                                             string
}

func runBrokerServe(ctx context.Context, e *env, o brokerServeFlags) int {
	if len(o.issuers) == 0 {
		o.issuers.Set(e.getenv("TAKOS_BROKER_ISSUERS"))
	}
	if o.redisURL == "" {
		o.redisURL = e.getenv("TAKOS_BROKER_REDIS_URL")
	}
	failf := func(code int, format string, a ...any) int {
		fmt.Fprintf(e.stderr, "takos-apply broker: "+format+"\n", a...)
		return code
	}
	switch {
	case o.policyPath == "":
		return failf(ExitUsage, "no trust policy: pass --policy FILE (or TAKOS_BROKER_POLICY); see takos-apply broker schema")
	case o.controlPlane == "":
		return failf(ExitUsage, "no control plane: pass --control-plane URL (or TAKOS_API_URL)")
	case strings.TrimSpace(e.getenv(EnvBrokerToken)) == "":
		return failf(ExitUsage, "%s is not set: the broker forwards requests to Takos with a PAT of the deploy account, read from the environment only", EnvBrokerToken)
	}
	// The credential is a secret of this process from here: the streams
	// and the audit log redact it.
	e.secrets.Add(e.getenv(EnvBrokerToken))
	e.secrets.Add(strings.TrimSpace(e.getenv(EnvBrokerToken)))
	policy, code := loadBrokerPolicy(e, o.policyPath)
	if policy == nil {
		return code
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return failf(ExitFailure, "%v", err)
	}
	defer ln.Close()
	url := o.publicURL
	if url == "" {
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		if !httpx.IsLoopbackHost(host) {
			return failf(ExitUsage, "no public URL: pass --url https://broker.example (or TAKOS_BROKER_URL); it is the issuer clients discover")
		}
		url = "http://" + ln.Addr().String()
	}
	// JSON lines on stderr pass its Stream unchanged (safetext.JSONLines):
	// the audit log stays exact JSON.
	audit := safetext.JSONLines(e.stderr)
	if o.auditPath != "" {
		f, err := os.OpenFile(o.auditPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return failf(ExitFailure, "audit log: %v", err)
		}
		defer f.Close()
		audit = f
	}
	var state brokerstate.Store
	if o.redisURL != "" {
		st, err := brokerstate.NewRedis(o.redisURL, broker.ExchangeLimit(o.rate, o.burst), nil)
		if err != nil {
			return failf(ExitUsage, "--redis-url: %v", err)
		}
		defer st.Close()
		state = st
	}
	srv, err := broker.New(broker.Config{
		URL:             url,
		Audience:        o.audience,
		Issuers:         o.issuers,
		Policy:          policy,
		ControlPlaneURL: o.controlPlane,
		Token:           e.getenv(EnvBrokerToken),
		Timeout:         o.timeout,
		RatePerMinute:   o.rate,
		Burst:           o.burst,
		State:           state,
		Audit:           audit,
		Secrets:         e.secrets,
	})
	if err != nil {
		return failf(ExitUsage, "%v", err)
	}
	// SIGHUP re-reads the policy file (systemctl reload, kill -HUP); a
	// broken policy is refused and the one in force stays (the log says why).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloadCtx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go func() {
		for {
			select {
			case <-reloadCtx.Done():
				return
			case <-hup:
				srv.ReloadPolicy(func() ([]byte, error) { return readAtMost(o.policyPath, 1<<20) })
			}
		}
	}()
	if o.addrFile != "" {
		if err := os.WriteFile(o.addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return failf(ExitFailure, "%v", err)
		}
	}
	if err := srv.Run(ctx, ln); err != nil {
		return failf(ExitFailure, "%v", err)
	}
	return ExitOK
}

// loadBrokerPolicy loads a policy, printing its findings as lint prints
// them (file:line:col, the source line, what to write); any error finding
// means no policy (exit 1).
func loadBrokerPolicy(e *env, path string) (*broker.Policy, int) {
	src, err := readAtMost(path, 1<<20)
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker: reading %s: %v\n", path, lint.UnwrapPathError(err))
		return nil, ExitFailure
	}
	p, doc, diags, err := broker.CheckPolicy(path, src)
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker: %v\n", err)
		return nil, ExitFailure
	}
	if len(diags) > 0 {
		report.Text(e.stderr, []report.File{{Path: path, Doc: doc, Diags: diags}}, report.Options{Color: colorEnabled("auto", e.stderr, e.getenv)})
	}
	if p == nil {
		fmt.Fprintf(e.stderr, "takos-apply broker: the broker does not start with a broken policy\n")
		return nil, ExitFindings
	}
	return p, ExitOK
}

func brokerCheckSetup(e *env, fs *flag.FlagSet) action {
	policyPath := fs.String("policy", e.getenv("TAKOS_BROKER_POLICY"), "trust policy YAML file (env TAKOS_BROKER_POLICY); required")
	claimsPath := fs.String("claims", "", "JSON object of the token's claims (- for stdin)")
	tokenPath := fs.String("token", "", "a captured GitHub OIDC token (- for stdin); its signature is not checked and it is never printed")
	return action{run: func(ctx context.Context, _ []string) int {
		switch {
		case *policyPath == "":
			return usageErrorOf(e, "broker check", brokerCheckUsage, "no trust policy: pass --policy FILE (or TAKOS_BROKER_POLICY)")
		case (*claimsPath == "") == (*tokenPath == ""):
			return usageErrorOf(e, "broker check", brokerCheckUsage, "pass the claims (--claims CLAIMS.json) or a captured token (--token TOKEN.jwt), one of them; - reads standard input")
		}
		return runBrokerCheck(e, *policyPath, *claimsPath, *tokenPath)
	}}
}

// runBrokerCheck evaluates a policy against a token's claims — a JSON
// object (the payload of a GitHub token, auth debug's claims) or a
// captured token — exactly as the server decides (broker.Policy.Decide),
// and says which rule matches and why the others do not. Exit 0: a rule
// matches; 1: denied or policy errors.
func runBrokerCheck(e *env, policyPath, claimsPath, tokenPath string) int {
	policy, code := loadBrokerPolicy(e, policyPath)
	if policy == nil {
		return code
	}
	src := claimsPath + tokenPath
	var raw []byte
	var err error
	if src == "-" {
		raw, err = io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	} else {
		raw, err = readAtMost(src, 1<<20)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker check: reading %s: %v\n", src, lint.UnwrapPathError(err))
		return ExitFailure
	}
	payload := raw
	if tokenPath != "" {
		// A captured token may still be valid: it is never printed.
		e.secrets.Add(strings.TrimSpace(string(raw)))
		if payload, err = broker.TokenPayload(raw); err != nil {
			fmt.Fprintf(e.stderr, "takos-apply broker check: %s: %v\n", src, err)
			return ExitUsage
		}
		fmt.Fprintln(e.stdout, "note: the token's signature, iss, aud, exp and jti are not checked here; the server checks them before the policy")
	}
	d, claims, err := policy.Decide(payload)
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker check: %s: %v (e.g. {\"repository\": \"octo-org/octo-repo\", \"ref\": \"refs/heads/main\"})\n", src, err)
		return ExitUsage
	}
	for _, n := range d.Notes {
		fmt.Fprintf(e.stdout, "note: %s\n", n)
	}
	for _, m := range d.Misses {
		fmt.Fprintf(e.stdout, "rule %s does not match: %s\n", m.Rule, m.Reason)
	}
	if d.Rule == nil {
		fmt.Fprintf(e.stdout, "denied: the broker would answer %s\n", broker.PolicyRefusal(d, claims).Code)
		return ExitFindings
	}
	p := d.Rule.Permissions
	fmt.Fprintf(e.stdout, "rule %s matches: the broker would issue an access token valid for %s allowing %s (spaces: %s; clients: %s)\n",
		d.Rule.Name, d.Rule.TTL, p, listOrAll(p.Spaces), listOrAll(p.Clients))
	return ExitOK
}

func listOrAll(l []string) string {
	if l == nil {
		return "all"
	}
	return strings.Join(l, ", ")
}

func brokerTestSetup(e *env, fs *flag.FlagSet) action {
	policyPath := fs.String("policy", e.getenv("TAKOS_BROKER_POLICY"), "trust policy YAML file (env TAKOS_BROKER_POLICY); required")
	format := fs.String("format", "text", "output format: text|json|github|sarif")
	return action{run: func(ctx context.Context, args []string) int {
		switch {
		case *policyPath == "":
			return usageErrorOf(e, "broker test", brokerTestUsage, "no trust policy: pass --policy FILE (or TAKOS_BROKER_POLICY)")
		case len(args) == 0:
			return usageErrorOf(e, "broker test", brokerTestUsage, "no cases: pass the cases file, CASES.yml")
		}
		return runBrokerTest(e, *policyPath, *format, args[0])
	}}
}

// runBrokerTest decides every case of a cases file with the policy and
// reports each case decided otherwise as a finding, in the lint formats,
// so that it runs as a check on pull requests to the policy. Exit 0: every
// case passes; 1: a mismatch or errors in either file.
func runBrokerTest(e *env, policyPath, format, casesPath string) int {
	out, err := report.NewWriter(format, e.stdout, report.Options{
		Color: format == "text" && colorEnabled("auto", e.stdout, e.getenv), Version: Version(), Root: workingDir()})
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker test: %v\n", err)
		return ExitUsage
	}
	read := func(path string) ([]byte, bool) {
		b, err := readAtMost(path, 1<<20)
		if err != nil {
			fmt.Fprintf(e.stderr, "takos-apply broker test: reading %s: %v\n", path, lint.UnwrapPathError(err))
			return nil, false
		}
		return b, true
	}
	psrc, ok := read(policyPath)
	if !ok {
		return ExitFailure
	}
	csrc, ok := read(casesPath)
	if !ok {
		return ExitFailure
	}
	policy, pdoc, pdiags, err := broker.CheckPolicy(policyPath, psrc)
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker test: %v\n", err)
		return ExitFailure
	}
	dir := filepath.Dir(casesPath)
	cases, cdoc, cdiags, err := broker.LoadCases(casesPath, csrc, func(name string) ([]byte, error) {
		b, err := readAtMost(filepath.Join(dir, filepath.FromSlash(name)), 64<<10)
		return b, lint.UnwrapPathError(err)
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker test: %v\n", err)
		return ExitFailure
	}
	passed := 0
	if policy != nil && cases != nil {
		var found []diag.Diagnostic
		found, passed = cases.Run(policy)
		cdiags = append(cdiags, found...)
		cdiags.Sort()
	}
	for _, f := range []report.File{{Path: policyPath, Doc: pdoc, Diags: pdiags}, {Path: casesPath, Doc: cdoc, Diags: cdiags}} {
		if err := out.WriteFile(f); err != nil {
			break
		}
	}
	if err := out.Close(); err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker test: writing the report: %v\n", err)
		return ExitFailure
	}
	if policy == nil || cases == nil || pdiags.HasErrors() || cdiags.HasErrors() {
		if policy != nil && cases != nil {
			fmt.Fprintf(e.stderr, "takos-apply broker test: %d of %d cases pass\n", passed, len(cases.Cases))
		}
		return ExitFindings
	}
	fmt.Fprintf(e.stderr, "takos-apply broker test: all %d cases pass\n", passed)
	return ExitOK
}

// readAtMost reads at most max+1 bytes of path, refusing a directory, so a
// mistaken path never reads gigabytes.
func readAtMost(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if st.IsDir() {
		return nil, errors.New("is a directory")
	}
	return io.ReadAll(io.LimitReader(f, max+1))
}
