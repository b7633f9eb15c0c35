//go:build unix && !linux

package pgtest

import "syscall"

// sysProcAttr runs a child as cred (nil: as ourselves). There is no
// parent-death signal here: call Main (or Stop) so the server is stopped.
func sysProcAttr(cred *syscall.Credential, daemon bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: daemon}
}
