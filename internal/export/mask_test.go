package export

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
)

// unescapeCommandData mirrors the runner's ActionCommand.UnescapeData.
func unescapeCommandData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func TestMasker(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    string
		wantErr []error // per value
	}{
		{
			name:   "order kept",
			values: []string{"tok-2", "tok-1", "tok-3"},
			want:   "::add-mask::tok-2\n::add-mask::tok-1\n::add-mask::tok-3\n",
		},
		{
			name:   "dedupe",
			values: []string{"a-secret", "b-secret", "a-secret", "b-secret"},
			want:   "::add-mask::a-secret\n::add-mask::b-secret\n",
		},
		{
			name:   "empty ignored",
			values: []string{"", "x-secret", ""},
			want:   "::add-mask::x-secret\n",
		},
		{
			name:    "LF refused",
			values:  []string{"line1\nline2", "ok"},
			want:    "::add-mask::ok\n",
			wantErr: []error{errMultilineSecret, nil},
		},
		{
			name:    "CR refused",
			values:  []string{"a\rb", "trailing\r"},
			want:    "",
			wantErr: []error{errMultilineSecret, errMultilineSecret},
		},
		{
			name:   "percent escaped",
			values: []string{"ab%0Acd%25"},
			want:   "::add-mask::ab%250Acd%2525\n",
		},
		{
			name:   "command-looking secret stays data",
			values: []string{"::error::x"},
			want:   "::add-mask::::error::x\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			m := NewMasker(&buf)
			for i, v := range tc.values {
				var want error
				if tc.wantErr != nil {
					want = tc.wantErr[i]
				}
				err := m.Mask(v)
				if !errors.Is(err, want) {
					t.Errorf("Mask(%q) = %v, want %v", v, err, want)
				}
				if err != nil && strings.Contains(err.Error(), v) {
					t.Errorf("Mask(%q) error %q contains the value", v, err)
				}
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("Mask(%q) wrote %q, want %q", tc.values, got, tc.want)
			}
		})
	}
}

func TestMaskerRunnerRoundTrip(t *testing.T) {
	for _, v := range []string{"plain", "a%0Ab", "%25", "100%", "%0D%0A"} {
		var buf bytes.Buffer
		if err := NewMasker(&buf).Mask(v); err != nil {
			t.Fatal(err)
		}
		data := strings.TrimSuffix(strings.TrimPrefix(buf.String(), "::add-mask::"), "\n")
		if got := unescapeCommandData(data); got != v {
			t.Errorf("Mask(%q): runner registers %q, want %q", v, got, v)
		}
	}
}

type failWriter struct{ fail bool }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.fail {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

// TestMaskerWriteFailureRetried: a mask that could not be written is not
// recorded as masked, so the next Mask writes it; the value is registered
// all the same, so every redactor hides it meanwhile.
func TestMaskerWriteFailureRetried(t *testing.T) {
	w := &failWriter{fail: true}
	m := NewMasker(w)
	if err := m.Mask("s3cr3t"); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("Mask on failing writer = %v, want an error without the value", err)
	}
	if got := m.Redact("s3cr3t"); got != "***" {
		t.Errorf("Redact after failed Mask = %q, want the value redacted", got)
	}
	var buf bytes.Buffer
	m.w = &buf
	if err := m.Mask("s3cr3t"); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "::add-mask::s3cr3t\n" {
		t.Errorf("Mask retry wrote %q, want the add-mask line", buf.String())
	}
}

func TestMaskerConcurrent(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	m := NewMasker(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}))
	vals := []string{"alpha", "beta", "gamma"}
	var wg sync.WaitGroup
	for range 32 {
		for _, v := range vals {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := m.Mask(v); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	for _, v := range vals {
		if n := strings.Count(buf.String(), "::add-mask::"+v+"\n"); n != 1 {
			t.Errorf("Mask(%q) written %d times, want 1", v, n)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRedact(t *testing.T) {
	m := NewMasker(&bytes.Buffer{})
	for _, v := range []string{"abc", "abcdef", "zz"} {
		if err := m.Mask(v); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ in, want string }{
		{"no secrets", "no secrets"},
		{"x abcdef y", "x *** y"}, // the longer secret first, so no "***def"
		{"abc zz abc", "*** *** ***"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := m.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Overlapping values of equal length are replaced in registration
	// order (the sort is stable), so the result is deterministic.
	for _, tc := range []struct {
		order []string
		want  string
	}{
		{[]string{"ab", "bc"}, "***c"},
		{[]string{"bc", "ab"}, "a***"},
	} {
		m := NewMasker(&bytes.Buffer{})
		for _, v := range tc.order {
			if err := m.Mask(v); err != nil {
				t.Fatal(err)
			}
		}
		if got := m.Redact("abc"); got != tc.want {
			t.Errorf("Redact(%q) after masking %q = %q, want %q", "abc", tc.order, got, tc.want)
		}
	}
}
