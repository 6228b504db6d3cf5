package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/appenv"
	"github.com/takos-dev/takos-apply/internal/auth"
	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/export"
	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/internal/oauthmeta"
	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/internal/report"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// cpFlags select and reach the control plane; shared by plan, apply and
// auth debug.
type cpFlags struct {
	controlPlane string
	timeout      time.Duration
	auth         authFlags
}

// register adds the flags; writes says the command creates clients (apply),
// whose --timeout help then says what a timeout leaves.
func (c *cpFlags) register(fs *flag.FlagSet, e *env, writes bool) {
	fs.StringVar(&c.controlPlane, "control-plane", e.getenv("TAKOS_API_URL"),
		"control plane base URL, https unless loopback (env TAKOS_API_URL)")
	c.timeout = defaultRunTimeout
	usage := "give up when the whole command takes longer than this `duration` (above zero)"
	if writes {
		usage += "; a client already created is still settled"
	}
	fs.Var(positiveDuration{&c.timeout}, "timeout", usage)
	c.auth.register(fs, e)
}

// defaultRunTimeout bounds a whole plan, apply or auth debug. A no-op apply
// takes well under a second; a hanging control plane is given up on after
// the 5 s discovery budget and one request's retry budget (30 s), before
// this.
const defaultRunTimeout = 60 * time.Second

// maxAttemptTimeout bounds one HTTP attempt (httpx.Options.Timeout).
const maxAttemptTimeout = 30 * time.Second

// attemptTimeout is the timeout of one HTTP attempt: at most half the run,
// so one attempt that hangs leaves time for a retry and, after a create
// whose outcome is unknown, for the list that settles it.
func (c *cpFlags) attemptTimeout() time.Duration { return min(maxAttemptTimeout, c.timeout/2) }

// positiveDuration is a duration flag that must be above zero (--timeout):
// zero or less would end the run before its first request, so the parser
// refuses it as a usage error.
type positiveDuration struct{ d *time.Duration }

func (p positiveDuration) String() string {
	if p.d == nil {
		return ""
	}
	return p.d.String()
}

func (p positiveDuration) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("not a duration; write one such as 90s or 2m")
	}
	if d <= 0 {
		return errors.New("must be positive: it bounds the whole run")
	}
	*p.d = d
	return nil
}

// errRunTimeout is the cause of a run that --timeout ended.
var errRunTimeout = errors.New("--timeout passed")

// withRunTimeout bounds ctx by --timeout; expired reports whether that is
// what ended it.
func (c *cpFlags) withRunTimeout(ctx context.Context) (_ context.Context, cancel context.CancelFunc, expired func() bool) {
	ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, errRunTimeout)
	return ctx, cancel, func() bool { return errors.Is(context.Cause(ctx), errRunTimeout) }
}

// timeoutNote is appended to a failure that --timeout caused.
func (c *cpFlags) timeoutNote() string {
	return fmt.Sprintf(" (stopped by --timeout %s, which bounds the whole run: raise it if the control plane is slow)", c.timeout)
}

type applyFlags struct {
	lintFlags
	cpFlags
	env         envFlags
	clientID    string
	createNew   bool
	rotate      bool
	exportEnv   bool
	envFile     string
	printSecret bool
	detailed    bool
}

var planCommand = &command{
	name:    "plan",
	usage:   "plan [flags] [PATH]",
	summary: "show what apply would change on the control plane (read only)",
	help:    planHelp,
	args:    optPath,
	signals: signalAbandon, // only GET requests: nothing to settle
	lints:   true,
	setup:   func(e *env, fs *flag.FlagSet) action { return planApplySetup(e, fs, false) },
}

var applyCommand = &command{
	name:    "apply",
	usage:   "apply [flags] [PATH]",
	summary: "create or update the OAuth client and export its credentials",
	help:    applyHelp,
	args:    optPath,
	signals: signalWait, // a created client settles and its secret is delivered
	lints:   true,
	setup:   func(e *env, fs *flag.FlagSet) action { return planApplySetup(e, fs, true) },
}

