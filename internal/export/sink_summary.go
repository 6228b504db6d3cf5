package export

import (
	"context"
	"fmt"
)

// summaryPublisher appends the result to the job summary
// (GITHUB_STEP_SUMMARY); Multi has redacted every registered secret from
// it. It never receives the secret.
type summaryPublisher struct {
	path string
}

func (s summaryPublisher) Check(context.Context) error {
	return checkAppend(envGitHubStepSummary, s.path)
}

func (s summaryPublisher) Publish(_ context.Context, o Outcome) error {
	if o.Summary == "" {
		return nil
	}
	if err := appendSummary(s.path, o.Summary); err != nil {
		return fmt.Errorf("write job summary: %w", err)
	}
	return nil
}
