/*
 * privsep: confinement after privileged setup (DESIGN.md), in this order:
 * chroot(2) to run_dir, drop to the configured user (setgroups, setgid,
 * setuid), PR_SET_NO_NEW_PRIVS, and a seccomp allow-list (libseccomp) made
 * of a base set every daemon needs (ZeroMQ, czmq, logging, memory, time)
 * plus the daemon's own extra syscalls.
 *
 * Started as a non-root user it logs that it skips these steps.
 * Forbidden syscalls trap: the handler logs the syscall number and aborts,
 * so a missing entry shows up plainly in the log.
 */
#ifndef RTPSEC_PRIVSEP_H
#define RTPSEC_PRIVSEP_H

#include "libcommon/config.h"

/* As root: chown an ipc:// endpoint's socket file to the run user so the
 * other daemons (already unprivileged) can connect.  No-op otherwise. */
void	privsep_own_endpoint(const struct config *, const char *endpoint);
/* extra: syscall names this daemon needs beyond the base set, NULL-ended.
 * fatal()s on failure when root (never runs half-confined). */
void	privsep_confine(const struct config *, const char *daemon,
	    const char *const *extra);

#endif
