//go:build unix

package lint

import (
	"os"
	"syscall"
)

// openNoBlock opens a file for reading without blocking: a FIFO opened
// with O_NONBLOCK returns at once (and is then refused as not regular),
// where a plain open would wait for a writer forever. O_NOFOLLOW refuses
// a link swapped in after the path was checked.
func openNoBlock(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}
