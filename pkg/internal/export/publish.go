package export

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// ErrSecretUndelivered reports that a newly issued secret reached no sink.
var ErrSecretUndelivered = errors.New("the new client secret reached no sink")

// Step output names written by Publish.
const (
	OutputClientID     = "client-id"
	OutputClientSecret = "client-secret"
	OutputAction       = "action"
	OutputChanged      = "changed"
)

// Outcome is what one takos-apply run exports.
type Outcome struct {
	ClientID string
	// ClientSecret is set only when the control plane issued a secret in this
	// run; it is then exported once and never persisted by takos-apply.
	ClientSecret string
	// Action is the apply action (for example "create", "update", "none").
	Action  string
	Changed bool
	// Summary is the plan rendered as Markdown (see MarkdownTable). It must
	// not contain secrets; Publish also redacts every masked value from it.
	Summary string
}

// Sinks configures where Publish writes.
type Sinks struct {
	// Stdout is the step's standard output (add-mask commands, fallback print).
	Stdout io.Writer
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

// Published reports what Publish did, for the caller's log.
type Published struct {
	// SecretSinks names the sinks that received the new secret
	// ("GITHUB_OUTPUT", "GITHUB_ENV", the dotenv path, or "stdout").
	SecretSinks []string
	// Dotenv is the dotenv update result when EnvFile was written.
	Dotenv *DotenvResult
}

// Publish exports o to the configured sinks, in this order:
//
//  1. In Actions, the new secret is masked before anything else is written;
//     if masking fails nothing else is written.
//  2. In Actions, step outputs client-id, client-secret (only when issued),
//     action and changed ("true"/"false"); then, with ExportEnv, GITHUB_ENV
//     OAUTH_CLIENT_ID and (when issued) OAUTH_CLIENT_SECRET; then the summary.
//  3. With EnvFile, the dotenv file.
//  4. If a secret was issued and no sink took it, it is printed once to
//     Stdout with a clear label, so it is never silently lost. In Actions,
//     where the runner would show the print as "***", nothing is printed and
//     the error wraps ErrSecretUndelivered instead.
//
// A failing sink does not stop the others; the errors are joined. Errors never
// contain the secret.
func Publish(s Sinks, o Outcome) (Published, error) {
	var pub Published
	getenv := s.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	m := s.Masker
	if m == nil {
		m = NewMasker(s.Stdout)
	}
	issued := o.ClientSecret != ""
	var errs []error

	if s.GitHubActions {
		if err := m.Mask(o.ClientSecret); err != nil {
			return pub, fmt.Errorf("mask client secret: %w", err)
		}
		outs := []KV{{OutputClientID, o.ClientID}}
		if issued {
			outs = append(outs, KV{OutputClientSecret, o.ClientSecret})
		}
		outs = append(outs, KV{OutputAction, o.Action}, KV{OutputChanged, strconv.FormatBool(o.Changed)})
		if err := SetOutputs(getenv(EnvGitHubOutput), outs); err != nil {
			errs = append(errs, fmt.Errorf("write step outputs: %w", err))
		} else if issued {
			pub.SecretSinks = append(pub.SecretSinks, EnvGitHubOutput)
		}
		if s.ExportEnv {
			if err := SetEnv(getenv(EnvGitHubEnv), envPairs(o)); err != nil {
				errs = append(errs, fmt.Errorf("export environment: %w", err))
			} else if issued {
				pub.SecretSinks = append(pub.SecretSinks, EnvGitHubEnv)
			}
		}
		if o.Summary != "" {
			if err := AppendSummary(getenv(EnvGitHubStepSummary), m.Redact(o.Summary)); err != nil {
				errs = append(errs, fmt.Errorf("write job summary: %w", err))
			}
		}
	}

	if s.EnvFile != "" {
		res, err := UpdateDotenv(s.EnvFile, envPairs(o))
		if err != nil {
			errs = append(errs, fmt.Errorf("write env file: %w", err))
		} else {
			pub.Dotenv = &res
			if issued {
				pub.SecretSinks = append(pub.SecretSinks, s.EnvFile)
			}
		}
	}

	if issued && len(pub.SecretSinks) == 0 {
		if s.GitHubActions {
			// The runner masks the print to "***", so in a workflow log
			// it would reach no one: report the secret as undelivered so
			// the caller revokes its client instead of orphaning it.
			return pub, errors.Join(append(errs, ErrSecretUndelivered)...)
		}
		if err := printSecretOnce(s.Stdout, o); err != nil {
			errs = append(errs, err)
		} else {
			pub.SecretSinks = append(pub.SecretSinks, "stdout")
		}
	}
	return pub, errors.Join(errs...)
}

func envPairs(o Outcome) []KV {
	kv := []KV{{OAuthClientIDEnv, o.ClientID}}
	if o.ClientSecret != "" {
		kv = append(kv, KV{OAuthClientSecretEnv, o.ClientSecret})
	}
	return kv
}

// printSecretOnce is the sink of last resort. The id and secret come from the
// control plane, so they are neutralised to keep them on their own lines; a
// secret that safetext.Line would change is not printed verbatim (it would be
// wrong) but refused, since a real secret has no control characters.
func printSecretOnce(w io.Writer, o Outcome) error {
	if w == nil {
		return errors.New("client secret was issued but there is no sink and no stdout to print it to")
	}
	if safetext.Line(o.ClientSecret, len(o.ClientSecret)+1) != o.ClientSecret {
		return errors.New("client secret was issued but contains characters that cannot be printed safely; rotate it")
	}
	msg := "\nA new OAuth client secret was issued. It is shown only this once and is not stored anywhere;\n" +
		"save it now (or re-run with --env-file PATH to write it to a dotenv file):\n" +
		"  " + OAuthClientIDEnv + "=" + safetext.Line(o.ClientID, 0) + "\n" +
		"  " + OAuthClientSecretEnv + "=" + o.ClientSecret + "\n\n"
	if _, err := io.WriteString(w, msg); err != nil {
		return fmt.Errorf("print client secret: %w", err)
	}
	return nil
}
