package vault

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ParseKey decodes a base64 master key, standard or URL-safe alphabet, with
// or without padding; surrounding whitespace is ignored. Errors never echo
// the input, which is a secret.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("vault: key is empty")
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		key, err = enc.DecodeString(s)
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("vault: key is not valid base64 (standard or URL-safe alphabet)")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("vault: key must decode to %d bytes, got %d", KeySize, len(key))
	}
	return key, nil
}

// EncodeKey is the text form ParseKey reads and LoadOrCreateKeyFile writes.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// LoadOrCreateKeyFile reads the base64 master key at path, or, if there is
// no file, creates one with a fresh random key (file 0600, a missing parent
// directory 0700). created reports which happened.
//
// The new file appears atomically (written aside, then hard-linked into
// place), so a crash or a concurrent start never leaves an empty or half
// written key file, and two processes racing to create it agree on one key.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	key, err = readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("vault: create key directory: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("vault: generate key: %w", err)
	}

	// CreateTemp creates the file 0600, before any key byte is written.
	tmp, err := os.CreateTemp(dir, ".vault-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("vault: create key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if _, err := tmp.WriteString(EncodeKey(key) + "\n"); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("vault: write key file: %w", err)
	}
	// Without fsync a crash could leave the link pointing at an empty file
	// while data sealed with the key was already committed: unrecoverable.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("vault: sync key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("vault: write key file: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process won the race; use its key.
			key, err = readKeyFile(path)
			return key, false, err
		}
		return nil, false, fmt.Errorf("vault: install key file: %w", err)
	}
	syncDir(dir)
	return key, true, nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vault: read key file: %w", err)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return key, nil
}

// syncDir makes the new directory entry durable. Best effort: some
// platforms cannot fsync a directory, and the key itself is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
