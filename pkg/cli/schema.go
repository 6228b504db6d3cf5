package cli

import (
	"fmt"

	"github.com/takos-dev/takos-apply/schema"
)

// runSchema prints the embedded JSON Schema, so editors can use exactly the
// rules this binary enforces (yaml-language-server reads it from a file).
func runSchema(e *env, args []string) int {
	fs := newFlagSet(e, "schema", "schema")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "takos-apply schema: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	if _, err := e.stdout.Write(schema.JSON()); err != nil {
		fmt.Fprintf(e.stderr, "takos-apply schema: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}
