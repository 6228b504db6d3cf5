package export

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// errSecretUndelivered reports that a newly issued secret reached no sink.
var errSecretUndelivered = errors.New("the new client secret reached no sink")

// Step output names written by DeliverSecret and Publish.
const (
	OutputClientID     = "client-id"
	OutputClientSecret = "client-secret"
	OutputAction       = "action"
	OutputChanged      = "changed"
)

// Sink names reported in Published.SecretSinks, besides the dotenv path.
const (
	SinkGitHubOutput = EnvGitHubOutput
	SinkGitHubEnv    = EnvGitHubEnv
	SinkTerminal     = "terminal"
)

// Outcome is the non-secret result of one takos-apply run.
type Outcome struct {
	ClientID string
	// Action is the apply result: created, updated, unchanged or rotated.
	Action  string
	Changed bool
	// Summary is the plan rendered as Markdown (see MarkdownTable). Publish
	// also redacts every masked value from it.
	Summary string
}

// Sinks configures where DeliverSecret and Publish write.
type Sinks struct {
	// Stdout is the step's standard output: add-mask commands.
	Stdout io.Writer
	// Terminal receives the labelled one-time print of a secret that no
	// other sink took, outside Actions. It must not be Stdout, which may
	// carry machine-readable output (--format json).
	Terminal io.Writer
	// Getenv reads GITHUB_OUTPUT, GITHUB_ENV and GITHUB_STEP_SUMMARY.
	Getenv func(string) string
	// Masker is shared with code that masked other secrets (tokens) earlier;
	// nil means a new Masker on Stdout.
	Masker *Masker
	// GitHubActions selects the Actions sinks (masks, outputs, summary).
	GitHubActions bool
	// ExportEnv also writes OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET to
	// GITHUB_ENV (manifest autoEnv or --export-env). Ignored outside Actions.
	ExportEnv bool
	// EnvFile, when set, is the dotenv file to update (--env-file).
	EnvFile string
}

// Published reports what a call did, for the caller's log.
type Published struct {
	// SecretSinks names the sinks that received the new secret
	// (SinkGitHubOutput, SinkGitHubEnv, the dotenv path, SinkTerminal).
	SecretSinks []string
	// Dotenv is the dotenv update result when EnvFile was written.
	Dotenv *DotenvResult
}

func (s Sinks) getenv(name string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(name)
}

func (s *Sinks) masker() *Masker {
	if s.Masker == nil {
		s.Masker = NewMasker(s.Stdout)
	}
	return s.Masker
}

// DeliverSecret hands a newly issued secret and its client id to every
// configured sink, because the control plane shows the secret only this
// once:
//
//  1. In Actions, the secret is masked before anything else is written; if
//     masking fails nothing is written.
//  2. In Actions, step outputs client-id and client-secret, then with
//     ExportEnv GITHUB_ENV OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET.
//  3. With EnvFile, the dotenv file.
//  4. Outside Actions, if no sink took it, a labelled one-time print to
//     Terminal. In Actions the runner would show that print as "***", so
//     nothing is printed there.
//
// A failing sink does not stop the others; their errors are joined. When no
// sink took the secret the error wraps errSecretUndelivered and the caller
// must revoke the client. Errors never contain the secret.
func DeliverSecret(s Sinks, clientID, secret string) (Published, error) {
	var pub Published
	var errs []error
	if s.GitHubActions {
		if err := s.masker().Mask(secret); err != nil {
			return pub, fmt.Errorf("mask client secret: %w", err)
		}
		if err := SetOutputs(s.getenv(EnvGitHubOutput), []KV{{OutputClientID, clientID}, {OutputClientSecret, secret}}); err != nil {
			errs = append(errs, fmt.Errorf("write step outputs: %w", err))
		} else {
			pub.SecretSinks = append(pub.SecretSinks, SinkGitHubOutput)
		}
		if s.ExportEnv {
			if err := SetEnv(s.getenv(EnvGitHubEnv), []KV{{OAuthClientIDEnv, clientID}, {OAuthClientSecretEnv, secret}}); err != nil {
				errs = append(errs, fmt.Errorf("export environment: %w", err))
			} else {
				pub.SecretSinks = append(pub.SecretSinks, SinkGitHubEnv)
			}
		}
	}
	if s.EnvFile != "" {
		res, err := UpdateDotenv(s.EnvFile, []KV{{OAuthClientIDEnv, clientID}, {OAuthClientSecretEnv, secret}})
		if err != nil {
			errs = append(errs, fmt.Errorf("write env file: %w", err))
		} else {
			pub.Dotenv = &res
			pub.SecretSinks = append(pub.SecretSinks, s.EnvFile)
		}
	}
	if len(pub.SecretSinks) == 0 {
		if s.GitHubActions {
			errs = append(errs, errSecretUndelivered)
		} else if err := printSecretOnce(s.Terminal, clientID, secret); err != nil {
			errs = append(errs, err, errSecretUndelivered)
		} else {
			pub.SecretSinks = append(pub.SecretSinks, SinkTerminal)
		}
	}
	return pub, errors.Join(errs...)
}

