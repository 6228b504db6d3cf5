package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// terminalSink is the sink of last resort outside Actions: a labelled
// one-time print of the id and secret to a terminal (or, forced, to a
// redirected stderr: name then says where it went).
type terminalSink struct {
	w    io.Writer
	name string
}

func (s terminalSink) Name() string {
	if s.name == "" {
		return "terminal"
	}
	return s.name
}

// Check has nothing to ask: the caller passes a terminal only when there is
// one, or when the user forced the print.
func (terminalSink) Check(context.Context) error { return nil }

// Deliver prints the secret. The writer is the process's stderr Stream,
// which keeps the id (checked where it was decoded) inert like every other
// text and, as the one reveal of the run, does not redact the secret
// (safetext.WriteRevealed). A secret the Stream would show escaped is not
// printed (it would be wrong) but refused, since a real secret has no
// control characters.
func (s terminalSink) Deliver(_ context.Context, clientID, secret string) error {
	if safetext.HasControl(secret) || strings.Contains(secret, "##[") {
		return errors.New("client secret was issued but contains characters that cannot be printed safely; rotate it")
	}
	stored := "is not stored anywhere"
	if s.name != "" {
		stored = "is stored nowhere but here" // a forced print to a redirected stream
	}
	msg := "\nA new OAuth client secret was issued. It is shown only this once and " + stored + ";\n" +
		"save it now (or re-run with --env-file PATH to write it to a dotenv file):\n" +
		"  " + oauthClientIDEnv + "=" + clientID + "\n" +
		"  " + oauthClientSecretEnv + "=" + secret + "\n\n"
	if err := safetext.WriteRevealed(s.w, msg); err != nil {
		return fmt.Errorf("print client secret: %w", err)
	}
	return nil
}

// Retract cannot take a print back; it says not to use it.
func (s terminalSink) Retract(context.Context) error {
	_, err := io.WriteString(s.w, "takos-apply: the client secret printed above belongs to a revoked client; do not use it\n")
	return err
}

func (terminalSink) Publish(context.Context, Outcome) error { return nil }
