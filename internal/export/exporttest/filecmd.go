// Package exporttest holds test helpers for code that writes GitHub Actions
// file commands: a reference parser of the runner's format, shared by the
// export package's tests and the CLI's end-to-end tests.
package exporttest

import (
	"errors"
	"fmt"
	"strings"
)

// Record is one name/value pair read back from a file-command file.
type Record struct {
	Name  string
	Value string
}

// ParseFileCommands is a reference parser of the runner's file-command format,
// transcribed from actions/runner src/Runner.Worker/FileCommandManager.cs
// (Linux ReadLine: lines end at "\n" only). It accepts both NAME=VALUE and
// NAME<<DELIM ... DELIM records and returns them in order.
func ParseFileCommands(text string) ([]Record, error) {
	var out []Record
	idx := 0
	readLine := func() (line string, nl bool, ok bool) {
		if idx >= len(text) {
			return "", false, false
		}
		start := idx
		lf := strings.IndexByte(text[idx:], '\n')
		if lf < 0 {
			idx = len(text)
			return text[start:], false, true
		}
		idx += lf + 1
		return text[start : start+lf], true, true
	}
	for {
		line, _, ok := readLine()
		if !ok {
			return out, nil
		}
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			k, v, _ := strings.Cut(line, "=")
			if k == "" {
				return nil, fmt.Errorf("invalid format %q", line)
			}
			out = append(out, Record{k, v})
		case hd >= 0 && (eq < 0 || hd < eq):
			k, delim, _ := strings.Cut(line, "<<")
			if k == "" || delim == "" {
				return nil, fmt.Errorf("invalid format %q", line)
			}
			start, end := idx, idx
			for {
				l, nl, ok := readLine()
				if !ok {
					return nil, fmt.Errorf("matching delimiter not found %q", delim)
				}
				if l == delim {
					break
				}
				if !nl {
					return nil, errors.New("EOF marker missing new line")
				}
				end = idx - 1
			}
			out = append(out, Record{k, text[start:end]})
		default:
			return nil, fmt.Errorf("invalid format %q", line)
		}
	}
}
