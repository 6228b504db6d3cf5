package export

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Sink is one place a run's results go: step outputs, GITHUB_ENV, a dotenv
// file, the terminal. A sink that receives the one-time secret must also be
// able to withdraw it, and must say before the run writes anything whether
// it can take it, so the calls come together: a new sink is one type with
// these methods, and one that forgets Check or Retract does not compile
// where it is added to a Multi. Every call gets the run's context, for a
// sink that talks to a server.
type Sink interface {
	// Name says where the secret went, for the log: "GITHUB_OUTPUT", the
	// dotenv path, "terminal".
	Name() string
	// Check is the preflight, run before the first write request to the
	// control plane: it reports whether Deliver and Publish could write
	// now — the file can be opened, its directory exists, the caller may
	// write the store — with an error that names the sink and says what to
	// fix, and it changes nothing. A nil error is no promise: Deliver can
	// still fail, and the new client is then revoked.
	Check(ctx context.Context) error
	// Deliver hands over a newly issued secret with its client id. Its
	// error never contains the secret.
	Deliver(ctx context.Context, clientID, secret string) error
	// Retract withdraws a secret that Deliver handed over, when its client
	// turned out to be dead (a lost race): the last record wins for file
	// commands and the dotenv entry is blanked; a terminal print cannot be
	// taken back, so the terminal says not to use it.
	Retract(ctx context.Context) error
	// Publish writes the run's non-secret results, once per run.
	Publish(ctx context.Context, o Outcome) error
}

// Publisher takes only the non-secret results (the job summary).
type Publisher interface {
	// Check is the preflight, as Sink.Check.
	Check(ctx context.Context) error
	Publish(ctx context.Context, o Outcome) error
}

// noter is a sink with remarks for the log after a call (a dotenv file
// whose mode was tightened).
type noter interface {
	takeNotes() []string
}

// Outcome is the non-secret result of one takos-apply run.
type Outcome struct {
	ClientID string
	// Action is the apply result: created, updated, unchanged or rotated.
	Action  string
	Changed bool
	// Summary is the result rendered as Markdown (see MarkdownTable).
	Summary string
	// SpaceID is the Takos space whose common env holds the credentials,
	// and Rollout the state of the app's linked workers (see package
	// appenv); both "" when the run stores nothing in Takos.
	SpaceID string
	Rollout string
}

// errSecretUndelivered reports that a newly issued secret reached no sink.
var errSecretUndelivered = errors.New("the new client secret reached no sink")

// ErrNoSecretSink is Check's error for a run that would issue a secret and
// has no sink to put it in (outside Actions, no --env-file and no
// terminal). The caller adds how to get one.
var ErrNoSecretSink = errors.New("there is nowhere to put a new client secret")

// Multi checks, delivers to, retracts from and publishes to several sinks
// as one, as ko's MultiPublisher composes publishers: a failing sink does
// not stop the others, and the errors are joined.
type Multi struct {
	masker     *Masker
	sinks      []Sink
	fallback   Sink
	publishers []Publisher
	took       []Sink
	notes      []string
}

// newMulti composes sinks. With masker (in Actions) every secret is masked
// before any sink sees it, and every registered secret is redacted from
// what is not one (the client id, the Outcome). fallback, if not nil,
// receives a secret that no sink took. publishers receive only Publish.
func newMulti(masker *Masker, sinks []Sink, fallback Sink, publishers ...Publisher) *Multi {
	return &Multi{masker: masker, sinks: sinks, fallback: fallback, publishers: publishers}
}

// Check is the preflight of every sink and publisher, before the run sends
// any write request. With secret (the plan creates a client) it also
// requires a place for the one-time secret: a sink, else the fallback
// (whose Check then counts), else ErrNoSecretSink. It changes nothing.
func (m *Multi) Check(ctx context.Context, secret bool) error {
	var errs []error
	for _, s := range m.sinks {
		errs = append(errs, s.Check(ctx))
	}
	for _, p := range m.publishers {
		errs = append(errs, p.Check(ctx))
	}
	if secret && len(m.sinks) == 0 {
		if m.fallback == nil {
			errs = append(errs, ErrNoSecretSink)
		} else {
			errs = append(errs, m.fallback.Check(ctx))
		}
	}
	return errors.Join(errs...)
}

// Deliver hands the secret to every sink, then to the fallback if none took
// it, and returns the names of the sinks that hold it. If masking fails
// nothing is written. When no sink took the secret the error says so and the
// caller must revoke the client. Errors never contain the secret.
func (m *Multi) Deliver(ctx context.Context, clientID, secret string) ([]string, error) {
	if m.masker != nil {
		if err := m.masker.Mask(secret); err != nil {
			return nil, fmt.Errorf("mask client secret: %w", err)
		}
	}
	clientID = m.redact(clientID)
	var errs []error
	for _, s := range m.sinks {
		errs = append(errs, m.deliverTo(ctx, s, clientID, secret))
	}
	if len(m.took) == 0 && m.fallback != nil {
		errs = append(errs, m.deliverTo(ctx, m.fallback, clientID, secret))
	}
	names := make([]string, len(m.took))
	for i, s := range m.took {
		names[i] = s.Name()
	}
	if len(m.took) == 0 {
		errs = append(errs, errSecretUndelivered)
	}
	return names, errors.Join(errs...)
}

