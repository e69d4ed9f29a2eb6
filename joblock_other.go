//go:build !unix

package main

import (
	"errors"
	"os"
)

var errLocked = errors.New("held by another process")

// lockJobs has no cross-process lock on this platform: every process runs jobs. Run one
// tradeconsole per data dir.
func lockJobs(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
}
