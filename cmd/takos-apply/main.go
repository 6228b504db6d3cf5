// Command takos-apply validates a Takos app manifest and ships its OAuth
// client. All logic lives in internal/cli; main only hands over the process and
// makes the process-wide settings (signals, garbage collector) that Run
// must not.
package main

import (
	"context"
	"os"

	"github.com/takos-dev/takos-apply/internal/cli"
)

func main() {
	ctx, stop := cli.NotifyContext(context.Background())
	cli.PrepareProcess(os.Args[1:], os.Getenv)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
