package cli

import (
	"context"
	"flag"

	"github.com/takos-dev/takos-apply/schema"
)

var schemaCommand = &command{
	name:    "schema",
	usage:   "schema",
	summary: "print the embedded JSON Schema of app.yml",
	help:    schemaHelp,
	signals: signalAbandon,
	setup: func(e *env, _ *flag.FlagSet) action {
		return action{run: func(context.Context, []string) int { return runSchema(e) }}
	},
}

// runSchema prints the embedded JSON Schema, so editors can use exactly the
// rules this binary enforces (yaml-language-server reads it from a file).
func runSchema(e *env) int {
	if _, err := e.stdout.Write(schema.JSON()); err != nil {
		e.errorf("schema", "%v", err)
		return ExitFailure
	}
	return ExitOK
}
