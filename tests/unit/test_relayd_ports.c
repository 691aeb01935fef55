/*
 * test_relayd_ports: the media port pair allocator: even/odd pairs,
 * exhaustion, free and reuse, skipping a port another socket holds,
 * IPv6, bad arguments.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "relayd/ports.h"

static void
test_alloc_exhaust_reuse(void **state)
{
	struct ports	*p;
	char		 err[128];
	int		 fds[4][2], i, pair[4], f[2];
	uint16_t	 port[4], x;

	(void)state;
	/* 46201..46207: pairs 46202, 46204, 46206 */
	p = ports_new("127.0.0.1", 46201, 46207, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(ports_total(p), 6);
	for (i = 0; i < 3; i++) {
		pair[i] = ports_alloc(p, fds[i], &port[i]);
		assert_true(pair[i] >= 0);
		assert_int_equal(port[i] % 2, 0);
		assert_true(port[i] >= 46202 && port[i] <= 46206);
	}
	assert_int_equal(ports_used(p), 6);
	assert_int_equal(ports_alloc(p, fds[3], &x), -1);
	ports_free(p, pair[1]);
	close(fds[1][0]);
	close(fds[1][1]);
	assert_int_equal(ports_used(p), 4);
	assert_int_equal(ports_alloc(p, f, &x), pair[1]);
	assert_int_equal(x, port[1]);
	close(f[0]);
	close(f[1]);
	for (i = 0; i < 3; i++)
		ports_free(p, pair[i]);
	close(fds[0][0]);
	close(fds[0][1]);
	close(fds[2][0]);
	close(fds[2][1]);
	assert_int_equal(ports_used(p), 0);
	ports_destroy(&p);
	assert_null(p);
}

static void
test_skip_busy(void **state)
{
	struct ports		*p;
	struct sockaddr_in	 sin;
	char			 err[128];
	int			 fd, f[2], pair;
	uint16_t		 x;

	(void)state;
	/* someone else holds 46211 (RTCP of the first pair) */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(46211);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	p = ports_new("127.0.0.1", 46210, 46213, err, sizeof(err));
	assert_non_null(p);
	pair = ports_alloc(p, f, &x);
	assert_int_equal(pair, 1);
	assert_int_equal(x, 46212);
	close(f[0]);
	close(f[1]);
	ports_free(p, pair);
	/* only the busy pair left in the next round-robin slot, then ours */
	ports_destroy(&p);
	close(fd);
}

static void
test_ipv6_and_bad(void **state)
{
	struct ports	*p;
	char		 err[128];
	int		 f[2];
	uint16_t	 x;

	(void)state;
	assert_null(ports_new("nonsense", 46220, 46230, err, sizeof(err)));
	assert_null(ports_new("127.0.0.1", 46231, 46231, err, sizeof(err)));
	assert_null(ports_new("127.0.0.1", 0, 70000, err, sizeof(err)));
	p = ports_new("::1", 46220, 46223, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(ports_family(p), AF_INET6);
	if (ports_alloc(p, f, &x) >= 0) {	/* no IPv6 in some sandboxes */
		assert_int_equal(x, 46220);
		close(f[0]);
		close(f[1]);
	}
	ports_destroy(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_exhaust_reuse),
		cmocka_unit_test(test_skip_busy),
		cmocka_unit_test(test_ipv6_and_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
