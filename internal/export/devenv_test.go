package export

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteDevEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("# mine\nPORT=3000\nOAUTH_CLIENT_ID=old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notes, err := WriteDevEnv(path, []KV{{"OAUTH_CLIENT_ID", "cid"}, {"OAUTH_CLIENT_SECRET", "s3cr3t"}, {"OAUTH_ISSUER", "http://127.0.0.1:8787"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 {
		t.Errorf("notes %q, want the mode warning", notes)
	}
	got, _ := os.ReadFile(path)
	want := "# mine\nPORT=3000\nOAUTH_CLIENT_ID='cid'\nOAUTH_CLIENT_SECRET='s3cr3t'\nOAUTH_ISSUER='http://127.0.0.1:8787'\n"
	if string(got) != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	// Only the fixed names: a name that would steer a later process is refused.
	for _, name := range []string{"PATH", "NODE_OPTIONS", "oauth_client_id"} {
		if _, err := WriteDevEnv(path, []KV{{name, "x"}}); !errors.Is(err, errNameNotAllowed) {
			t.Errorf("%s: %v, want errNameNotAllowed", name, err)
		}
	}
}
