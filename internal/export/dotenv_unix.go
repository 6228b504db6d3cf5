//go:build unix

package export

import "syscall"

// openNoFollow are the flags readDotenv adds when it opens the dotenv file:
// a symlink is not followed, and a FIFO swapped in does not block the open.
const openNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
