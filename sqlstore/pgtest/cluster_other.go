//go:build !unix

package pgtest

import "errors"

func throwaway() (*server, error) {
	return nil, errors.New("a throwaway PostgreSQL cluster needs a Unix system; set " + EnvURL)
}
