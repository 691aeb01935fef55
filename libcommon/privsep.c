/*
 * privsep: chroot + unprivileged user + no_new_privs + seccomp, the Linux
 * counterpart of OpenBSD's chroot + pledge (DESIGN.md, "Daemons and trust
 * boundaries").  See privsep.h.
 *
 * The base allow-list covers what every daemon's libraries do after start-up:
 * libzmq's I/O threads (epoll, eventfd, unix and TCP sockets), czmq, glibc's
 * malloc and threads, time, logging.  Files can still be opened, but only
 * inside the chroot, which is root-owned and holds nothing but sockets.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libcommon/log.h"
#include "libcommon/privsep.h"

static const char *const base_syscalls[] = {
	/* memory, threads, signals */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	"futex", "clone", "clone3", "set_robust_list", "rseq",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"exit", "exit_group", "tgkill", "gettid", "getpid", "prctl",
	"sched_yield", "sched_getaffinity", "restart_syscall", "getrlimit",
	"prlimit64", "getrandom", "uname", "sysinfo",
	"getuid", "geteuid", "getgid", "getegid",
	/* a libzmq thread reads and re-applies its scheduling parameters
	 * when it starts (pthread_getschedparam/setschedparam); one that
	 * gets to run only after the filter is in place must not be killed
	 * (unprivileged: no real-time priority can be gained) */
	"sched_getparam", "sched_getscheduler", "sched_setscheduler",
	/* time */
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
	"time", "clock_getres",
	/* files, inside the chroot only */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close",
	"fstat", "newfstatat", "lseek", "fcntl", "ioctl", "openat",
	"unlink", "unlinkat", "dup", "dup2", "dup3", "statx",
	/* polling and IPC (libzmq's reaper and I/O threads) */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	"poll", "ppoll", "select", "pselect6", "eventfd2", "pipe2",
	"socket", "socketpair", "connect", "accept", "accept4", "bind",
	"listen", "getsockname", "getpeername", "setsockopt", "getsockopt",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
	NULL
};

static void
on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	char	 msg[96];
	int	 n;

	(void)sig;
	(void)ctx;
	n = snprintf(msg, sizeof(msg),
	    "seccomp: forbidden system call %d, exiting\n", si->si_syscall);
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n);
	_exit(70);
}

static int
allow(scmp_filter_ctx ctx, const char *name)
{
	int	 nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR) {
		log_debug("seccomp: no system call %s on this platform", name);
		return 0;
	}
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static void
install_seccomp(const char *daemon, const char *const *extra)
{
	scmp_filter_ctx		 ctx;
	struct sigaction	 sa;
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sigaction SIGSYS");

	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		fatalx("seccomp_init failed");
	/* apply to every thread already running (libzmq's) */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0)
		fatalx("seccomp: cannot synchronise threads");
	for (i = 0; base_syscalls[i] != NULL; i++)
		if (allow(ctx, base_syscalls[i]) != 0)
			fatalx("seccomp: cannot allow %s", base_syscalls[i]);
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		if (allow(ctx, extra[i]) != 0)
			fatalx("seccomp: cannot allow %s", extra[i]);
	if (seccomp_load(ctx) != 0)
		fatalx("seccomp_load failed");
	seccomp_release(ctx);
	log_info("%s: seccomp allow-list installed", daemon);
}

static const struct passwd *
run_user(const struct config *cfg)
{
	const struct passwd *pw;

	if ((pw = getpwnam(cfg->user)) == NULL)
		fatalx("user \"%s\" does not exist: create it (tools/deps.sh "
		    "does) or set [common] user", cfg->user);
	return pw;
}

void
privsep_own_endpoint(const struct config *cfg, const char *endpoint)
{
	const struct passwd *pw;
	const char	*path;

	if (geteuid() != 0 || strncmp(endpoint, "ipc://", 6) != 0)
		return;
	path = endpoint + 6;
	if (*path == '@')	/* abstract namespace: no file */
		return;
	pw = run_user(cfg);
	if (chown(path, pw->pw_uid, pw->pw_gid) == -1)
		log_warn("chown %s", path);
}

void
privsep_confine(const struct config *cfg, const char *daemon,
    const char *const *extra)
{
	const struct passwd	*pw;
	uid_t			 uid;
	gid_t			 gid;

	/*
	 * No core dumps and no ptrace by other processes of the same user:
	 * relayd and ctld hold SRTP keys in memory, keyd the key-wrapping
	 * key.  First, so that it holds unconfined too.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("PR_SET_DUMPABLE");
	if (geteuid() != 0) {
		log_info("%s: not started as root: skipping chroot, user "
		    "change and seccomp", daemon);
		return;
	}
	pw = run_user(cfg);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (cfg->chroot) {
		if (chroot(cfg->run_dir) == -1)
			fatal("chroot %s", cfg->run_dir);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		fatal("cannot drop privileges to %s", cfg->user);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	if (cfg->seccomp)
		install_seccomp(daemon, extra);
	log_info("%s: confined: %s%s, user %s, no_new_privs", daemon,
	    cfg->chroot ? "chroot " : "no chroot",
	    cfg->chroot ? cfg->run_dir : "", cfg->user);
}
