package pgtest

import "syscall"

// sysProcAttr runs a child as cred (nil: as ourselves). A server
// (daemon) also gets SIGQUIT (immediate shutdown) when the thread that
// started it ends, so that it never outlives the test process, and its own
// process group, so that a ^C meant for the tests does not reach it first.
func sysProcAttr(cred *syscall.Credential, daemon bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Credential: cred}
	if daemon {
		a.Pdeathsig = syscall.SIGQUIT
		a.Setpgid = true
	}
	return a
}
