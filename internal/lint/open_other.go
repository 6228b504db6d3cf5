//go:build !unix

package lint

import "os"

// openNoBlock opens a file for reading; outside Unix there are no FIFOs
// in the file system to block on.
func openNoBlock(name string) (*os.File, error) {
	return os.Open(name)
}
