package export

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// delimiterPrefix matches @actions/core, so a value that tries to forge any
// toolkit-style delimiter is easy to spot in reviews and tests.
const delimiterPrefix = "ghadelimiter_"

// setOutputs appends step outputs to the GITHUB_OUTPUT file at path (the
// caller passes getenv("GITHUB_OUTPUT")). See setEnv for the record format and
// checks; names must match ^[A-Za-z_][A-Za-z0-9_-]*$. An empty path returns
// *missingEnvError{Name: "GITHUB_OUTPUT"}.
func setOutputs(path string, kv []KV) error {
	return writeFileCommand(envGitHubOutput, path, kv, nil)
}

// setEnv appends environment variables for later steps to the GITHUB_ENV file
// at path. Every name must pass isAllowedEnvName. An empty path returns
// *missingEnvError{Name: "GITHUB_ENV"}.
//
// Each record is written as "name<<DELIM\nvalue\nDELIM\n" with a fresh
// delimiter "ghadelimiter_" + 32 hex digits from crypto/rand. A name or value
// containing its delimiter is refused (the CVE-2022-35954 injection), as is a
// value that is not valid UTF-8 (the runner decodes the file as UTF-8, so the
// value would not round-trip) or that contains CR (a Windows runner treats
// CRLF as a line end and would drop the CR). All records are validated before
// anything is written, then the whole batch is written with a single write()
// on a file opened O_WRONLY|O_APPEND — never created, because the runner
// creates these files and a missing one means a wrong path.
func setEnv(path string, kv []KV) error {
	return writeFileCommand(envGitHubEnv, path, kv, isAllowedEnvName)
}

func writeFileCommand(variable, path string, kv []KV, allowed func(string) bool) error {
	if path == "" {
		return &missingEnvError{Name: variable}
	}
	if len(kv) == 0 {
		return nil
	}
	if err := validateKVs(kv, kvRules{label: variable + " name", name: outputNameRE, allowed: allowed}); err != nil {
		return err
	}
	var buf strings.Builder
	for _, p := range kv {
		delim, err := newDelimiter()
		if err != nil {
			return err
		}
		rec, err := fileCommandRecord(p.Name, p.Value, delim)
		if err != nil {
			return fmt.Errorf("%s name %q: %w", variable, p.Name, err)
		}
		buf.WriteString(rec)
	}
	return appendOnce(variable, path, buf.String())
}

// fileCommandRecord formats one heredoc record of a pair validateKVs
// accepted; delim must be fresh per record.
func fileCommandRecord(name, value, delim string) (string, error) {
	// Unreachable with a random 128-bit delimiter unless the value was built to
	// collide; checked anyway because the check is the security boundary.
	if strings.Contains(name, delim) {
		return "", fmt.Errorf("name %w", errContainsDelimiter)
	}
	if strings.Contains(value, delim) {
		return "", fmt.Errorf("value %w", errContainsDelimiter)
	}
	return name + "<<" + delim + "\n" + value + "\n" + delim + "\n", nil
}

func newDelimiter() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate delimiter: %w", err)
	}
	return delimiterPrefix + hex.EncodeToString(b[:]), nil
}

// appendOnce opens an existing file for appending and writes data with one
// Write call, so concurrent appenders cannot interleave inside it.
func appendOnce(variable, path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open %s file: %w", variable, err)
	}
	n, werr := io.WriteString(f, data)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("write %s file: %w", variable, werr)
	}
	if n != len(data) {
		return fmt.Errorf("write %s file: %w", variable, io.ErrShortWrite)
	}
	if cerr != nil {
		return fmt.Errorf("close %s file: %w", variable, cerr)
	}
	return nil
}

// checkAppend is the preflight of a file-command file: the runner variable
// is set and names a file this process can open for appending, as
// appendOnce does. It opens and closes the file and writes nothing.
func checkAppend(variable, path string) error {
	if path == "" {
		return &missingEnvError{Name: variable}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("%s file %s cannot be opened for appending: %w", variable, path, unwrapPath(err))
	}
	return f.Close()
}
