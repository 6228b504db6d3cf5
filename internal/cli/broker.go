package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/broker"
	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// EnvBrokerToken is the broker's own control-plane credential. It is read
// from the environment only (never a flag, which ps would show).
const EnvBrokerToken = "TAKOS_BROKER_TOKEN"

const brokerUsage = `Usage:
  takos-apply broker [flags]                                   run the GitHub OIDC federation broker
  takos-apply broker check --policy FILE --claims CLAIMS.json  say which policy rule a token's claims match
  takos-apply broker schema                                    print the JSON Schema of the trust policy
`

// runBroker dispatches the broker subcommands.
func runBroker(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "schema":
			if len(args) > 1 {
				fmt.Fprint(e.stderr, brokerUsage)
				return ExitUsage
			}
			if _, err := e.stdout.Write(broker.PolicySchema()); err != nil {
				return ExitFailure
			}
			return ExitOK
		case "check":
			return runBrokerCheck(e, args[1:])
		}
	}
	return runBrokerServe(ctx, e, args)
}

type issuerList []string

func (l *issuerList) String() string { return strings.Join(*l, ",") }
func (l *issuerList) Set(v string) error {
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		*l = append(*l, s)
	}
	return nil
}

func runBrokerServe(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "broker", "broker [flags]")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "%s\nFlags of takos-apply broker:\n", brokerUsage)
		fs.PrintDefaults()
	}
	listenDefault := ":8080"
	if p := e.getenv("PORT"); p != "" { // Cloud Run, Heroku and friends
		listenDefault = ":" + p
	}
	listen := fs.String("listen", envDefault(e.getenv, "TAKOS_BROKER_LISTEN", listenDefault), "address to listen on (env TAKOS_BROKER_LISTEN, else :$PORT, else :8080)")
	publicURL := fs.String("url", e.getenv("TAKOS_BROKER_URL"), "the broker's public https URL, issuer of its RFC 8414 metadata (env TAKOS_BROKER_URL; default http://ADDR on loopback only)")
	policyPath := fs.String("policy", e.getenv("TAKOS_BROKER_POLICY"), "trust policy YAML file (env TAKOS_BROKER_POLICY); required")
	controlPlane := fs.String("control-plane", e.getenv("TAKOS_API_URL"), "Takos control plane that mints the PATs (env TAKOS_API_URL); required")
	audience := fs.String("audience", e.getenv("TAKOS_BROKER_AUDIENCE"), "aud the GitHub tokens must carry (env TAKOS_BROKER_AUDIENCE; default the control plane's origin, which takos-apply requests)")
	var issuers issuerList
	fs.Var(&issuers, "issuer", "trusted OIDC issuer, repeatable (env TAKOS_BROKER_ISSUERS, comma-separated; default "+broker.GitHubIssuer+")")
	rate := fs.Int("rate", 30, "token exchanges per repository per minute (negative: unlimited)")
	burst := fs.Int("burst", 10, "exchanges a repository may make at once before the rate applies")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout of each outbound request (JWKS, control plane)")
	auditPath := fs.String("audit-log", "", "append the JSON audit log to this file (default stderr)")
	addrFile := fs.String("addr-file", "", "write the address the broker listens on to this file once listening (for --listen with port 0)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "takos-apply broker: unexpected argument %q\n\n%s", fs.Arg(0), brokerUsage)
		return ExitUsage
	}
	if len(issuers) == 0 {
		issuers.Set(e.getenv("TAKOS_BROKER_ISSUERS"))
	}
	failf := func(code int, format string, a ...any) int {
		fmt.Fprintf(e.stderr, "takos-apply broker: "+format+"\n", a...)
		return code
	}
	switch {
	case *policyPath == "":
		return failf(ExitUsage, "no trust policy: pass --policy FILE (or TAKOS_BROKER_POLICY); see takos-apply broker schema")
	case *controlPlane == "":
		return failf(ExitUsage, "no control plane: pass --control-plane URL (or TAKOS_API_URL)")
	case strings.TrimSpace(e.getenv(EnvBrokerToken)) == "":
		return failf(ExitUsage, "%s is not set: the broker mints PATs with a PAT of the deploy account, read from the environment only", EnvBrokerToken)
	}
	policy, code := loadBrokerPolicy(e, *policyPath)
	if policy == nil {
		return code
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return failf(ExitFailure, "%v", err)
	}
	defer ln.Close()
	url := *publicURL
	if url == "" {
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		if !httpx.IsLoopbackHost(host) {
			return failf(ExitUsage, "no public URL: pass --url https://broker.example (or TAKOS_BROKER_URL); it is the issuer clients discover")
		}
		url = "http://" + ln.Addr().String()
	}
	var audit io.Writer = e.stderr
	if *auditPath != "" {
		f, err := os.OpenFile(*auditPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return failf(ExitFailure, "audit log: %v", err)
		}
		defer f.Close()
		audit = f
	}
	srv, err := broker.New(broker.Config{
		URL:             url,
		Audience:        *audience,
		Issuers:         issuers,
		Policy:          policy,
		ControlPlaneURL: *controlPlane,
		Token:           e.getenv(EnvBrokerToken),
		Timeout:         *timeout,
		RatePerMinute:   *rate,
		Burst:           *burst,
		Audit:           audit,
	})
	if err != nil {
		return failf(ExitUsage, "%v", err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return failf(ExitFailure, "%v", err)
		}
	}
	if err := srv.Run(ctx, ln); err != nil {
		return failf(ExitFailure, "%v", err)
	}
	return ExitOK
}

