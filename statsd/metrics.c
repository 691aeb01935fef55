/*
 * metrics: the help text and type of each metric family, from the one
 * METRICS table (metrics.h).
 */
#include <string.h>

#include "statsd/metrics.h"

struct metric_def {
	const char	*name;
	const char	*help;
};

#define METRIC_DEF(n, h)	{ #n, h },
static const struct metric_def metric_defs[] = { METRICS(METRIC_DEF) };

const char *
metrics_help(const char *name, size_t famlen)
{
	size_t	 i;

	for (i = 0; i < sizeof(metric_defs) / sizeof(metric_defs[0]); i++)
		if (strlen(metric_defs[i].name) == famlen &&
		    memcmp(metric_defs[i].name, name, famlen) == 0)
			return metric_defs[i].help;
	return "rtpsec metric (see docs/metrics.md)";
}

int
metrics_is_counter(const char *name, size_t famlen)
{
	return famlen > 6 && memcmp(name + famlen - 6, "_total", 6) == 0;
}