func planApplySetup(e *env, fs *flag.FlagSet, apply bool) action {
	name := "plan"
	if apply {
		name = "apply"
	}
	f := &applyFlags{}
	f.lintFlags.register(fs, e, "text", "json")
	f.cpFlags.register(fs, e, apply)
	fs.StringVar(&f.clientID, "client-id", e.getenv("TAKOS_OAUTH_CLIENT_ID"),
		"manage this client id instead of the active client named clientName (env TAKOS_OAUTH_CLIENT_ID)")
	f.env.register(fs, e)
	fs.BoolVar(&f.createNew, "create-new", false, "create a new client even though the plan finds a likely rename of an existing one")
	if apply {
		fs.BoolVar(&f.rotate, "rotate-secret", false, "create a replacement client with a new secret, deliver it, then revoke the old one (with autoEnv and running workers, once they run the new one)")
		fs.BoolVar(&f.exportEnv, "export-env", false, "also export OAUTH_CLIENT_ID/OAUTH_CLIENT_SECRET to GITHUB_ENV (as autoEnv: true does)")
		fs.StringVar(&f.envFile, "env-file", "", "write OAUTH_CLIENT_ID/OAUTH_CLIENT_SECRET to this dotenv file (mode 0600)")
		fs.BoolVar(&f.printSecret, "print-secret", false, "print a new secret that no other sink took to stderr even when stderr is not a terminal")
	} else {
		fs.BoolVar(&f.rotate, "rotate-secret", false, "plan a secret rotation")
		fs.BoolVar(&f.detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when changes are pending, 1 on any error")
	}
	return action{
		run: func(ctx context.Context, paths []string) int { return planApply(ctx, e, fs, f, name, paths, apply) },
		// With --detailed-exitcode even a usage error exits 1, so that 2
		// only ever means "changes pending"; the parser sets the flag even
		// when another argument fails.
		exit: func(code int) int {
			if f.detailed {
				return detailedCode(code)
			}
			if code == exitChanges {
				return ExitOK
			}
			return code
		},
	}
}

// detailedCode maps plan's exit codes to --detailed-exitcode's: a pending
// change (exitChanges) is 2 and every error is 1.
func detailedCode(code int) int {
	switch code {
	case ExitOK:
		return ExitOK
	case exitChanges:
		return ExitChanges
	}
	return ExitFindings
}

// exitChanges is what plan returns internally when the plan changes
// something; without --detailed-exitcode it is a success (0).
const exitChanges = -1

func planApply(ctx context.Context, e *env, fs *flag.FlagSet, f *applyFlags, name string, paths []string, apply bool) int {
	if code := f.check(e, fs, name); code >= 0 {
		return code
	}
	if !f.env.check(e, name) {
		return ExitUsage
	}
	if f.createNew && f.clientID != "" {
		e.errorf(name, "--create-new and --client-id (or TAKOS_OAUTH_CLIENT_ID) contradict each other: a pinned client is updated, never replaced by a new one")
		return ExitUsage
	}
	if len(paths) == 1 && paths[0] == "-" {
		e.errorf(name, "standard input (-) is read by lint only; pass the manifest file")
		return ExitUsage
	}
	if !f.auth.check(e, name) {
		return ExitUsage
	}
	if msg := missingControlPlane(e, f.controlPlane, f.auth.mode); msg != "" {
		e.errorf(name, "%s", msg)
		return ExitUsage
	}
	ctx, cancel, expired := f.withRunTimeout(ctx)
	defer cancel()
	r := &runner{e: e, f: *f, name: name, actions: e.actions, expired: expired}
	return r.run(ctx, paths, apply)
}

// runner holds one plan/apply invocation's state. Every secret it meets is
// registered in e.secrets (tokens by auth, the client secret and
// registration access token by the store): the streams redact them, and in
// Actions the registry masks each before anything else can print it.
type runner struct {
	e       *env
	f       applyFlags
	name    string
	actions bool
	expired func() bool // --timeout has passed
}

// failf prints a failure and returns code. The cancellation of a run a
// signal stopped is not printed: runCommand says "interrupted" once.
func (r *runner) failf(code int, format string, args ...any) int {
	if r.cancelled(args) {
		return code
	}
	msg := fmt.Sprintf(format, args...)
	if r.expired != nil && r.expired() {
		msg += r.f.timeoutNote()
	}
	r.e.errorf(r.name, "%s", msg)
	return code
}

func (r *runner) warnf(format string, args ...any) {
	if r.cancelled(args) {
		return
	}
	fmt.Fprintf(r.e.stderr, "takos-apply: warning: %s\n", fmt.Sprintf(format, args...))
}

// cancelled reports whether an error among args is only the end of an
// interrupted run.
func (r *runner) cancelled(args []any) bool {
	for _, a := range args {
		if err, ok := a.(error); ok && r.e.interrupted(err) {
			return true
		}
	}
	return false
}

func (r *runner) run(ctx context.Context, paths []string, apply bool) int {
	t, code, ok := r.manifest(paths)
	if !ok {
		return code
	}
	path := t.Path
	cfg := r.f.lintConfig()
	doc, diags, err := lint.Load(ctx, t, cfg)
	if err != nil {
		return r.failf(ExitFailure, "%v", err)
	}
	if code, stop := r.reportFindings(doc, diags); stop {
		return code
	}
	oauth, ok := doc.OAuth()
	if !ok {
		fmt.Fprintf(r.e.stdout, "%s declares no spec.oauth client; nothing to %s\n", path, r.name)
		return ExitOK
	}
	desired := reconcile.Desired{
		Name:         oauth.ClientName,
		RedirectURIs: oauth.RedirectURIs,
		Scopes:       oauth.Scopes,
		LogoURI:      oauth.LogoURI,
		TOSURI:       oauth.TOSURI,
		PolicyURI:    oauth.PolicyURI,
	}

	cp, code := r.connect(ctx)
	if cp == nil {
		return code
	}
	if disc, err := cp.Discover(ctx); err == nil && len(disc.ScopesSupported) > 0 {
		// The server's own catalog beats the embedded one: re-lint before
		// any write so an unsupported scope never reaches the server.
		more := lint.Recheck(doc, diags, r.f.lintOptions(disc.ScopesSupported))
		if code, stop := r.reportFindings(doc, more); stop {
			return code
		}
	} else if err != nil && !controlplane.IsNotFound(err) {
		// Discovery only refines the scope lint: the control plane checks
		// scopes again on create, so a PAT or broker run must not stop here.
		r.warnf("%v; scopes are checked against the built-in list", err)
	}

	st := &store{cp: cp, secrets: r.e.secrets}
	clients, err := st.List(ctx)
	if err != nil {
		return r.failf(ExitFailure, "%v", err)
	}
	envPlan, code := r.locateEnv(ctx, cp, doc, oauth)
	if code != ExitOK {
		return code
	}
	var knownID string
	if envPlan != nil {
		knownID = envPlan.KnownID()
	}
	plan, err := reconcile.MakePlan(clients, desired, reconcile.PlanOptions{
		PinnedID: r.f.clientID, KnownID: knownID, Rotate: r.f.rotate, CreateNew: r.f.createNew,
	})
	if err != nil {
		return r.failf(ExitFailure, "%v", err)
	}
	var extra []export.Sink
	if envPlan != nil {
		if err := envPlan.Prepare(clients, plan); err != nil {
			return r.failf(ExitFailure, "%v", err)
		}
		extra = append(extra, envPlan.Sink(cp))
	}
	sinks := r.sinks(oauth.AutoEnv, extra...)
	// apply writes the job summary when it publishes its result, unless it
	// refuses to create.
	r.reportRename(ctx, doc, plan, sinks, !apply || plan.Refusal() != nil)
	if !apply {
		if err := report.WritePlanEnv(r.e.stdout, r.f.format, path, plan, envPlan); err != nil {
			return r.failf(ExitFailure, "writing plan: %v", err)
		}
		if r.f.detailed && (plan.Action != reconcile.ActionUnchanged || envPlan != nil && envPlan.Pending(plan.ClientID)) {
			return exitChanges
		}
		return ExitOK
	}
	return r.apply(ctx, st, path, plan, sinks, cp, envPlan)
}

// reportRename shows a likely rename in Actions beyond the plan's own text:
// an annotation on clientName and the job summary. The plan (text or JSON)
// and apply's refusal say it everywhere else.
func (r *runner) reportRename(ctx context.Context, doc *manifest.Document, plan reconcile.Plan, sinks *export.Multi, summary bool) {
	if !r.actions {
		return
	}
	c, ok := report.RenameAnnotation(doc.Path, doc.Pos(manifest.PtrClientName), plan)
	if !ok {
		return
	}
	w := r.e.stdout
	if r.f.format == "json" {
		w = r.e.stderr // stdout is kept for the one JSON document
	}
	if err := safetext.WriteCommand(w, c); err != nil {
		r.warnf("writing the rename annotation: %v", err)
	}
	if !summary {
		return
	}
	if err := sinks.Summarize(ctx, report.RenameSummary(plan)); err != nil {
		r.warnf("%v", err)
	}
}

// manifest finds the one manifest paths name. Several are a usage error
// that lists them: plan and apply act on one OAuth client, whose outputs
// (client-id, OAUTH_CLIENT_ID, the dotenv entries) several apps would
// overwrite; a monorepo plans or applies each app by its path. A file
// beside it that Takos does not read is reported as a warning.
func (r *runner) manifest(paths []string) (lint.Target, int, bool) {
	found, unread, err := lint.Find(paths)
	for _, t := range unread {
		if len(found) > 0 {
			d := lint.UnreadFinding(t)
			fmt.Fprintf(r.e.stderr, "takos-apply %s: warning: %s: %s [%s]\n", r.name, t.Path, d.Message, d.Rule)
		}
	}
	if err != nil {
		if errors.Is(err, lint.ErrNoManifest) {
			return lint.Target{}, r.failf(ExitUsage, "%v", err), false
		}
		return lint.Target{}, r.failf(ExitFailure, "%v", err), false
	}
	if len(found) > 1 {
		const show = 20
		var b strings.Builder
		fmt.Fprintf(&b, "%s holds %d apps; %s acts on one manifest at a time, so name it:\n", paths[0], len(found), r.name)
		for i, t := range found {
			if i == show {
				fmt.Fprintf(&b, "  … and %d more\n", len(found)-show)
				break
			}
			fmt.Fprintf(&b, "  takos-apply %s %s\n", r.name, t.Path)
		}
		b.WriteString("(lint checks them all: takos-apply lint " + paths[0] + ")")
		return lint.Target{}, r.failf(ExitUsage, "%s", b.String()), false
	}
	return found[0], ExitOK, true
}

// reportFindings prints lint findings, as annotations (workflow commands on
// stdout, which the runner consumes) in Actions and as text on stderr
// elsewhere, so they never mix with the plan a program reads from stdout;
// it says whether to stop.
func (r *runner) reportFindings(doc *manifest.Document, diags diag.List) (int, bool) {
	if len(diags) == 0 {
		return ExitOK, false
	}
	files := []report.File{{Path: doc.Path, Doc: doc, Diags: diags}}
	code := summaryExit(report.Summarize(files), r.f.strict)
	var err error
	switch {
	case r.f.format == "json" && code != ExitOK:
		// The run stops here: stdout's one JSON document is the findings,
		// in lint --format json's shape, instead of a plan.
		err = report.JSON(r.e.stdout, files)
		if r.actions && err == nil {
			err = report.GitHub(r.e.stderr, files)
		}
	case r.actions && r.f.format != "json":
		err = report.GitHub(r.e.stdout, files)
	case r.actions:
		// stdout is kept for the JSON plan; the runner reads workflow
		// commands on stderr as well.
		err = report.GitHub(r.e.stderr, files)
	default:
		err = report.Text(r.e.stderr, files, report.Options{Color: colorEnabled(r.f.color, r.e.stderr, r.e.getenv)})
	}
	if err != nil {
		return r.failf(ExitFailure, "writing findings: %v", err), true
	}
	if code != ExitOK {
		r.e.errorf(r.name, "%s has errors; nothing was sent to the control plane", doc.Path)
		return code, true
	}
	return ExitOK, false
}

// missingControlPlane returns the usage error of a run that has no
// control-plane URL and cannot get one, or "". It runs before any
// credential is looked for: the only other source of the URL is apiUrl in
// ~/.takos/config.json, which only --auth token and auto can read, and
// auto reads it only when TAKOS_TOKEN is unset. That the file exists is
// enough here; whether it has apiUrl is checked after it is read.
func missingControlPlane(e *env, controlPlane, mode string) string {
	if controlPlane != "" {
		// A URL that will be refused is refused first: before the
		// credentials are looked for, so that fixing those is not
		// followed by this.
		if _, err := httpx.CheckURL(controlPlane); err != nil {
			return "--control-plane: " + err.Error()
		}
		return ""
	}
	const msg = "no control plane URL: pass --control-plane URL or set TAKOS_API_URL"
	mode = strings.TrimSpace(mode)
	switch {
	case mode != string(auth.ModeAuto) && mode != string(auth.ModeToken),
		e.getenv("TAKOS_TOKEN") != "",
		mode == string(auth.ModeAuto) && e.getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "",
		homeDir(e) == "":
		return msg
	}
	if _, err := os.Stat(filepath.Join(homeDir(e), ".takos", "config.json")); err != nil {
		return msg
	}
	return ""
}

// connect authenticates and returns a control-plane client whose transport
// adds the bearer token only to requests for the control plane's origin.
func (r *runner) connect(ctx context.Context) (*controlplane.Client, int) {
	ua := "takos-apply/" + Version()
	tokenHTTP := httpx.NewClient(httpx.Options{Timeout: r.f.attemptTimeout(), UserAgent: ua, RetryPOST: true})
	cfg := r.f.auth.config(r.e, r.f.controlPlane, tokenHTTP)
	// One RFC 8414 fetch per run, shared by token exchange (token_endpoint)
	// and the scope lint (scopes_supported), sent without the bearer. Its
	// cache is made once, for the control plane's origin, when that is
	// first known: from --control-plane before authenticating (an exchange
	// may need the token_endpoint), else from the apiUrl auth has read.
	var meta *oauthmeta.Cache
	if u, err := httpx.CheckURL(r.f.controlPlane); err == nil {
		meta = oauthmeta.NewCache(tokenHTTP, httpx.Origin(u))
		cfg.Metadata = meta
	}
	res, err := auth.Resolve(ctx, cfg)
	if err != nil {
		return nil, r.failf(ExitFailure, "%v", err)
	}
	base := cmp.Or(r.f.controlPlane, res.APIURL)
	if base == "" {
		return nil, r.failf(ExitUsage, "no control plane URL: pass --control-plane URL or set TAKOS_API_URL")
	}
	cp, err := newControlPlane(base, res, r.f.attemptTimeout())
	if err != nil {
		return nil, r.failf(ExitUsage, "%v", err)
	}
	if meta == nil {
		// base is apiUrl, which newControlPlane has checked.
		u, _ := httpx.CheckURL(base)
		meta = oauthmeta.NewCache(tokenHTTP, httpx.Origin(u))
	}
	return cp.WithMetadata(meta), ExitOK
}

// sinks are where this run's results go (export.New); plan uses them only
// for the job summary.
func (r *runner) sinks(autoEnv bool, extra ...export.Sink) *export.Multi {
	// The one-time print goes only to a terminal: a redirected stderr is a
	// CI job log or a file, where a secret in clear text would stay.
	var terminal io.Writer
	var terminalName string
	switch {
	case isTerminal(r.e.stderr):
		terminal = r.e.stderr
	case r.f.printSecret:
		terminal, terminalName = r.e.stderr, "stderr ("+redirectedTo(r.e.stderr)+")"
	}
	return export.New(export.Config{
		Stdout:        r.e.stdout,
		Terminal:      terminal, // stdout may be --format json
		TerminalName:  terminalName,
		Getenv:        r.e.getenv,
		Masker:        r.e.masker,
		GitHubActions: r.actions,
		ExportEnv:     autoEnv || r.f.exportEnv,
		EnvFile:       r.f.envFile,
		Sinks:         extra,
	})
}

// apply executes the plan in three steps: check every sink, let
// reconcile.Apply create or update the client (delivering a new secret to
// the sinks, and withdrawing it again should its client lose a race), then
// publish the non-secret results.
func (r *runner) apply(ctx context.Context, st *store, path string, plan reconcile.Plan, sinks *export.Multi, cp *controlplane.Client, envPlan *appenv.Plan) int {
	if err := plan.Refusal(); err != nil {
		return r.failf(ExitFailure, "%v", err)
	}

	// 1. Preflight: every sink can take what this run will hand it, before
	// any write request. The revoke of a client whose secret reached no
	// sink stays in reconcile.Apply as the last line of defence.
	if err := sinks.Check(ctx, plan.IssuesSecret()); err != nil {
		if errors.Is(err, export.ErrNoSecretSink) {
			err = fmt.Errorf("%w: stderr is not a terminal, so the one-time secret is not printed there: "+
				"re-run with --env-file PATH, in a GitHub Actions step, or with --print-secret to print it anyway", err)
		}
		return r.failf(ExitFailure, "%s; nothing was written to the control plane", strings.ReplaceAll(err.Error(), "\n", "; "))
	}

	// 2. Create, update or rotate.
	secrets := &secretSinks{r: r, m: sinks}
	opts := reconcile.ApplyOptions{Pinned: r.f.clientID != "", Registry: r.e.secrets}
	if envPlan != nil {
		secrets.env = envPlan.Sink(cp)
		if envPlan.App.Link && envPlan.Deployed() {
			// Running workers use the old client until their next deploy.
			opts.Retire = retireOld(cp)
		}
	}
	res, err := reconcile.Apply(ctx, st, plan, secrets, opts)
	for _, n := range res.Notes {
		fmt.Fprintf(r.e.stderr, "takos-apply: %s\n", n)
	}
	if err != nil {
		return r.failf(ExitFailure, "%v", err)
	}

	// 3. autoEnv: the group, services and links of the first deploy, the
	// rollout, the retiring clients.
	out := outcome(res, plan)
	var envRes *appenv.Result
	var envErr error
	if envPlan != nil {
		var retired []reconcile.Client
		for _, id := range res.Retired {
			retired = append(retired, reconcile.Client{ID: id, ReplacedBy: res.ClientID, Active: true, Retiring: true})
		}
		envRes, envErr = envPlan.Apply(ctx, cp, res.ClientID, retired, st.revokeIdempotent)
		out.SpaceID, out.Rollout = envPlan.Space.ID, envRes.Rollout(envPlan.App.Link)
		out.Changed = out.Changed || envRes.Changed()
		if envErr != nil {
			out.Rollout = "incomplete"
		}
		out.Summary = report.JobSummaryEnv(res, plan, envRes, envPlan.App.Link)
	}

	// 4. Publish the results that are not secret.
	err = sinks.Publish(ctx, out)
	r.notes(sinks)
	if err != nil {
		return r.failf(ExitFailure, "%v", errors.Join(err, envErr))
	}
	if plan.Action == reconcile.ActionUpdate || plan.Action == reconcile.ActionUnchanged {
		if envPlan != nil {
			fmt.Fprintf(r.e.stderr, "takos-apply: client %s already existed; its secret is the one space %s holds (run with --rotate-secret to issue a new one)\n", res.ClientID, envPlan.Space.ID)
		} else {
			fmt.Fprintf(r.e.stderr, "takos-apply: client %s already existed, so no secret was issued in this run (Takos shows a secret only once, at creation); "+
				"run with --rotate-secret to issue a new one\n", res.ClientID)
		}
	}
	var link bool
	if envPlan != nil {
		link = envPlan.App.Link
	}
	if err := report.WriteResultEnv(r.e.stdout, r.f.format, path, res, envRes, link); err != nil {
		return r.failf(ExitFailure, "writing result: %v", err)
	}
	if envErr != nil {
		return r.failf(ExitFailure, "%v", envErr)
	}
	return ExitOK
}

// secretSinks are the run's sinks as reconcile.Apply sees them: a secret is
// delivered when at least one sink holds it (the failures of the others
// are warnings), and retracted from exactly the sinks that took it.
type secretSinks struct {
	r    *runner
	m    *export.Multi
	took []string
	// env, with autoEnv, must take the secret: the app gets it only from
	// there.
	env *appenv.Sink
}

func (s *secretSinks) Deliver(ctx context.Context, clientID, secret string) error {
	took, err := s.m.Deliver(ctx, clientID, secret)
	s.r.notes(s.m)
	if s.env != nil && !s.env.Took(clientID) {
		// Without the space holding it the client is revoked (and the
		// secret withdrawn from the other sinks), so that the next run
		// starts clean instead of finding a client whose secret Takos
		// cannot show again.
		if len(took) > 0 {
			s.took = took
			if rerr := s.Retract(ctx); rerr != nil {
				err = errors.Join(err, fmt.Errorf("withdrawing it failed: %w", rerr))
			}
		}
		return fmt.Errorf("storing the secret in %s failed: %w", s.env.Name(), err)
	}
	if len(took) == 0 {
		return err // reconcile revokes the client
	}
	s.took = took
	fmt.Fprintf(s.r.e.stderr, "takos-apply: client secret delivered to %s\n", strings.Join(took, ", "))
	if err != nil {
		// The secret reached at least one sink; the other failures are
		// reported but must not revoke a client whose secret is saved.
		s.r.warnf("%v", err)
	}
	return nil
}

func (s *secretSinks) Retract(ctx context.Context) error {
	err := s.m.Retract(ctx)
	s.r.notes(s.m)
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Join(s.took, ", "), err)
	}
	return nil
}