// loadBrokerPolicy loads a policy, printing its findings as
// file:line:col lines; any error finding means no policy (exit 1).
func loadBrokerPolicy(e *env, path string) (*broker.Policy, int) {
	src, err := readAtMost(path, 1<<20)
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker: reading %s: %v\n", path, unwrapPathError(err))
		return nil, ExitFailure
	}
	p, diags, err := broker.LoadPolicy(path, src)
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker: %v\n", err)
		return nil, ExitFailure
	}
	for _, d := range diags {
		fmt.Fprintln(e.stderr, d.String())
	}
	if p == nil {
		n := diags.Count(diag.Error)
		noun := "errors"
		if n == 1 {
			noun = "error"
		}
		fmt.Fprintf(e.stderr, "takos-apply broker: %s has %d %s; the broker does not start with a broken policy\n", path, n, noun)
		return nil, ExitFindings
	}
	return p, ExitOK
}

// runBrokerCheck evaluates a policy against a token's claims (a JSON
// object, e.g. the payload of a GitHub token or auth debug's claims) and
// says which rule matches and why the others do not. Exit 0: a rule
// matches; 1: denied or policy errors.
func runBrokerCheck(e *env, args []string) int {
	fs := newFlagSet(e, "broker check", "broker check --policy FILE --claims CLAIMS.json")
	policyPath := fs.String("policy", e.getenv("TAKOS_BROKER_POLICY"), "trust policy YAML file (env TAKOS_BROKER_POLICY)")
	claimsPath := fs.String("claims", "", "JSON object of the token's claims (- for stdin)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if *policyPath == "" || *claimsPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return ExitUsage
	}
	policy, code := loadBrokerPolicy(e, *policyPath)
	if policy == nil {
		return code
	}
	var raw []byte
	var err error
	if *claimsPath == "-" {
		raw, err = io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	} else {
		raw, err = readAtMost(*claimsPath, 1<<20)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker check: reading %s: %v\n", *claimsPath, unwrapPathError(err))
		return ExitFailure
	}
	claims, err := parseClaims(raw)
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply broker check: %s: %v\n", *claimsPath, err)
		return ExitUsage
	}
	d := policy.Evaluate(claims)
	for _, m := range d.Misses {
		fmt.Fprintf(e.stdout, "rule %s does not match: %s\n", m.Rule, m.Reason)
	}
	if d.Rule == nil {
		code := "invalid_grant"
		if d.Untrusted {
			code = "unauthorized_client"
		}
		fmt.Fprintf(e.stdout, "denied: no rule matches; the broker would answer %s\n", code)
		return ExitFindings
	}
	fmt.Fprintf(e.stdout, "rule %s matches: the broker would mint a PAT valid for %s\n", d.Rule.Name, d.Rule.TTL)
	return ExitOK
}

// parseClaims reads a JSON object of claims and keeps what the broker
// keeps of a verified token (broker.StringClaims): strings, and numbers in
// their string form (repository_id may be written as a number).
func parseClaims(raw []byte) (broker.Claims, error) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errors.New("not a JSON object of claims (e.g. {\"repository\": \"octo-org/octo-repo\", \"ref\": \"refs/heads/main\"})")
	}
	return broker.StringClaims(m), nil
}
