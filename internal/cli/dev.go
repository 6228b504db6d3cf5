package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/takos-dev/takos-apply/internal/appenv"
	"github.com/takos-dev/takos-apply/internal/auth"
	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/export"
	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/internal/report"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// takos-apply dev: the dev server (internal/devserver) on loopback,
// seeded from the manifest. The manifest's client is registered through
// the same path apply takes (reconcile over the control-plane HTTP client,
// with the printed PAT), re-registered when the file changes, and its
// credentials handed to the command after "--".

// devDefaultAddr is the local preset of the Takos CLI's endpoints
// (http://localhost:8787), on 127.0.0.1: a fixed port keeps the issuer,
// and so every token and the app's configuration, the same across runs.
const devDefaultAddr = "127.0.0.1:8787"

type devFlags struct {
	lintFlags
	addr        string
	envFile     string
	state       string
	user        userFlag
	autoApprove bool
	tokenTTL    time.Duration
	jwks        bool
	poll        time.Duration
	quiet       bool
	noClient    bool
}

// userFlag collects --user KEY=VALUE claims of the signed-in user.
type userFlag struct{ u devserver.User }

func (f *userFlag) String() string { return "" }

func (f *userFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want KEY=VALUE (sub, name, email or picture), got %q", v)
	}
	switch k {
	case "sub", "id":
		if val == "" {
			return errors.New("sub must not be empty")
		}
		f.u.ID = val
	case "name":
		f.u.Name = val
	case "email":
		f.u.Email = val
	case "picture":
		f.u.Picture = val
	default:
		return fmt.Errorf("unknown claim %q: use sub, name, email or picture", k)
	}
	return nil
}

func (f *devFlags) register(fs *flag.FlagSet, e *env) {
	f.lintFlags.register(fs, e, "text")
	if e.getenv("TAKOS_ENV") == "" {
		// Local development is what dev is for: loopback redirect URIs
		// are information here, not warnings.
		f.env = "development"
		fs.Lookup("env").DefValue = "development"
	}
	f.user.u = devserver.DefaultUser
	fs.StringVar(&f.addr, "addr", devDefaultAddr, "loopback address to serve on (127.0.0.1:0 picks a free port)")
	fs.StringVar(&f.envFile, "env-file", "", "also write the OAUTH_* and TAKOS_* variables to this dotenv file (mode 0600)")
	fs.StringVar(&f.state, "state", "", "keep clients, tokens, consents and the signing key in this file across restarts (mode 0600)")
	fs.Var(&f.user, "user", "a claim of the signed-in user, KEY=VALUE with KEY sub, name, email or picture; repeatable")
	fs.BoolVar(&f.autoApprove, "auto-approve", false, "approve authorization requests without showing the consent page")
	fs.DurationVar(&f.tokenTTL, "access-token-ttl", time.Hour, "lifetime of access tokens (Takos: 1h); shorten it to meet refresh sooner")
	fs.BoolVar(&f.jwks, "jwks", false, "serve the signing key at /.well-known/jwks.json (Takos at 7d63ea66 answers 500 there)")
	fs.DurationVar(&f.poll, "poll", time.Second, "how often to check the manifest for changes")
	fs.BoolVar(&f.quiet, "quiet", false, "do not log requests")
	fs.BoolVar(&f.noClient, "no-client", false, "serve the control plane without registering the manifest's client (to try plan and apply against it)")
}

var devCommand = &command{
	name:        "dev",
	usage:       "dev [flags] [PATH] [-- COMMAND ARGS...]",
	summary:     "run a local Takos control plane and OAuth server for the manifest",
	help:        devHelp,
	args:        optPath,
	runsCommand: true,
	// dev stops by itself: it passes signals on to COMMAND and exits with
	// its code, or says "stopped" (exit 0).
	signals: signalServe,
	lints:   true,
	setup: func(e *env, fs *flag.FlagSet) action {
		f := &devFlags{}
		f.register(fs, e)
		return action{run: func(ctx context.Context, args []string) int { return runDev(ctx, e, fs, f, args) }}
	},
}

// splitCommand cuts args at the first "--": the dev server's own
// arguments, then the command to run.
func splitCommand(args []string) (own, command []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}