// redirectedTo says where a stream that is not a terminal goes, for the
// log line of a forced print: the file's path when the system can tell
// (/dev/stderr resolves to it on Linux), else what kind of stream it is.
func redirectedTo(w io.Writer) string {
	f, ok := osFile(w)
	if !ok {
		return "not a terminal"
	}
	st, err := f.Stat()
	switch {
	case err != nil:
		return "not a terminal"
	case st.Mode()&os.ModeNamedPipe != 0:
		return "a pipe, not a terminal"
	case !st.Mode().IsRegular():
		return "not a terminal"
	}
	if p, err := filepath.EvalSymlinks(f.Name()); err == nil && filepath.IsAbs(p) && !strings.HasPrefix(p, "/dev/") && !strings.HasPrefix(p, "/proc/") {
		return "the file " + safetext.Quote(p, 0) + ", not a terminal"
	}
	return "a file, not a terminal"
}

// notes prints the sinks' remarks (a dotenv file that had been readable by
// others: the secret is now in a 0600 file, but earlier contents may have
// been read).
func (r *runner) notes(sinks *export.Multi) {
	for _, n := range sinks.Notes() {
		fmt.Fprintf(r.e.stderr, "takos-apply: %s\n", n)
	}
}

func outcome(res reconcile.Result, plan reconcile.Plan) export.Outcome {
	return export.Outcome{
		ClientID: res.ClientID,
		Action:   res.Action,
		Changed:  res.Action != reconcile.ResultUnchanged,
		Summary:  report.JobSummary(res, plan),
	}
}

// homeDir is the user's home for ~/.takos/config.json, from the injected
// environment only (os.UserHomeDir would read the real process environment
// and let a test pick up a developer's real credentials); "" when unknown.
func homeDir(e *env) string {
	return cmp.Or(e.getenv("HOME"), e.getenv("USERPROFILE"))
}
