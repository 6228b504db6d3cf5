package export

import (
	"fmt"
	"strconv"
)

// Step output names written by the outputs sink.
const (
	OutputClientID     = "client-id"
	OutputClientSecret = "client-secret"
	OutputAction       = "action"
	OutputChanged      = "changed"
)

// outputsSink is the step outputs file (GITHUB_OUTPUT): client-id and
// client-secret on delivery; client-id, action and changed when published.
type outputsSink struct{ path string }

func (outputsSink) Name() string { return EnvGitHubOutput }

func (s outputsSink) Deliver(clientID, secret string) error {
	if err := SetOutputs(s.path, []KV{{OutputClientID, clientID}, {OutputClientSecret, secret}}); err != nil {
		return fmt.Errorf("write step outputs: %w", err)
	}
	return nil
}

func (s outputsSink) Retract() error {
	return SetOutputs(s.path, []KV{{OutputClientSecret, ""}})
}

func (s outputsSink) Publish(o Outcome) error {
	outs := []KV{{OutputClientID, o.ClientID}, {OutputAction, o.Action}, {OutputChanged, strconv.FormatBool(o.Changed)}}
	if err := SetOutputs(s.path, outs); err != nil {
		return fmt.Errorf("write step outputs: %w", err)
	}
	return nil
}
