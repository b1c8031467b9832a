//go:build !unix

package main

import "errors"

var errDataDirInUse = errors.New("the data directory is in use by another jmi")

// lockDataDir takes no lock where flock(2) does not exist: there, running
// one jmi per data directory is up to the user.
func lockDataDir(string) (func(), error) { return func() {}, nil }
