/*
 * libcommon/store, as relayd's restore uses it: the load callback may
 * write (relayd deletes a record it cannot restore) while the load still
 * reads the next records on the same connection; each record must still
 * reach the callback under its own id.  Against a private redis-server
 * on a unix socket; skipped where redis-server is not installed.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/redisfix.h"

#include "libcommon/store.h"

#define NREC	12


struct seen {
	struct store	*s;
	int		 n, bad;
};

static void
load_one(void *arg, const char *id, const void *data, size_t len)
{
	struct seen	*sn = arg;
	char		 want[64];

	snprintf(want, sizeof(want), "data of %s", id);
	if (len != strlen(want) || memcmp(data, want, len) != 0)
		sn->bad++;
	sn->n++;
	/* as persist_load_one does with a record it cannot restore */
	if (atoi(id + 1) % 2 == 1)
		(void)store_call_del(sn->s, id);
}

static void
test_load_while_deleting(void **state)
{
	struct store	*s;
	struct seen	 sn;
	char		 spec[160], id[16], data[64];
	int		 i, n;

	(void)state;
	if (redisfix_start() == -1) {
		redisfix_done();
		skip();
	}
	snprintf(spec, sizeof(spec), "unix:%s", rsock);
	assert_non_null(s = store_new_ns(spec, "relay", "n1", 60));
	for (i = 0; i < NREC; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		snprintf(data, sizeof(data), "data of %s", id);
		assert_int_equal(store_call_put(s, id, 1, 1, data,
		    strlen(data)), 0);
	}
	memset(&sn, 0, sizeof(sn));
	sn.s = s;
	n = store_calls_load(s, load_one, &sn);
	assert_int_equal(n, NREC);
	assert_int_equal(sn.n, NREC);
	assert_int_equal(sn.bad, 0);
	/* the deletes went through: half is left */
	memset(&sn, 0, sizeof(sn));
	sn.s = s;
	assert_int_equal(store_calls_load(s, load_one, &sn), NREC / 2);
	assert_int_equal(sn.bad, 0);
	store_destroy(&s);
	redisfix_done();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_while_deleting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
