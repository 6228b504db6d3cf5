package safetext

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Secrets is a run's secret registry: every credential the run holds is
// registered once, the moment it exists, and every redactor reads this one
// set. The CLI makes one per run and hands it to auth (the PAT, the GitHub
// request token and JWT, exchanged and Google tokens), to apply (the client
// secret and registration access token), to the broker (its own credential;
// the access tokens it issues are redacted by their shape), to both Streams of the process and to export (the job
// summary, the non-secret step outputs). In GitHub Actions, MaskWith attaches
// the runner's "::add-mask::" writer: a new value is masked before Add
// returns, so before anything else can write it.
//
// Redact replaces the values longest first, because a shorter secret inside
// a longer one (a token and its bare signature, a header value and the token
// it carries) replaced first would leave the rest of the longer one visible;
// equal lengths keep the order of Add, so the result depends on nothing but
// the values. It then replaces what is shaped like a credential whatever its
// value (credentialShape). The zero value is empty and ready; a Secrets is
// safe for concurrent use.
type Secrets struct {
	mu     sync.Mutex
	vals   []string        // longest first
	count  atomic.Int32    // len(vals), read without mu by redactLine
	masked map[string]bool // values the mask hook took
	mask   func(string) error

	// maskMu serialises the mask hook, so each value is masked once even
	// when goroutines add it together; mu is not held during the hook,
	// which writes to a Stream that redacts through this registry.
	maskMu sync.Mutex
}

// Add registers v and reports whether it was new; "" is ignored, and so is
// everything on a nil Secrets (no registry). With a mask hook (MaskWith), v
// is masked before Add returns; a failed mask is tried again by the next
// Add or Mask of v, and v is redacted meanwhile.
func (s *Secrets) Add(v string) bool {
	isNew := s.insert(v)
	_ = s.ensureMasked(v)
	return isNew
}

// Mask is Add for a caller that must not go on when the value could not
// be masked (a sink about to write it): it returns the hook's error.
func (s *Secrets) Mask(v string) error {
	s.insert(v)
	return s.ensureMasked(v)
}

// MaskWith makes mask the hook that registers a value with the GitHub
// Actions runner (export.Masker writes "::add-mask::"). The values
// registered so far are masked now; the first error is returned.
func (s *Secrets) MaskWith(mask func(string) error) error {
	s.mu.Lock()
	s.mask = mask
	vals := slices.Clone(s.vals)
	s.mu.Unlock()
	var first error
	for _, v := range vals {
		if err := s.ensureMasked(v); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// insert records v and reports whether it was new.
func (s *Secrets) insert(v string) bool {
	if v == "" || s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.vals, v) {
		return false
	}
	// The insertion point after every value at least as long keeps the
	// order stable for equal lengths.
	i, _ := slices.BinarySearchFunc(s.vals, len(v), func(e string, n int) int {
		if len(e) >= n {
			return -1
		}
		return 1
	})
	s.vals = slices.Insert(s.vals, i, v)
	s.count.Add(1)
	return true
}

func (s *Secrets) ensureMasked(v string) error {
	if v == "" || s == nil {
		return nil
	}
	s.mu.Lock()
	pending := s.mask != nil && !s.masked[v]
	s.mu.Unlock()
	if !pending {
		return nil
	}
	s.maskMu.Lock()
	defer s.maskMu.Unlock()
	s.mu.Lock()
	mask, done := s.mask, s.masked[v] || !slices.Contains(s.vals, v)
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := mask(v); err != nil {
		return err
	}
	s.mu.Lock()
	if s.masked == nil {
		s.masked = map[string]bool{}
	}
	s.masked[v] = true
	s.mu.Unlock()
	return nil
}

// Contains reports whether v is registered.
func (s *Secrets) Contains(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.vals, v)
}

// maxLen is the length of the longest value, 0 when there is none.
func (s *Secrets) maxLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.vals) == 0 {
		return 0
	}
	return len(s.vals[0])
}

// Redact returns text with every registered value replaced by with,
// longest first, and then every credential-shaped string (credentialShape).
// A nil Secrets redacts by shape only.
func (s *Secrets) Redact(text, with string) string {
	if s != nil && s.count.Load() > 0 {
		s.mu.Lock()
		for _, v := range s.vals {
			text = strings.ReplaceAll(text, v, with)
		}
		s.mu.Unlock()
	}
	if !hasShape(text) {
		return text
	}
	return credentialShape().ReplaceAllString(text, with)
}

// RedactEscaped is Redact for text that holds the values as escape writes
// them (a Markdown table cell escapes punctuation): each escape(v) is
// replaced by escapedWith, then Redact runs with with.
func (s *Secrets) RedactEscaped(text, with, escapedWith string, escape func(string) string) string {
	s.mu.Lock()
	for _, v := range s.vals {
		if e := escape(v); e != v {
			text = strings.ReplaceAll(text, e, escapedWith)
		}
	}
	s.mu.Unlock()
	return s.Redact(text, with)
}

// redactLine is Redact for a Stream's line: line itself when there is
// nothing to redact, found without a lock or a copy when no value is
// registered, which is every line of a lint run.
func (s *Secrets) redactLine(line []byte, with string) []byte {
	// The line is only read while hasShape runs, so it is viewed as a
	// string in place rather than copied.
	if s.count.Load() == 0 && !hasShape(unsafe.String(unsafe.SliceData(line), len(line))) {
		return line
	}
	text := string(line)
	if r := s.Redact(text, with); r != text {
		return []byte(r)
	}
	return line
}

// cutOutside moves cut back to the start of any registered value that b
// holds across it, so that splitting b at the result cuts no secret in two.
func (s *Secrets) cutOutside(b []byte, cut int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for moved := true; moved && cut > 0; {
		moved = false
		for _, v := range s.vals {
			lo := max(0, cut-len(v)+1)
			hi := min(len(b), cut+len(v)-1)
			if hi-lo < len(v) {
				continue
			}
			if i := bytes.Index(b[lo:hi], []byte(v)); i >= 0 {
				cut, moved = lo+i, true
				break
			}
		}
	}
	return cut
}

// patPrefix starts every Takos PAT, brokerPrefix every access token the
// broker issues (broker.AccessTokenPrefix).
const (
	patPrefix    = "tak_pat_"
	brokerPrefix = "takb_"
)

// hasShape reports whether text may hold a credentialShape: a "tak_pat_",
// a "takb_" or an "eyJ". It looks for the rare bytes 'k' and 'J' first,
// which is several times faster than searching for the prefixes on log
// lines.
func hasShape(text string) bool {
	for _, c := range []byte{'k', 'J'} {
		for i := 0; ; i++ {
			j := strings.IndexByte(text[i:], c)
			if j < 0 {
				break
			}
			i += j
			if c == 'J' && i >= 2 && text[i-2:i] == "ey" ||
				c == 'k' && i >= 2 && (strings.HasPrefix(text[i-2:], patPrefix) || strings.HasPrefix(text[i-2:], brokerPrefix)) {
				return true
			}
		}
	}
	return false
}

// credentialShape matches what must never be shown whatever its value: a
// Takos PAT, an access token of the broker and anything shaped like a JWS
// (three base64url parts, the first a JSON header). It is compiled on first use: most runs never need it.
var credentialShape = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`tak_pat_[A-Za-z0-9_\-]+|takb_[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+|eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*`)
})
