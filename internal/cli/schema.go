package cli

import (
	"context"
	"fmt"

	"github.com/takos-dev/takos-apply/schema"
)

// runSchema prints the embedded JSON Schema, so editors can use exactly the
// rules this binary enforces (yaml-language-server reads it from a file).
func runSchema(ctx context.Context, e *env, args []string) int {
	fs := cmdFlagSet("schema")
	if code, ok := parseNoArgs(ctx, e, fs, "schema", args); !ok {
		return code
	}
	if _, err := e.stdout.Write(schema.JSON()); err != nil {
		fmt.Fprintf(e.stderr, "takos-apply schema: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}
