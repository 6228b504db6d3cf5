package export

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dotenvSink is the --env-file dotenv file: OAUTH_CLIENT_ID and
// OAUTH_CLIENT_SECRET, other lines kept (writeDotenv).
type dotenvSink struct {
	path  string
	notes []string
}

func (s *dotenvSink) Name() string { return s.path }

// Check does what a write would, short of replacing the file: the path is
// not a symlink or a directory, an existing file can be read and rewritten
// (no value of ours spans several lines), and a temporary file can be
// created in its directory (writeAtomic's first step; it is removed at
// once).
func (s *dotenvSink) Check(context.Context) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("env file %s: %w", s.path, err)
	}
	return nil
}

func (s *dotenvSink) check() error {
	if s.path == "" {
		return errors.New("the path is empty")
	}
	fi, err := os.Lstat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return unwrapPath(err)
	case !fi.Mode().IsRegular():
		return errUnsafeDotenvPath
	default:
		root, err := os.OpenRoot(filepath.Dir(s.path))
		if err != nil {
			return unwrapPath(err)
		}
		defer root.Close()
		old, _, _, err := readDotenv(root, filepath.Base(s.path), s.path)
		if err != nil {
			return err
		}
		kv := []KV{{oauthClientIDEnv, ""}, {oauthClientSecretEnv, ""}}
		if _, _, err := rewriteDotenv(old, kv, map[string]string{oauthClientIDEnv: "", oauthClientSecretEnv: ""}); err != nil {
			return err
		}
	}
	dir := filepath.Dir(s.path)
	fi, err = os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist: create it, or choose a path in an existing directory", dir)
	case err != nil:
		return fmt.Errorf("directory %s: %w", dir, unwrapPath(err))
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".check-*")
	if err != nil {
		return fmt.Errorf("cannot create a file in %s: %w", dir, unwrapPath(err))
	}
	name := tmp.Name()
	tmp.Close()
	return os.Remove(name)
}

func (s *dotenvSink) Deliver(_ context.Context, clientID, secret string) error {
	return s.update("write env file", []KV{{oauthClientIDEnv, clientID}, {oauthClientSecretEnv, secret}})
}

func (s *dotenvSink) Retract(context.Context) error {
	return s.update("blank the secret in the env file", []KV{{oauthClientSecretEnv, ""}})
}

func (s *dotenvSink) Publish(_ context.Context, o Outcome) error {
	return s.update("write env file", []KV{{oauthClientIDEnv, o.ClientID}})
}

func (s *dotenvSink) update(what string, kv []KV) error {
	res, err := writeDotenv(s.path, kv)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if res.TightenedFrom != 0 {
		// The secret is now in a 0600 file, but earlier contents may have
		// been read.
		s.notes = append(s.notes, fmt.Sprintf("warning: %s was mode %04o; it is now 0600", s.path, res.TightenedFrom))
	}
	return nil
}

func (s *dotenvSink) takeNotes() []string {
	n := s.notes
	s.notes = nil
	return n
}

// unwrapPath drops an *fs.PathError's operation and path, which the
// message around it already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
