/*
 * A private redis-server on a unix socket for the unit tests that need a
 * real Redis (nothing saved, so a restart is an empty Redis).  Include
 * once per test file; redisfix_start() returns -1 where redis-server is
 * not installed (the caller skips).
 */
#ifndef RTPSEC_TESTS_REDISFIX_H
#define RTPSEC_TESTS_REDISFIX_H

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

static char	 rdir[64], rsock[128];
static pid_t	 rpid = -1;

/* Starts it (in a new temporary directory the first time) and waits
 * until it answers PING: the socket file appears before it accepts. */
static void	redisfix_done(void);

static int
redisfix_start(void)
{
	static int	 registered;
	struct stat	 st;
	int		 i;

	/* a failed assertion leaves the test early: still stop it */
	if (!registered) {
		atexit(redisfix_done);
		registered = 1;
	}

	if (rdir[0] == '\0') {
		snprintf(rdir, sizeof(rdir), "/tmp/rtpsec-ut.XXXXXX");
		if (mkdtemp(rdir) == NULL)
			return -1;
		snprintf(rsock, sizeof(rsock), "%s/redis.sock", rdir);
	}
	if ((rpid = fork()) == -1)
		return -1;
	if (rpid == 0) {
		int	 fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execlp("redis-server", "redis-server", "--port", "0",
		    "--unixsocket", rsock, "--save", "", "--appendonly", "no",
		    "--dir", rdir, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		if (stat(rsock, &st) == 0) {
			redisContext	*r = redisConnectUnix(rsock);
			redisReply	*rep = NULL;
			int		 up = 0;

			if (r != NULL && !r->err &&
			    (rep = redisCommand(r, "PING")) != NULL &&
			    rep->type == REDIS_REPLY_STATUS)
				up = 1;
			if (rep != NULL)
				freeReplyObject(rep);
			if (r != NULL)
				redisFree(r);
			if (up)
				return 0;
		}
		usleep(10000);
	}
	return -1;
}

/* Kills it (a restart keeps the directory). */
static void
redisfix_kill(void)
{
	if (rpid > 0) {
		kill(rpid, SIGKILL);
		waitpid(rpid, NULL, 0);
		rpid = -1;
		unlink(rsock);
	}
}

/* Kills it and removes the directory. */
static void
redisfix_done(void)
{
	char	 p[192];

	redisfix_kill();
	if (rdir[0] != '\0') {
		snprintf(p, sizeof(p), "%s/dump.rdb", rdir);
		unlink(p);
		rmdir(rdir);
		rdir[0] = '\0';
	}
}

#endif
