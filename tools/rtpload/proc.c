/*
 * proc: the relay's CPU and memory from /proc, and the clocks.
 *
 * CPU time from each process's CPU-time clock (exact); RSS from
 * /proc/PID/status.
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/rtpload/rtpload.h"

uint64_t
proc_now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
proc_now_real(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
proc_read(const char *path, char *buf, size_t len)
{
	FILE	*f;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

/*
 * CPU seconds of the pids, all their threads (those that have exited too):
 * each process's CPU-time clock (clock_getcpuclockid), which is exact.
 * utime and stime in /proc/PID/stat are sampled at the scheduler tick and
 * miss a relay that sleeps between short bursts (0 s at a light load).
 */
double
proc_cpu(const int *pids, unsigned n)
{
	struct timespec	 ts;
	clockid_t	 cid;
	double		 sum = 0;
	unsigned	 i;
	int		 ok = 0;

	for (i = 0; i < n; i++) {
		if (clock_getcpuclockid((pid_t)pids[i], &cid) != 0 ||
		    clock_gettime(cid, &ts) != 0)
			continue;
		sum += (double)ts.tv_sec + ts.tv_nsec / 1e9;
		ok = 1;
	}
	return ok ? sum : -1;
}

double
proc_rss(const int *pids, unsigned n)
{
	char		 path[64], buf[4096], *p;
	double		 sum = 0;
	unsigned	 i;
	int		 ok = 0;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/status", pids[i]);
		if (proc_read(path, buf, sizeof(buf)) == -1 ||
		    (p = strstr(buf, "\nVmRSS:")) == NULL)
			continue;
		sum += strtod(p + 7, NULL) * 1024.0;
		ok = 1;
	}
	return ok ? sum : -1;
}

double
proc_self_cpu(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}
