/*
 * test_relayd_latch: RTP/RTCP classification (RFC 3550, RFC 5761 4),
 * strict latching, wrong source, re-latch after reset, destination
 * choice, IPv6 addresses.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "relayd/latch.h"

static void
addr4(struct sockaddr_storage *ss, const char *a, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, a, &sin->sin_addr);
}

static void
test_classify(void **state)
{
	uint8_t		 rtp[12] = { 0x80, 0x60, 0, 1, 0, 0, 0, 0,
			    0x12, 0x34, 0x56, 0x78 };
	uint8_t		 rtcp[8] = { 0x81, 200, 0, 6, 0xaa, 0xbb, 0xcc, 0xdd };
	uint8_t		 stun[20] = { 0, 1, 0, 0 };
	uint32_t	 ssrc = 0;

	(void)state;
	assert_int_equal(latch_classify(rtp, 12, &ssrc), LATCH_RTP);
	assert_int_equal(ssrc, 0x12345678);
	assert_int_equal(latch_classify(rtp, 11, &ssrc), LATCH_GARBAGE);
	assert_int_equal(latch_classify(rtcp, 8, &ssrc), LATCH_RTCP);
	assert_int_equal(ssrc, 0xaabbccdd);
	rtcp[1] = 204;
	assert_int_equal(latch_classify(rtcp, 8, &ssrc), LATCH_RTCP);
	rtcp[1] = 205;	/* not RTCP: an RTP packet too short */
	assert_int_equal(latch_classify(rtcp, 8, &ssrc), LATCH_GARBAGE);
	assert_int_equal(latch_classify(rtcp, 7, &ssrc), LATCH_GARBAGE);
	assert_int_equal(latch_classify(stun, 20, &ssrc), LATCH_GARBAGE);
	rtp[0] = 0x40;	/* version 1 */
	assert_int_equal(latch_classify(rtp, 12, &ssrc), LATCH_GARBAGE);
	assert_int_equal(latch_classify(rtp, 0, &ssrc), LATCH_GARBAGE);
}

static void
test_latch(void **state)
{
	struct stream		 s, peer;
	struct sockaddr_storage	 a, b;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&peer, 0, sizeof(peer));
	addr4(&a, "192.0.2.1", 4000);
	addr4(&b, "192.0.2.1", 4002);
	/* garbage never latches */
	assert_int_equal(latch_check(&s, LATCH_GARBAGE, &a,
	    sizeof(struct sockaddr_in)), RELAY_DROP_MALFORMED);
	assert_false(s.is_latched);
	assert_int_equal(latch_check(&s, LATCH_RTP, &a,
	    sizeof(struct sockaddr_in)), -1);
	assert_true(s.is_latched);
	assert_int_equal(latch_check(&s, LATCH_RTCP, &a,
	    sizeof(struct sockaddr_in)), -1);
	assert_int_equal(latch_check(&s, LATCH_RTP, &b,
	    sizeof(struct sockaddr_in)), RELAY_DROP_WRONG_SOURCE);
	latch_reset(&s);
	assert_int_equal(latch_check(&s, LATCH_RTP, &b,
	    sizeof(struct sockaddr_in)), -1);
	assert_int_equal(latch_check(&s, LATCH_RTP, &a,
	    sizeof(struct sockaddr_in)), RELAY_DROP_WRONG_SOURCE);

	/* destination: none, then advertised, then latched */
	assert_null(latch_dest(&s));
	s.peer = &peer;
	assert_null(latch_dest(&s));
	addr4((struct sockaddr_storage *)&peer.adv.ss, "198.51.100.7", 5000);
	peer.adv.len = sizeof(struct sockaddr_in);
	assert_ptr_equal(latch_dest(&s), &peer.adv);
	assert_int_equal(latch_check(&peer, LATCH_RTP, &a,
	    sizeof(struct sockaddr_in)), -1);
	assert_ptr_equal(latch_dest(&s), &peer.latched);
}

static void
test_ipv6(void **state)
{
	struct stream		 s;
	struct sockaddr_storage	 a, b;
	struct sockaddr_in6	*x = (struct sockaddr_in6 *)&a;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&a, 0, sizeof(a));
	x->sin6_family = AF_INET6;
	x->sin6_port = htons(7000);
	inet_pton(AF_INET6, "2001:db8::1", &x->sin6_addr);
	b = a;
	((struct sockaddr_in6 *)&b)->sin6_addr.s6_addr[15] = 2;
	assert_int_equal(latch_check(&s, LATCH_RTP, &a, sizeof(*x)), -1);
	assert_int_equal(latch_check(&s, LATCH_RTP, &a, sizeof(*x)), -1);
	assert_int_equal(latch_check(&s, LATCH_RTP, &b, sizeof(*x)),
	    RELAY_DROP_WRONG_SOURCE);
	/* same port and bytes but another family */
	addr4(&b, "0.0.0.0", 7000);
	assert_int_equal(latch_check(&s, LATCH_RTP, &b,
	    sizeof(struct sockaddr_in)), RELAY_DROP_WRONG_SOURCE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_latch),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
