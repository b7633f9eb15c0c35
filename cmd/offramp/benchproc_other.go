//go:build !linux

package main

import "syscall"

// benchSysProcAttr: outside Linux the embedded server runs with the
// defaults (no parent-death signal there).
func benchSysProcAttr() *syscall.SysProcAttr { return nil }
