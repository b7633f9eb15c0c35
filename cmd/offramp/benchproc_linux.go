package main

import "syscall"

// benchSysProcAttr puts the embedded server in its own process group (a
// Ctrl-C at the terminal reaches only the bench, which then stops the
// server itself) and has the kernel kill it if the bench dies first.
func benchSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