func (m *Multi) deliverTo(ctx context.Context, s Sink, clientID, secret string) error {
	err := s.Deliver(ctx, clientID, secret)
	m.collect(s)
	if err != nil {
		return err
	}
	m.took = append(m.took, s)
	return nil
}

// Retract withdraws the secret from exactly the sinks that took it.
func (m *Multi) Retract(ctx context.Context) error {
	var errs []error
	for _, s := range m.took {
		if err := s.Retract(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name(), err))
		}
		m.collect(s)
	}
	return errors.Join(errs...)
}

// Publish writes the non-secret results to every sink and publisher, with
// every registered secret redacted.
func (m *Multi) Publish(ctx context.Context, o Outcome) error {
	o.ClientID, o.Action = m.redact(o.ClientID), m.redact(o.Action)
	o.SpaceID, o.Rollout = m.redact(o.SpaceID), m.redact(o.Rollout)
	if m.masker != nil {
		o.Summary = m.masker.RedactMarkdown(o.Summary)
	}
	var errs []error
	for _, s := range m.sinks {
		errs = append(errs, s.Publish(ctx, o))
		m.collect(s)
	}
	for _, p := range m.publishers {
		errs = append(errs, p.Publish(ctx, o))
	}
	return errors.Join(errs...)
}

// Summarize appends markdown to the publishers only (the job summary, in
// Actions): for what a run reports without an outcome to publish, such as
// a plan or an apply that refused to create.
func (m *Multi) Summarize(ctx context.Context, markdown string) error {
	if m.masker != nil {
		markdown = m.masker.RedactMarkdown(markdown)
	}
	var errs []error
	for _, p := range m.publishers {
		errs = append(errs, p.Publish(ctx, Outcome{Summary: markdown}))
	}
	return errors.Join(errs...)
}

// redact removes the run's secrets from a non-secret value (Masker.Redact).
func (m *Multi) redact(s string) string {
	if m.masker == nil {
		return s
	}
	return m.masker.Redact(s)
}

// Notes returns, once, the sinks' remarks for the log since the last call.
func (m *Multi) Notes() []string {
	n := m.notes
	m.notes = nil
	return n
}

func (m *Multi) collect(s Sink) {
	if n, ok := s.(noter); ok {
		m.notes = append(m.notes, n.takeNotes()...)
	}
}

// Config says which sinks a run has; New builds them.
type Config struct {
	// Stdout is the step's standard output: add-mask commands.
	Stdout io.Writer
	// Terminal, when not nil, receives the labelled one-time print of a
	// secret that no other sink took, outside Actions. The caller passes it
	// only when it is a terminal (or the user forced the print): a
	// redirected stream is a log file, where a secret must never go. It
	// must not be Stdout, which may carry --format json.
	Terminal io.Writer
	// TerminalName says where a print to Terminal ends up, for the log
	// ("client secret delivered to …"); default "terminal". A forced print
	// to a redirected stream names the stream and, if known, its file.
	TerminalName string
	// Getenv reads GITHUB_OUTPUT, GITHUB_ENV and GITHUB_STEP_SUMMARY.
	Getenv func(string) string
	// Masker is the run's registry, which masked other secrets (tokens)
	// earlier (MaskerFor); nil means a new Masker on Stdout. Used only in
	// Actions.
	Masker *Masker
	// GitHubActions selects the Actions sinks (masks, outputs, summary).
	GitHubActions bool
	// ExportEnv also writes OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET to
	// GITHUB_ENV (manifest autoEnv or --export-env). Ignored outside Actions.
	ExportEnv bool
	// EnvFile, when set, is the dotenv file to update (--env-file).
	EnvFile string
	// Sinks are further sinks of the caller's (the Takos space's common
	// env), after the ones above.
	Sinks []Sink
}

// New builds the sinks of c: in Actions the step outputs, with ExportEnv
// GITHUB_ENV, and the job summary; with EnvFile the dotenv file; outside
// Actions the terminal as the fallback. In Actions no secret is printed:
// the runner would show "***".
func New(c Config) *Multi {
	getenv := c.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var (
		masker     *Masker
		sinks      []Sink
		fallback   Sink
		publishers []Publisher
	)
	if c.GitHubActions {
		masker = c.Masker
		if masker == nil {
			masker = NewMasker(c.Stdout)
		}
		sinks = append(sinks, outputsSink{path: getenv(envGitHubOutput)})
		if c.ExportEnv {
			sinks = append(sinks, githubEnvSink{path: getenv(envGitHubEnv)})
		}
		publishers = append(publishers, summaryPublisher{path: getenv(envGitHubStepSummary)})
	}
	if c.EnvFile != "" {
		sinks = append(sinks, &dotenvSink{path: c.EnvFile})
	}
	sinks = append(sinks, c.Sinks...)
	if !c.GitHubActions && c.Terminal != nil {
		fallback = terminalSink{w: c.Terminal, name: c.TerminalName}
	}
	return newMulti(masker, sinks, fallback, publishers...)
}
