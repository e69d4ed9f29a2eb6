//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// errLocked is returned by lockJobs when another process holds the lock.
var errLocked = errors.New("held by another process")

// lockJobs takes the data dir's job lock: one process per data dir runs jobs (and requeues
// the jobs a crashed run left running). The kernel drops the lock when the process ends, so a
// crash never leaves it stale. Closing the returned file releases it.
func lockJobs(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("job lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("job lock %s: %w", path, err)
	}
	return f, nil
}
