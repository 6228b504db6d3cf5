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
	pos, code, ok := parseArgs(ctx, e, fs, "schema", args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(e.stderr, "takos-apply schema: unexpected argument %q\n", pos[0])
		return ExitUsage
	}
	if _, err := e.stdout.Write(schema.JSON()); err != nil {
		fmt.Fprintf(e.stderr, "takos-apply schema: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}
