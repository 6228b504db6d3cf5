//go:build !unix

package export

// openNoFollow: the system has no O_NOFOLLOW; readDotenv's comparison of
// the opened file with the checked one still refuses a swapped file.
const openNoFollow = 0
