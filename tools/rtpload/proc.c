/*
 * proc: the relay's CPU and memory from /proc, and the clocks.
 *
 * CPU time from every thread's schedstat (exact); RSS from
 * /proc/PID/status.
 */
#include <sys/resource.h>

#include <dirent.h>
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
 * CPU seconds of all the threads of the pids: the sum of each task's
 * /proc/PID/task/TID/schedstat first field (ns on a CPU, exact).  utime
 * and stime are sampled at the scheduler tick, which a relay that sleeps
 * between short bursts can miss entirely (0 s at a light load).
 */
double
proc_cpu(const int *pids, unsigned n)
{
	char			 path[320], buf[256];
	struct dirent		*de;
	DIR			*d;
	unsigned long long	 ns;
	double			 sum = 0;
	unsigned		 i;
	int			 ok = 0;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task", pids[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat",
			    pids[i], de->d_name);
			if (proc_read(path, buf, sizeof(buf)) == -1 ||
			    sscanf(buf, "%llu", &ns) != 1)
				continue;
			sum += (double)ns / 1e9;
			ok = 1;
		}
		closedir(d);
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
