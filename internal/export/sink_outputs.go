package export

import (
	"context"
	"fmt"
	"strconv"
)

// Step output names written by the outputs sink.
const (
	outputClientID     = "client-id"
	outputClientSecret = "client-secret"
	outputAction       = "action"
	outputChanged      = "changed"
	outputSpaceID      = "space-id"
	outputRollout      = "rollout"
)

// outputsSink is the step outputs file (GITHUB_OUTPUT): client-id and
// client-secret on delivery; client-id, action and changed when published,
// and space-id and rollout when the run stores the credentials in Takos.
type outputsSink struct{ path string }

func (outputsSink) Name() string { return envGitHubOutput }

func (s outputsSink) Check(context.Context) error { return checkAppend(envGitHubOutput, s.path) }

func (s outputsSink) Deliver(_ context.Context, clientID, secret string) error {
	if err := setOutputs(s.path, []KV{{outputClientID, clientID}, {outputClientSecret, secret}}); err != nil {
		return fmt.Errorf("write step outputs: %w", err)
	}
	return nil
}

func (s outputsSink) Retract(context.Context) error {
	return setOutputs(s.path, []KV{{outputClientSecret, ""}})
}

func (s outputsSink) Publish(_ context.Context, o Outcome) error {
	outs := []KV{{outputClientID, o.ClientID}, {outputAction, o.Action}, {outputChanged, strconv.FormatBool(o.Changed)}}
	if o.SpaceID != "" {
		outs = append(outs, KV{outputSpaceID, o.SpaceID}, KV{outputRollout, o.Rollout})
	}
	if err := setOutputs(s.path, outs); err != nil {
		return fmt.Errorf("write step outputs: %w", err)
	}
	return nil
}