func runDev(ctx context.Context, e *env, fs *flag.FlagSet, fp *devFlags, args []string) int {
	paths, command := splitCommand(args)
	if code := fp.check(e, fs, "dev"); code >= 0 {
		return code
	}
	f := *fp
	switch {
	case f.noClient && len(paths) > 0:
		e.errorf("dev", "--no-client reads no manifest; drop %s", paths[0])
		return ExitUsage
	case len(paths) == 1 && paths[0] == "-":
		e.errorf("dev", "standard input (-) is read by lint only; pass the manifest file")
		return ExitUsage
	case f.poll <= 0 || f.tokenTTL <= 0:
		e.errorf("dev", "--poll and --access-token-ttl must be positive")
		return ExitUsage
	}
	if host, _, err := net.SplitHostPort(f.addr); err != nil || !isLoopbackHost(host) {
		e.errorf("dev", "--addr %q is not a loopback address: the dev server accepts a printed token and must not be reachable from another host; use 127.0.0.1:PORT", f.addr)
		return ExitUsage
	}
	d := &devRun{e: e, f: f, r: &runner{e: e, name: "dev", actions: e.actions}}
	d.r.f.lintFlags = f.lintFlags
	return d.run(ctx, paths, command)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// gatedWriter drops writes until it is opened.
type gatedWriter struct {
	mu     sync.Mutex
	opened bool
	w      io.Writer
}

func (g *gatedWriter) open() {
	g.mu.Lock()
	g.opened = true
	g.mu.Unlock()
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.opened || g.w == nil {
		return len(p), nil
	}
	return g.w.Write(p)
}

// devRun is one dev server. The request log, the manifest watcher, the
// child command and the run itself all write e.stderr: its Stream is safe
// for concurrent use and, unlike a wrapper around it, still writes
// takos-apply's own workflow commands (annotations) in Actions.
type devRun struct {
	e   *env
	f   devFlags
	r   *runner // lint reporting, as apply does it
	srv *devserver.Server
	cp  *controlplane.Client

	requestLog gatedWriter

	target   lint.Target
	path     string
	src      []byte
	clientID string // the manifest's client, pinned after the first registration
	secret   string
	// envLines say where autoEnv stored the client (storeEnv), for the
	// banner.
	envLines []string
}

// failf is apply's: an annotation in Actions, nothing for the
// cancellation of an interrupted run (runCommand says "interrupted").
func (d *devRun) failf(code int, format string, args ...any) int {
	return d.r.failf(code, format, args...)
}

func (d *devRun) run(ctx context.Context, paths []string, command []string) int {
	var doc *manifest.Document
	if !d.f.noClient {
		if _, _, err := lint.Find(paths); errors.Is(err, lint.ErrNoManifest) && len(paths) == 0 {
			// Anywhere, bare "takos-apply dev" serves a control plane to
			// plan and apply against.
			fmt.Fprintf(d.e.stderr, "takos-apply dev: no .takos/app.yml here; serving the control plane without a client\n")
		} else {
			// One manifest, as plan and apply take it (several are a usage
			// error that lists them).
			t, code, ok := d.r.manifest(paths)
			if !ok {
				return code
			}
			d.target, d.path = t, t.Path
			if doc, code, ok = d.lint(); !ok {
				fmt.Fprintf(d.e.stderr, "takos-apply dev: the dev server does not start with a manifest that has errors\n")
				return code
			}
		}
	}
	if err := d.start(); err != nil {
		return d.failf(ExitFailure, "%v", err)
	}
	defer d.srv.Close()
	if doc != nil {
		if oauth, ok := doc.OAuth(); ok {
			if err := d.register(ctx, doc, oauth); err != nil {
				return d.failf(ExitFailure, "registering the manifest's client: %v", err)
			}
		} else {
			fmt.Fprintf(d.e.stderr, "takos-apply dev: %s declares no spec.oauth client; serving the control plane without one\n", d.path)
		}
	}
	vars := d.vars()
	if d.f.envFile != "" {
		notes, err := export.WriteDevEnv(d.f.envFile, vars)
		for _, n := range notes {
			fmt.Fprintf(d.e.stderr, "takos-apply dev: %s\n", n)
		}
		if err != nil {
			return d.failf(ExitFailure, "--env-file: %v", err)
		}
	}
	d.banner(vars)
	d.requestLog.open()

	if d.path != "" {
		watchCtx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		go d.watch(watchCtx)
	}
	if len(command) == 0 {
		<-ctx.Done()
		fmt.Fprintf(d.e.stderr, "takos-apply dev: stopped\n")
		return ExitOK
	}
	return d.runCommand(ctx, command, vars)
}

// lint reads and lints the manifest as apply does; ok is false when it
// has errors (they are printed) or cannot be read.
func (d *devRun) lint() (*manifest.Document, int, bool) {
	doc, diags, err := lint.Load(context.Background(), d.target, d.f.lintConfig())
	if err != nil {
		return nil, d.failf(ExitFailure, "%v", err), false
	}
	if code, stop := d.r.reportFindings(doc, diags); stop {
		return nil, code, false
	}
	d.src = doc.Source
	return doc, ExitOK, true
}

func randomToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func (d *devRun) start() error {
	opts := []devserver.Option{
		// The app reaches the issuer at the URL it was given: the dev
		// server's own (Takos names https://ADMIN_DOMAIN).
		devserver.WithSelfIssuer(),
		devserver.WithToken(randomToken("tak_pat_")),
		devserver.WithAdminToken(randomToken("tak_dev_")),
		devserver.WithLoginUser(d.f.user.u),
		devserver.WithAccessTokenTTL(d.f.tokenTTL),
		// Nothing reads the request history of a dev run: keep it bounded.
		devserver.WithRequestLimit(1000),
	}
	if d.f.autoApprove {
		opts = append(opts, devserver.WithAutoApprove())
	}
	if d.f.jwks {
		opts = append(opts, devserver.WithJWKS())
	}
	if d.f.state != "" {
		opts = append(opts, devserver.WithStateFile(d.f.state))
	}
	if !d.f.quiet {
		// The request log starts once the server is up and the manifest's
		// client registered (run turns it on): the registration's own
		// requests are not the user's.
		opts = append(opts, devserver.WithLog(&d.requestLog))
		d.requestLog.w = d.e.stderr
	}
	srv, err := devserver.Listen(d.f.addr, opts...)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w; is another takos-apply dev running? --addr 127.0.0.1:0 picks a free port", err)
		}
		return err
	}
	d.srv = srv
	res := &auth.Resolved{Mode: auth.ModeToken, Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token})}
	cp, err := newControlPlane(srv.URL, res, 10*time.Second)
	if err != nil {
		srv.Close()
		return err
	}
	d.cp = cp
	return nil
}