// RetractSecret blanks a delivered secret in the sinks that received it
// (as reported by DeliverSecret), when its client turned out to be dead:
// for outputs and environment the last record wins. A terminal print cannot
// be taken back; the caller says so.
func RetractSecret(s Sinks, delivered []string) error {
	var errs []error
	for _, sink := range delivered {
		switch sink {
		case SinkGitHubOutput:
			errs = append(errs, SetOutputs(s.getenv(EnvGitHubOutput), []KV{{OutputClientSecret, ""}}))
		case SinkGitHubEnv:
			errs = append(errs, SetEnv(s.getenv(EnvGitHubEnv), []KV{{OAuthClientSecretEnv, ""}}))
		case SinkTerminal:
		default: // the dotenv path
			_, err := UpdateDotenv(sink, []KV{{OAuthClientSecretEnv, ""}})
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Publish writes the run's non-secret results once, after the secret (if
// any) was delivered: in Actions the step outputs client-id, action and
// changed, with ExportEnv OAUTH_CLIENT_ID, and the job summary (with every
// masked value redacted); with EnvFile, OAUTH_CLIENT_ID in the dotenv file.
// A failing sink does not stop the others; the errors are joined.
func Publish(s Sinks, o Outcome) (Published, error) {
	var pub Published
	var errs []error
	if s.GitHubActions {
		outs := []KV{{OutputClientID, o.ClientID}, {OutputAction, o.Action}, {OutputChanged, strconv.FormatBool(o.Changed)}}
		if err := SetOutputs(s.getenv(EnvGitHubOutput), outs); err != nil {
			errs = append(errs, fmt.Errorf("write step outputs: %w", err))
		}
		if s.ExportEnv {
			if err := SetEnv(s.getenv(EnvGitHubEnv), []KV{{OAuthClientIDEnv, o.ClientID}}); err != nil {
				errs = append(errs, fmt.Errorf("export environment: %w", err))
			}
		}
		if o.Summary != "" {
			if err := AppendSummary(s.getenv(EnvGitHubStepSummary), s.masker().Redact(o.Summary)); err != nil {
				errs = append(errs, fmt.Errorf("write job summary: %w", err))
			}
		}
	}
	if s.EnvFile != "" {
		res, err := UpdateDotenv(s.EnvFile, []KV{{OAuthClientIDEnv, o.ClientID}})
		if err != nil {
			errs = append(errs, fmt.Errorf("write env file: %w", err))
		} else {
			pub.Dotenv = &res
		}
	}
	return pub, errors.Join(errs...)
}

// printSecretOnce is the sink of last resort. The id and secret come from the
// control plane, so they are neutralised to keep them on their own lines; a
// secret that safetext.Line would change is not printed verbatim (it would be
// wrong) but refused, since a real secret has no control characters.
func printSecretOnce(w io.Writer, clientID, secret string) error {
	if w == nil {
		return errors.New("client secret was issued but there is no sink and no terminal to print it to")
	}
	if safetext.Line(secret, len(secret)+1) != secret {
		return errors.New("client secret was issued but contains characters that cannot be printed safely; rotate it")
	}
	msg := "\nA new OAuth client secret was issued. It is shown only this once and is not stored anywhere;\n" +
		"save it now (or re-run with --env-file PATH to write it to a dotenv file):\n" +
		"  " + OAuthClientIDEnv + "=" + safetext.Line(clientID, 0) + "\n" +
		"  " + OAuthClientSecretEnv + "=" + secret + "\n\n"
	if _, err := io.WriteString(w, msg); err != nil {
		return fmt.Errorf("print client secret: %w", err)
	}
	return nil
}
