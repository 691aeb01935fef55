/*
 * engines: runs a relayd test program once per packet engine (io_uring,
 * epoll), each in its own process, so that both engines pass the same
 * tests.  For tests/unit/test_relayd*_e2e.c.
 */
#ifndef RTPSEC_TESTS_ENGINES_H
#define RTPSEC_TESTS_ENGINES_H

#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* run(engine) returns the program's exit status; 0 if both passed.
 * RTPSEC_TEST_ENGINE=epoll (or io_uring) runs that one only (valgrind's
 * tools do not follow io_uring). */
static inline int
engines_run(int (*run)(const char *engine))
{
	static const char *const engines[] = { "io_uring", "epoll" };
	const char	*only = getenv("RTPSEC_TEST_ENGINE");
	pid_t		 pid;
	int		 i, st, bad = 0;

	for (i = 0; i < 2; i++) {
		if (only != NULL && strcmp(only, engines[i]) != 0)
			continue;
		fflush(NULL);
		if ((pid = fork()) == -1)
			return 1;
		if (pid == 0)
			_exit(run(engines[i]));
		if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			bad = 1;
	}
	return bad;
}

#endif