// devStore is the store apply uses, plus the two fields the Takos list
// omits (tos_uri, policy_uri), which the dev server can tell: so an edit
// of only those reaches the consent page.
type devStore struct {
	*store
	srv *devserver.Server
}

func (s devStore) List(ctx context.Context) ([]reconcile.Client, error) {
	cs, err := s.store.List(ctx)
	for i, c := range cs {
		if sc, ok := s.srv.Client(c.ID); ok {
			cs[i].TOSURI, cs[i].PolicyURI, cs[i].Unreported = deref(sc.TOSURI), deref(sc.PolicyURI), nil
		}
	}
	return cs, err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// register creates or updates the manifest's client through reconcile,
// as apply does, and keeps its id and secret. With spec.oauth.autoEnv it
// also stores and links them in the dev user's space, as apply does.
func (d *devRun) register(ctx context.Context, doc *manifest.Document, o *manifest.OAuth) error {
	desired := reconcile.Desired{Name: o.ClientName, RedirectURIs: o.RedirectURIs, Scopes: o.Scopes,
		LogoURI: o.LogoURI, TOSURI: o.TOSURI, PolicyURI: o.PolicyURI}
	st := devStore{&store{cp: d.cp}, d.srv}
	clients, err := st.List(ctx)
	if err != nil {
		return err
	}
	current, err := reconcile.Select(clients, desired.Name, d.clientID)
	if err != nil {
		return err
	}
	plan := reconcile.Diff(desired, current, false)
	var held devSecret
	res, err := reconcile.Apply(ctx, st, plan, &held, reconcile.ApplyOptions{Pinned: d.clientID != ""})
	if err != nil {
		return err
	}
	secret := held.secret
	if secret == "" {
		// An existing client (--state): the dev server kept its secret.
		secret, _ = d.srv.SecretOf(res.ClientID)
	}
	if d.clientID != "" && res.Action != reconcile.ResultUnchanged {
		fmt.Fprintf(d.e.stderr, "takos-apply dev: %s changed: client %s %s (%s)\n", d.path, res.ClientID, res.Action, changedFields(res.Changes))
	}
	d.clientID, d.secret = res.ClientID, secret
	// Masked in Actions (and then redacted by the streams); on a terminal
	// the banner shows it, which is the point of dev.
	if d.e.masker != nil {
		_ = d.e.masker.Mask(secret)
	}
	if o.AutoEnvSet {
		d.storeEnv(ctx, doc, o, clients, plan, st)
	}
	return nil
}

// storeEnv puts the client in the dev user's space as apply does with
// autoEnv (the values, and with autoEnv: true the group, the workers'
// services and the links), so that plan and apply against the dev server
// find the app as a finished apply leaves it ("unchanged"), not a client
// whose secret the space lacks. Unlike apply, dev knows every client's
// secret, so a space without it gets it. A failure is a warning: the app
// run by dev has its credentials all the same.
func (d *devRun) storeEnv(ctx context.Context, doc *manifest.Document, o *manifest.OAuth, clients []reconcile.Client, plan reconcile.Plan, st devStore) {
	warn := func(err error) {
		fmt.Fprintf(d.e.stderr, "takos-apply dev: the client is not stored in the dev space as apply would (autoEnv), so plan and apply against this server will not show it unchanged: %v\n", err)
	}
	p, err := appenv.Locate(ctx, d.cp, appOf(doc, o), appenv.Options{})
	if err != nil {
		warn(err)
		return
	}
	var missing *appenv.MissingSecretError
	if err := p.Prepare(clients, plan); err != nil && !errors.As(err, &missing) {
		warn(err)
		return
	}
	if d.secret != "" && (p.StoredID != d.clientID || !p.HasSecret) {
		if err := p.Sink(d.cp).Deliver(ctx, d.clientID, d.secret); err != nil {
			warn(err)
			return
		}
	}
	res, err := p.Apply(ctx, d.cp, d.clientID, nil, st.revokeIdempotent)
	if err != nil {
		warn(err)
		return
	}
	d.envLines = report.EnvResultLines(res, o.AutoEnv)
}

// devSecret holds a new client's secret in memory, the sink dev hands it
// on from (to the command and --env-file).
type devSecret struct{ secret string }

func (h *devSecret) Deliver(_ context.Context, _, secret string) error {
	h.secret = secret
	return nil
}

func (h *devSecret) Retract(context.Context) error {
	h.secret = ""
	return nil
}

func changedFields(cs []reconcile.Change) string {
	var names []string
	for _, c := range cs {
		names = append(names, string(c.Field))
	}
	return strings.Join(names, ", ")
}

// vars are the variables the command gets and --env-file receives.
func (d *devRun) vars() []export.KV {
	base := d.srv.URL
	kv := []export.KV{}
	if d.clientID != "" {
		kv = append(kv, export.KV{Name: "OAUTH_CLIENT_ID", Value: d.clientID})
		if d.secret != "" {
			kv = append(kv, export.KV{Name: "OAUTH_CLIENT_SECRET", Value: d.secret})
		}
	}
	kv = append(kv,
		export.KV{Name: "OAUTH_ISSUER", Value: base},
		export.KV{Name: "OAUTH_AUTHORIZATION_ENDPOINT", Value: base + "/oauth/authorize"},
		export.KV{Name: "OAUTH_TOKEN_ENDPOINT", Value: base + "/oauth/token"},
		export.KV{Name: "OAUTH_USERINFO_ENDPOINT", Value: base + "/oauth/userinfo"},
		export.KV{Name: "OAUTH_INTROSPECTION_ENDPOINT", Value: base + "/oauth/introspect"},
		export.KV{Name: "OAUTH_REVOCATION_ENDPOINT", Value: base + "/oauth/revoke"},
		export.KV{Name: "OAUTH_JWKS_URI", Value: base + "/.well-known/jwks.json"},
		export.KV{Name: "TAKOS_API_URL", Value: base},
		export.KV{Name: "TAKOS_TOKEN", Value: d.srv.Token},
		export.KV{Name: "TAKOS_DEV_ADMIN_URL", Value: base + strings.TrimSuffix(devserver.AdminPath, "/")},
		export.KV{Name: "TAKOS_DEV_ADMIN_TOKEN", Value: d.adminToken()},
	)
	return kv
}

func (d *devRun) adminToken() string { return d.srv.AdminToken() }

// banner prints where everything is: the PAT for plan/apply, the client's
// credentials and the URLs an app needs, as KEY=VALUE lines a shell can
// take. In Actions the secrets are masked first.
func (d *devRun) banner(vars []export.KV) {
	if d.e.masker != nil {
		_ = d.e.masker.Mask(d.srv.Token)
		_ = d.e.masker.Mask(d.adminToken())
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "takos-apply dev: a Takos control plane (7d63ea66) for local development at %s\n", d.srv.URL)
	login := d.f.user.u
	consent := "the consent page asks"
	if d.f.autoApprove {
		consent = "requests are approved without the consent page"
	}
	fmt.Fprintf(&b, "  signed in as %s (%s); %s; access tokens live %s\n", cmpOr(login.Email, login.Name), login.ID, consent, d.f.tokenTTL)
	if d.clientID != "" {
		fmt.Fprintf(&b, "  client %s from %s: redirect URIs match exactly; PKCE S256, state and scope are required\n", d.clientID, d.path)
	}
	for _, l := range d.envLines {
		fmt.Fprintf(&b, "  autoEnv: %s\n", l)
	}
	fmt.Fprintf(&b, "  plan and apply against it with TAKOS_API_URL and TAKOS_TOKEN below; Ctrl-C stops it\n")
	for _, kv := range vars {
		fmt.Fprintf(&b, "%s=%s\n", kv.Name, kv.Value)
	}
	// The banner shows the dev credentials on purpose (a shell takes the
	// lines): it is not redacted; in Actions the masks came first.
	safetext.WriteRevealed(d.e.stdout, b.String())
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// watch polls the manifest and re-registers its client when it changes:
// redirect URIs, scopes, name and metadata are updated in place, as apply
// would. A manifest with errors keeps the client as it was.
func (d *devRun) watch(ctx context.Context) {
	t := time.NewTicker(d.f.poll)
	defer t.Stop()
	missing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		src, refused, err := lint.ReadTarget(d.target, d.f.lintConfig().Limits.MaxBytes)
		if err == nil && len(refused) > 0 {
			err = errors.New(refused[0].Message)
		}
		if err != nil {
			if !missing {
				fmt.Fprintf(d.e.stderr, "takos-apply dev: reading %s: %v; the client stays as it was\n", d.path, err)
			}
			missing = true
			continue
		}
		missing = false
		if bytes.Equal(src, d.src) {
			continue
		}
		d.reload(ctx)
	}
}

func (d *devRun) reload(ctx context.Context) {
	doc, _, ok := d.lint()
	if !ok {
		fmt.Fprintf(d.e.stderr, "takos-apply dev: %s has errors; the client stays as it was\n", d.path)
		return
	}
	o, has := doc.OAuth()
	if !has {
		fmt.Fprintf(d.e.stderr, "takos-apply dev: %s no longer declares spec.oauth; the client stays as it was\n", d.path)
		return
	}
	before := d.envLines
	if err := d.register(ctx, doc, o); err != nil {
		fmt.Fprintf(d.e.stderr, "takos-apply dev: updating the client from %s: %v\n", d.path, err)
	}
	if !slices.Equal(before, d.envLines) {
		for _, l := range d.envLines {
			fmt.Fprintf(d.e.stderr, "takos-apply dev: autoEnv: %s\n", l)
		}
	}
}

// forwarded are the signals passed to the command.
var forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// runCommand runs the command with the variables in its environment and
// returns its exit code (128+N when a signal N ended it). Signals sent to
// takos-apply are passed to it, and takos-apply waits for it to exit.
// From a terminal, Ctrl-C and Ctrl-\ already reach the command (it is in
// the terminal's foreground process group), so SIGINT and SIGQUIT are not
// sent twice there.
func (d *devRun) runCommand(ctx context.Context, command []string, vars []export.KV) int {
	cmd := exec.Command(command[0], command[1:]...)
	env := os.Environ()
	for _, kv := range vars {
		env = append(env, kv.Name+"="+kv.Value)
	}
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = d.e.stdin, d.e.stdout, d.e.stderr
	if !d.e.actions && d.e.procStdout != nil {
		// On a terminal the command is the developer's own app: it writes
		// to the real streams (a TTY keeps its colours), not through
		// takos-apply's guard. In Actions its lines pass the guard, which
		// keeps them from issuing workflow commands.
		cmd.Stdout, cmd.Stderr = d.e.procStdout, d.e.procStderr
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return d.failf(127, "running %s: %v", command[0], err)
	}
	fromTerminal := isTerminalReader(d.e.stdin)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ctxDone := ctx.Done()
	signalled := false
	for {
		select {
		case err := <-exited:
			return exitCodeOf(err)
		case sig := <-sigs:
			signalled = true
			if fromTerminal && (sig == os.Interrupt || sig == syscall.SIGQUIT) {
				continue
			}
			_ = cmd.Process.Signal(sig)
		case <-ctxDone:
			// main cancels the context on the same signals, which reach
			// sigs too; only a context cancelled without one (a caller
			// of Run) asks the command to stop with SIGTERM.
			ctxDone = nil
			if signalled {
				continue
			}
			select {
			case sig := <-sigs:
				sigs <- sig
			case <-time.After(50 * time.Millisecond):
				_ = cmd.Process.Signal(syscall.SIGTERM)
			}
		}
	}
}

func exitCodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return ExitFailure
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
