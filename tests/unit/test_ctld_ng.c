/*
 * Unit tests for ctld's ng front end: framing (ng_split, TCP message
 * ends), the reply cache (ngcache, and through ng_handle as in reference
 * transcript 08), the source allow-list, and the error strings of
 * transcript 07 for requests that never reach relayd.  Runs without
 * relayd and Redis (ctld.relay and ctld.store are NULL).  Issue 5:
 * relay_nodes and node death (nodes.h), relay_node in records, and,
 * against a private redis-server when one is installed, ng replies kept
 * in Redis (ngpersist.h) and the records written again after Redis
 * restarted empty (session_resync()).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/redisfix.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <czmq.h>
#include <hiredis/hiredis.h>

#include "libcommon/buf.h"
#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "libcommon/store.h"
#include "ctld/acl.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/ng.h"
#include "ctld/ngcache.h"
#include "ctld/ngcmd.h"
#include "ctld/ngpersist.h"
#include "ctld/nodes.h"
#include "ctld/offer.h"
#include "ctld/record.h"
#include "ctld/session.h"
#include "libcommon/bencode.h"

static struct config	 cfg;
static struct ctld	 ctld;

static int
setup(void **state)
{
	char	 err[256];

	(void)state;
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	memset(&ctld, 0, sizeof(ctld));
	ctld.cfg = &cfg;
	ctld.calls = calls_new();
	ctld.cache = ngcache_new(1000, 1 << 20, 30000, 0);
	assert_non_null(ctld.calls);
	assert_non_null(ctld.cache);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	calls_destroy(&ctld.calls);
	ngcache_destroy(&ctld.cache);
	return 0;
}

/* Sends one message through ng_handle; returns the reply ("" if none). */
static const char *
roundtrip(const char *msg, size_t len)
{
	static struct buf	 out;

	buf_free(&out);
	if (ng_handle(&ctld, msg, len, "127.0.0.1", &out, NG_UDP_MAX) == -1)
		return NULL;
	buf_addc(&out, '\0');
	return out.p;
}

#define RT(s)	roundtrip((s), sizeof(s) - 1)

/* An SRTP offer without a usable a=crypto line is refused before any
 * state changes (docs/srtp.md): no call, relayd and keyd never asked. */
static void
test_sdes_no_usable(void **state)
{
	(void)state;
	assert_string_equal(RT("s1 d7:command5:offer7:call-id6:srtp-18:from-tag1:a3:sdp168:v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm\r\ne"),
	    "s1 d6:result5:error12:error-reason22:no usable crypto suitee");
	assert_string_equal(RT("s2 d7:command4:liste"),
	    "s2 d5:callsle6:result2:oke");
}

static void
test_split(void **state)
{
	const char	*c, *p;
	size_t		 cl, pl;

	(void)state;
	assert_int_equal(ng_split("1_2_3 d7:command4:pinge", 23, &c, &cl, &p,
	    &pl), 0);
	assert_int_equal(cl, 5);
	assert_memory_equal(c, "1_2_3", 5);
	assert_int_equal(pl, 17);
	assert_int_equal(ng_split("nospace", 7, &c, &cl, &p, &pl), -1);
	assert_int_equal(ng_split(" d7:command4:pinge", 18, &c, &cl, &p,
	    &pl), -1);
	assert_int_equal(ng_split("x ", 2, &c, &cl, &p, &pl), 0);
	assert_int_equal(pl, 0);
}

static void
test_errors(void **state)
{
	(void)state;
	/* transcript 07 */
	assert_null(RT("d7:command4:pinge"));
	assert_int_equal(ctld.ng_dropped[CTLD_NG_DROP_NO_COOKIE], 1);
	assert_string_equal(RT("err_3 "), "err_3 d6:result5:error"
	    "12:error-reason25:Invalid data (no payload)e");
	assert_string_equal(RT("err_2 hello"), "err_2 d6:result5:error"
	    "12:error-reason22:Invalid NG data formate");
	assert_string_equal(RT("err_1 d7:command4:pin"), "err_1 d6:result5:"
	    "error12:error-reason35:Could not decode bencode dictionarye");
	assert_string_equal(RT("e4 d7:call-id2:e1e"), "e4 d6:result5:error"
	    "12:error-reason36:Dictionary contains no key \"command\"e");
	assert_string_equal(RT("e5 d7:command10:frobnicate7:call-id2:e1e"),
	    "e5 d6:result5:error12:error-reason20:Unrecognized commande");
	assert_string_equal(RT("e6 d7:command5:offer8:from-tag1:x3:sdp3:v=0e"),
	    "e6 d6:result5:error12:error-reason21:No call-id in messagee");
	assert_string_equal(RT("e7 d7:command5:offer7:call-id2:e18:from-tag"
	    "1:xe"), "e7 d6:result5:error12:error-reason22:No SDP body in "
	    "messagee");
	assert_string_equal(RT("e8 d7:command6:answer7:call-id2:e18:from-tag"
	    "1:x3:sdp3:v=0e"), "e8 d6:result5:error12:error-reason20:No "
	    "to-tag in messagee");
	assert_string_equal(RT("e9 d7:command6:answer7:call-id12:no-such-call"
	    "8:from-tag1:x6:to-tag1:y3:sdp3:v=0e"), "e9 d6:result5:error"
	    "12:error-reason15:Unknown call-ide");
	assert_string_equal(RT("e10 d7:command5:query7:call-id12:no-such-"
	    "calle"), "e10 d6:result5:error12:error-reason15:Unknown call-ide");
	assert_string_equal(RT("e11 d7:command6:delete7:call-id12:no-such-call"
	    "8:from-tag1:xe"), "e11 d7:warning38:Call-ID not found or tags "
	    "didn't match6:result2:oke");
	assert_string_equal(RT("e12 d7:command6:delete7:call-id12:no-such-call"
	    "8:from-tag1:x5:flagsl5:fatalee"), "e12 d6:result5:error"
	    "12:error-reason38:Call-ID not found or tags didn't matche");
	assert_string_equal(RT("e13 d7:command4:list5:limiti-1ee"), "e13 "
	    "d6:result5:error12:error-reason27:invalid limit, must be >= 0e");
	assert_string_equal(RT("e14 d7:command4:list5:limit2:-1e"), "e14 "
	    "d6:result5:error12:error-reason27:invalid limit, must be >= 0e");
	assert_string_equal(RT("e15 d7:command4:liste"),
	    "e15 d5:callsle6:result2:oke");
}

static void
test_cache(void **state)
{
	(void)state;
	/* transcript 08: a repeated cookie replays the first reply */
	assert_string_equal(RT("dup_1 d7:command4:pinge"),
	    "dup_1 d6:result4:ponge");
	assert_string_equal(RT("dup_1 d7:command4:liste"),
	    "dup_1 d6:result4:ponge");
	assert_int_equal(ctld.ng_requests[NG_CMD_LIST][NG_RES_OK], 0);
	assert_string_equal(RT("json_1 {\"command\":\"ping\"}"),
	    "json_1 {\"result\":\"pong\"}");
	assert_string_equal(RT("k1 d8:supportsl10:load limite7:command4:pinge"),
	    "k1 d6:result4:ponge");
	/* two generations: survives one rotation, not two */
	ngcache_rotate(ctld.cache);
	assert_string_equal(RT("dup_1 d7:command4:liste"),
	    "dup_1 d6:result4:ponge");
	ngcache_rotate(ctld.cache);
	assert_string_equal(RT("dup_1 d7:command4:liste"),
	    "dup_1 d5:callsle6:result2:oke");
}

static void
test_cache_bounds(void **state)
{
	struct ngcache	*c;
	const char	*r;
	size_t		 len;
	char		 k[16];
	int		 i;

	(void)state;
	c = ngcache_new(10, 1 << 20, 1000, 0);
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "c%d", i);
		assert_int_equal(ngcache_put(c, k, strlen(k), "r", 1), 0);
		assert_true(ngcache_entries(c) <= 10);
	}
	assert_non_null(r = ngcache_get(c, "c99", 3, &len));
	assert_int_equal(len, 1);
	assert_null(ngcache_get(c, "c0", 2, &len));
	/* too large for a generation: not cached */
	ngcache_destroy(&c);
	c = ngcache_new(10, 200, 1000, 0);
	assert_int_equal(ngcache_put(c, "big", 3, "0123456789012345678901234"
	    "567890123456789012345678901234567890123456789012345678901234567"
	    "8901234567890123456789", 90), -1);
	/* time-based swap */
	assert_int_equal(ngcache_put(c, "a", 1, "x", 1), 0);
	ngcache_tick(c, 500);
	assert_non_null(ngcache_get(c, "a", 1, &len));
	ngcache_tick(c, 1000);
	assert_non_null(ngcache_get(c, "a", 1, &len));
	ngcache_tick(c, 2000);
	assert_null(ngcache_get(c, "a", 1, &len));
	ngcache_destroy(&c);
	assert_null(c);
}

static void
test_tcp_framing(void **state)
{
	const char	*two = "a d7:command4:pinge\r\nb {\"command\":\"x}\"}";

	(void)state;
	assert_int_equal(ng_tcp_msglen(two, strlen(two)), 19);
	assert_int_equal(ng_tcp_msglen(two + 19, strlen(two + 19)),
	    strlen(two + 19));
	assert_int_equal(ng_tcp_msglen("a d7:comm", 9), 0);
	assert_int_equal(ng_tcp_msglen("a d3:sdp10:v=0", 14), 0);
	assert_int_equal(ng_tcp_msglen("a ", 2), 0);
	assert_int_equal(ng_tcp_msglen("abc", 3), 0);
	assert_int_equal(ng_tcp_msglen("a hello", 7), -1);
	/* leading line ends are skipped; a cookie needs its space */
	assert_int_equal(ng_tcp_msglen("\r\nd1:xe", 7), 0);
	assert_int_equal(ng_tcp_msglen("a di1x", 6), -1);
	assert_int_equal(ng_tcp_msglen("a d3:keyl1:a1:bei-3ee", 21), 21);
}

static void
test_acl(void **state)
{
	struct acl		*a;
	struct sockaddr_in	 s4;
	struct sockaddr_in6	 s6;
	char			 err[128];

	(void)state;
	a = acl_new("127.0.0.0/8 ::1/128,10.1.2.0/23", err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(acl_count(a), 3);
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.9.9.9", &s4.sin_addr);
	assert_true(acl_match(a, (struct sockaddr *)&s4));
	inet_pton(AF_INET, "10.1.3.255", &s4.sin_addr);
	assert_true(acl_match(a, (struct sockaddr *)&s4));
	inet_pton(AF_INET, "10.1.4.0", &s4.sin_addr);
	assert_false(acl_match(a, (struct sockaddr *)&s4));
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	assert_true(acl_match(a, (struct sockaddr *)&s6));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr);
	assert_true(acl_match(a, (struct sockaddr *)&s6));
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	assert_false(acl_match(a, (struct sockaddr *)&s6));
	acl_destroy(&a);
	assert_null(acl_new("127.0.0.0/33", err, sizeof(err)));
	assert_null(acl_new("localhost", err, sizeof(err)));
	a = acl_new("", err, sizeof(err));
	assert_non_null(a);
	assert_false(acl_match(a, (struct sockaddr *)&s6));
	acl_destroy(&a);
}

static void
test_table(void **state)
{
	(void)state;
	assert_int_equal(ngcmd_lookup("offer", 5), NG_CMD_OFFER);
	assert_int_equal(ngcmd_lookup("Offer", 5), NG_CMD_UNKNOWN);
	assert_int_equal(ngcmd_lookup("statistics", 10), NG_CMD_STATISTICS);
	assert_string_equal(ngcmd_stat_name(NG_CMD_STATISTICS), "stats");
	assert_string_equal(ngcmd_name(NG_CMD_UNKNOWN), "unknown");
	assert_string_equal(ngcmd_result_name(NG_RES_LOAD_LIMIT), "load limit");
	assert_string_equal(ctld_ng_drop_name(CTLD_NG_DROP_NOT_ALLOWED),
	    "not_allowed");
}

static void
test_statistics(void **state)
{
	const char	*r;

	(void)state;
	assert_non_null(RT("s0 d7:command4:pinge"));
	r = RT("s1 d7:command10:statisticse");
	assert_non_null(r);
	assert_non_null(strstr(r, "17:currentstatisticsd11:sessionsowni0e"));
	assert_non_null(strstr(r, "6:uptime"));
	assert_non_null(strstr(r, "5:proxy9:127.0.0.19:pingcounti1e"));
	assert_non_null(strstr(r, "14:totalpingcounti"));
	assert_non_null(strstr(r, "6:result2:oke"));
}

static void
test_calls(void **state)
{
	struct calls	*cs = calls_new();
	struct call	*c;
	char		 k[64];
	int		 a, b;

	(void)state;
	c = calls_add(cs, "c1", 2);
	assert_non_null(c);
	assert_null(calls_add(cs, "x\0y", 3));
	assert_ptr_equal(calls_find(cs, "c1", 2), c);
	a = call_party_add(c, "A", 1, 1);
	b = call_party_add(c, NULL, 0, 1);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	party_key(&c->party[b], k, sizeof(k));
	assert_string_equal(k, "<untagged 1>");
	assert_string_equal(c->party[b].leg, "L2");
	assert_int_equal(call_party_by_tag(c, "A", 1), 0);
	assert_int_equal(call_party_by_tag(c, "", 0), -1);
	assert_int_equal(calls_active(cs), 1);
	c->delete_at_ms = 5;
	assert_int_equal(calls_active(cs), 0);
	assert_int_equal(calls_count(cs), 1);
	calls_remove(cs, &c);
	assert_null(calls_find(cs, "c1", 2));
	calls_destroy(&cs);
}

/* Decodes a bencode dict for offer_parse(). */
static const char *
parse(struct ngarena *a, const char *benc, int answer, struct offer_req *o)
{
	const char	*err = NULL;
	struct ngval	*d;

	d = bencode_decode(a, benc, strlen(benc), &err);
	assert_non_null(d);
	return offer_parse(d, answer, o);
}

static void
test_flags(void **state)
{
	struct ngarena		*a = ngarena_new();
	struct offer_req	 o;

	(void)state;
	/* Kamailio's default offer (transcript 12): only the basics */
	assert_null(parse(a,
	    "d8:supportsl10:load limite3:sdp3:v=07:call-id2:c113:"
	    "received-froml3:IP49:127.0.0.2e8:from-tag1:A7:comman"
	    "d5:offere", 0, &o));
	assert_true(o.load_limit);
	assert_int_equal(o.callid_len, 2);
	assert_int_equal(o.to_len, 0);
	assert_false(o.rw.replace_origin);
	/* ICE default: the sender's candidates are not handed on */
	assert_true(o.rw.ice_remove);
	assert_string_equal(o.sip_addr, "");	/* trust-address default */

	/* ICE=force strips them too; force-relay and optional keep them */
	assert_null(parse(a, "d3:sdp3:v=07:call-id2:c18:from-tag1:A3:ICE5:"
	    "forcee", 0, &o));
	assert_true(o.rw.ice_remove);
	assert_null(parse(a, "d3:sdp3:v=07:call-id2:c18:from-tag1:A3:ICE11:"
	    "force-relaye", 0, &o));
	assert_false(o.rw.ice_remove);
	assert_null(parse(a, "d3:sdp3:v=07:call-id2:c18:from-tag1:A3:ICE8:"
	    "optionale", 0, &o));
	assert_false(o.rw.ice_remove);

	/* everything the issue asks for, spaces and hyphens mixed */
	assert_null(parse(a,
	    "d3:sdp3:v=07:call id2:c18:from-tag1:A6:to-tag1:B10:v"
	    "ia-branch2:b17:replacel6:origin18:session connection"
	    "11:SDP-versione3:ICE6:remove5:flagsl18:SIP-source-ad"
	    "dress17:no-rtcp-attribute19:full rtcp-attribute12:un"
	    "known-flage13:received-froml3:IP48:10.0.0.7e13:media"
	    "-address9:127.0.0.99:directionl8:internal8:externale"
	    "5:label6:caller9:set-label6:callee11:no-such-key1:xe", 1, &o));
	assert_true(o.rw.replace_origin);
	assert_true(o.rw.replace_session_conn);
	assert_true(o.rw.sdp_version);
	assert_true(o.rw.ice_remove);
	assert_true(o.rw.no_rtcp_attr);
	assert_true(o.rw.full_rtcp_attr);
	assert_false(o.load_limit);
	assert_string_equal(o.sip_addr, "10.0.0.7");
	assert_string_equal(o.media_addr, "127.0.0.9");
	assert_string_equal(o.dir[0], "internal");
	assert_string_equal(o.dir[1], "external");
	assert_int_equal(o.label_len, 6);
	assert_memory_equal(o.label, "caller", 6);
	assert_memory_equal(o.set_label, "callee", 6);
	assert_memory_equal(o.via, "b1", 2);
	assert_memory_equal(o.to, "B", 1);

	/* from-label / to-label aliases; trust-address wins */
	assert_null(parse(a,
	    "d3:sdp3:v=07:call-id2:c18:from-tag1:A10:from-label1:"
	    "x8:to-label1:y5:flagsl18:SIP-source-address13:trust-"
	    "addresse13:received-froml3:IP48:10.0.0.7ee", 0, &o));
	assert_memory_equal(o.label, "x", 1);
	assert_memory_equal(o.set_label, "y", 1);
	assert_string_equal(o.sip_addr, "");

	/* the order of rtpengine's checks */
	assert_string_equal(parse(a, "d7:call-id1:xe", 0, &o),
	    "No SDP body in message");
	assert_string_equal(parse(a, "d3:sdp1:xe", 0, &o),
	    "No call-id in message");
	assert_string_equal(parse(a, "d3:sdp1:x7:call-id1:xe", 0, &o),
	    "No from-tag in message");
	assert_string_equal(parse(a, "d3:sdp1:x7:call-id1:x8:from-tag1:ae", 1,
	    &o), "No to-tag in message");
	assert_null(parse(a,
	    "d3:sdp1:x7:call-id1:x8:from-tag1:ae", 0, &o));
	ngarena_destroy(&a);
}

static void
test_too_large(void **state)
{
	struct buf	 out;
	char		 id[CALL_IDLEN];
	int		 i;

	(void)state;
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	for (i = 0; i < 300; i++) {
		id[0] = (char)('0' + i / 100);
		id[1] = (char)('0' + i / 10 % 10);
		id[2] = (char)('0' + i % 10);
		assert_non_null(calls_add(ctld.calls, id, strlen(id)));
	}
	/* a 77 KB list: an error over UDP, never a silent loss */
	assert_string_equal(RT("big d7:command4:list5:limiti1000ee"),
	    "big d6:result5:error12:error-reason32:Reply too large for UDP, "
	    "use TCPe");
	/* the default limit is 32 */
	buf_init(&out);
	assert_int_equal(ng_handle(&ctld, "b2 d7:command4:liste", 20,
	    "127.0.0.1", &out, NG_UDP_MAX), 0);
	assert_true(out.len > 32 * 255 && out.len < 33 * 262);
	buf_reset(&out);
	assert_int_equal(ng_handle(&ctld, "b3 d7:command4:list5:limiti1000ee",
	    33, "127.0.0.1", &out, NG_TCP_MAX), 0);
	assert_true(out.len > 300 * 255);
	buf_free(&out);
}

/* Mutated requests and streams: every one gets a reply or a counted
 * drop, nothing crashes (run under ASan by `make asan`). */
static void
test_random_input(void **state)
{
	static const char *const base[] = {
		"d7:command5:offer7:call-id2:z18:from-tag1:x3:sdp47:v=0\r\n"
		    "o=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 1 RTP/AVP 0e",
		"d7:command6:delete7:call-id1:z5:flagsl5:fatalee",
		"{\"command\":\"query\",\"call-id\":[1,{\"a\":\"b\"}]}",
		"d7:command4:list5:limit3:-12e",
		"d7:command6:answer7:call-id1:z8:from-tag1:x6:to-tag1:y"
		    "3:sdp3:v=0e",
		"d7:command10:statistics8:supportsl10:load limitee",
	};
	char		 msg[512];
	struct buf	 out;
	unsigned	 seed = 1;
	size_t		 len, j;
	ssize_t		 ml;
	int		 i, k;

	(void)state;
	buf_init(&out);
	for (i = 0; i < 5000; i++) {
		const char	*b = base[i % 6];

		len = (size_t)snprintf(msg, sizeof(msg), "r%d %s", i, b);
		for (k = rand_r(&seed) % 4; k > 0; k--)
			msg[rand_r(&seed) % len] = (char)rand_r(&seed);
		if (rand_r(&seed) % 8 == 0)
			len = (size_t)rand_r(&seed) % len;
		buf_reset(&out);
		if (ng_handle(&ctld, msg, len, "127.0.0.1", &out,
		    NG_UDP_MAX) == 0)
			assert_true(out.len > 0);
		for (j = 0; j < len; j += (size_t)ml) {
			ml = ng_tcp_msglen(msg + j, len - j);
			if (ml <= 0)
				break;
		}
	}
	buf_free(&out);
}

/* ---- issue 5: relay nodes, records, Redis recovery ---------------- */

/* relay_nodes parsing, lookup, round robin, death and adoption. */
static void
test_nodes(void **state)
{
	struct config	 c;
	struct nodes	*ns;
	char		 err[256];
	size_t		 i, a, b;
	int		 known, due = -1;

	(void)state;
	assert_int_equal(config_load(&c, NULL, err, sizeof(err)), 0);
	/* default: the one node [common] node_id */
	assert_non_null(ns = nodes_new(&c, 0, err, sizeof(err)));
	assert_int_equal(nodes_count(ns), 1);
	assert_string_equal(nodes_id(ns, 0), c.node_id);
	assert_string_equal(nodes_pub(ns, 0), c.relayd_pub);
	nodes_destroy(&ns);
	assert_null(ns);

	snprintf(c.relay_nodes, sizeof(c.relay_nodes), "  n1=ipc://r1.sock,"
	    "ipc://r1-pub.sock\tn2=tcp://127.0.0.3:7001,tcp://127.0.0.3:7002 ");
	c.relay_dead_ms = 100;
	assert_non_null(ns = nodes_new(&c, 1000, err, sizeof(err)));
	assert_int_equal(nodes_count(ns), 2);
	assert_string_equal(nodes_id(ns, 1), "n2");
	assert_string_equal(nodes_pub(ns, 1), "tcp://127.0.0.3:7002");
	assert_int_equal(nodes_find(ns, "n2", &known), 1);
	assert_int_equal(known, 1);
	/* "" (a version 1 record) is the first node; unknown too, flagged */
	assert_int_equal(nodes_find(ns, "", &known), 0);
	assert_int_equal(known, 1);
	assert_int_equal(nodes_find(ns, "gone", &known), 0);
	assert_int_equal(known, 0);
	/* round robin over live nodes */
	a = nodes_pick(ns);
	b = nodes_pick(ns);
	assert_int_not_equal(a, b);
	/* nothing listens: after relay_dead_ms of unanswered pings both are
	 * dead, and their adoption is due, once each */
	for (i = 0; i < 10; i++) {
		due = nodes_tick(ns, 1000 + i * NODES_PING_MS);
		if (due >= 0)
			break;
	}
	assert_true(due >= 0);
	assert_false(nodes_alive(ns, (size_t)due));
	nodes_adopted(ns, (size_t)due, 1, 5000);
	assert_int_equal(nodes_takeovers(ns), 1);
	due = nodes_tick(ns, 5000);
	assert_true(due >= 0);
	nodes_adopted(ns, (size_t)due, 0, 5000);	/* failed: later */
	assert_int_equal(nodes_tick(ns, 5001), -1);
	assert_int_equal(nodes_tick(ns, 5000 + 100), due);
	assert_int_equal(nodes_takeovers(ns), 1);
	nodes_destroy(&ns);

	/* malformed lists are refused */
	snprintf(c.relay_nodes, sizeof(c.relay_nodes), "n1");
	assert_null(nodes_new(&c, 0, err, sizeof(err)));
	snprintf(c.relay_nodes, sizeof(c.relay_nodes), "n1=ipc://a.sock");
	assert_null(nodes_new(&c, 0, err, sizeof(err)));
	snprintf(c.relay_nodes, sizeof(c.relay_nodes), "=a,b");
	assert_null(nodes_new(&c, 0, err, sizeof(err)));
	snprintf(c.relay_nodes, sizeof(c.relay_nodes),
	    "n1=ipc://a,ipc://b n1=ipc://c,ipc://d");
	assert_null(nodes_new(&c, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "twice"));
}

/* A call's relay node survives its record; a version 1 record (no
 * relay_node) reads as a call on the first node. */
static void
test_record_relay_node(void **state)
{
	struct call	*c, *d;
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	(void)state;
	assert_non_null(c = call_alloc("rn-1@x", 6));
	assert_string_equal(c->relay_node, "");
	assert_int_equal(call_str_setz(&c->relay_node, "n2"), 0);
	msgpack_sbuffer_init(&sb);
	record_encode(&sb, c, "ctld-node");
	assert_non_null(d = record_decode(sb.data, sb.size));
	assert_string_equal(d->relay_node, "n2");
	call_destroy(&d);
	call_destroy(&c);
	msgpack_sbuffer_destroy(&sb);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	ipc_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, 1);
	ipc_pack_str(&pk, "call");
	ipc_pack_str(&pk, "old@x");
	ipc_pack_str(&pk, "next_leg");
	msgpack_pack_uint64(&pk, 3);
	assert_non_null(d = record_decode(sb.data, sb.size));
	assert_string_equal(d->relay_node, "");
	assert_int_equal(d->next_leg, 3);
	call_destroy(&d);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * A private redis-server on a unix socket (nothing saved, so a restart
 * is an empty Redis), for the tests of what ctld does when Redis goes
 * away and comes back.  Skipped where redis-server is not installed.
 */
static long long
redis_exists(const char *key)
{
	redisContext	*r;
	redisReply	*rep;
	long long	 n = -1;

	if ((r = redisConnectUnix(rsock)) == NULL || r->err) {
		if (r != NULL)
			redisFree(r);
		return -1;
	}
	if ((rep = redisCommand(r, "EXISTS %s", key)) != NULL) {
		if (rep->type == REDIS_REPLY_INTEGER)
			n = rep->integer;
		freeReplyObject(rep);
	}
	redisFree(r);
	return n;
}


/* ng replies kept in Redis are found by a new ngpersist (a restarted
 * ctld); a reply with SDES keys is never written. */
static void
test_ngpersist(void **state)
{
	struct ngpersist	*np, *np2;
	struct buf		 out;
	char			 spec[160];
	static const char	 r1[] = "d6:result2:oke";
	static const char	 r2[] = "d3:sdp20:a=crypto:1 AES_CM...6:result2:oke";

	(void)state;
	assert_null(ngpersist_new("no-port-here", 60));
	/* Redis down: nothing written, nothing found, no wait */
	assert_non_null(np = ngpersist_new("unix:/nonexistent/redis.sock", 60));
	assert_int_equal(ngpersist_put(np, "c1", 2, r1, sizeof(r1) - 1), -1);
	buf_init(&out);
	assert_int_equal(ngpersist_get(np, "c1", 2, &out), -1);
	ngpersist_destroy(&np);
	if (redisfix_start() == -1) {
		redisfix_done();
		skip();
	}
	snprintf(spec, sizeof(spec), "unix:%s", rsock);
	assert_non_null(np = ngpersist_new(spec, 60));
	assert_int_equal(ngpersist_put(np, "c1", 2, r1, sizeof(r1) - 1), 0);
	assert_int_equal(ngpersist_put(np, "c2", 2, r2, sizeof(r2) - 1), -1);
	/* the lookup reads past the pipelined SET replies */
	assert_int_equal(ngpersist_get(np, "c1", 2, &out), 1);
	assert_int_equal(out.len, sizeof(r1) - 1);
	assert_memory_equal(out.p, r1, out.len);
	ngpersist_tick(np, 0);
	assert_non_null(np2 = ngpersist_new(spec, 60));
	buf_reset(&out);
	assert_int_equal(ngpersist_get(np2, "c1", 2, &out), 1);
	assert_memory_equal(out.p, r1, out.len);
	buf_reset(&out);
	assert_int_equal(ngpersist_get(np2, "c2", 2, &out), 0);
	assert_int_equal(redis_exists("rtpsec:ng:{c1}"), 1);
	ngpersist_destroy(&np);
	ngpersist_destroy(&np2);
	buf_free(&out);
	redisfix_done();
}

/* Runs ctld's store timers until every record of calls rs-0..rs-n-1
 * but skip exists (at most 5 s); returns how many do. */
static int
resync_wait(struct ctld *c, int n, int skip_id)
{
	char		 key[STORE_KEYLEN], id[32];
	uint64_t	 t0 = daemon_now_ms();
	int		 i, k = 0;

	while (daemon_now_ms() - t0 < 5000) {
		store_tick(c->store, daemon_now_ms());
		session_resync(c, daemon_now_ms());
		for (k = 0, i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "rs-%d@x", i);
			assert_int_equal(store_call_key(key, sizeof(key), id),
			    0);
			k += i != skip_id && redis_exists(key) == 1;
		}
		if (k == n - (skip_id >= 0))
			break;
		usleep(20000);
	}
	return k;
}

/*
 * Redis restarted empty: every live call's record is written again once
 * it is back, not only what was queued while it was away; a call deleted
 * meanwhile is not.  While no command comes in, the once-a-second probe
 * finds the dead connection.
 */
static void
test_resync(void **state)
{
	struct ctld	 c;
	struct call	*call;
	char		 spec[160], id[32];
	int		 i;

	(void)state;
	/* as the daemons (daemon_start()): a write to a dead Redis fails */
	signal(SIGPIPE, SIG_IGN);
	if (redisfix_start() == -1) {
		redisfix_done();
		skip();
	}
	memset(&c, 0, sizeof(c));
	c.cfg = &cfg;
	assert_int_equal(config_load(&cfg, NULL, spec, sizeof(spec)), 0);
	snprintf(spec, sizeof(spec), "unix:%s", rsock);
	assert_non_null(c.calls = calls_new());
	assert_non_null(c.store = store_new(spec, "ut-node", 60));
	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "rs-%d@x", i);
		assert_non_null(call = calls_add(c.calls, id, strlen(id)));
		session_save(&c, call);
	}
	session_flush(&c);
	assert_int_equal(resync_wait(&c, 300, -1), 300);

	/* Redis restarts empty, no command comes in */
	redisfix_kill();
	assert_int_equal(redisfix_start(), 0);
	assert_int_equal(redis_exists("rtpsec:call:{rs-0@x}"), 0);
	assert_int_equal(resync_wait(&c, 300, -1), 300);

	/* again, and a call ends meanwhile */
	redisfix_kill();
	assert_int_equal(redisfix_start(), 0);
	call = calls_find(c.calls, "rs-7@x", 6);
	session_end(&c, &call, SESSION_DELETED, 1, NULL);
	assert_int_equal(resync_wait(&c, 300, 7), 299);
	assert_int_equal(redis_exists("rtpsec:call:{rs-7@x}"), 0);
	assert_int_equal(c.resyncing, 0);
	store_destroy(&c.store);
	calls_destroy(&c.calls);
	redisfix_done();
}

/*
 * A stand-in relayd for the take-over tests: a ROUTER served by its own
 * thread, answering ping, node_adopt (fa_adopt), call_list (fa_list, or
 * the error fa_list_error) and call_delete (recorded in fa_deleted).
 */
#define FA_EP		"ipc:///tmp/rtpsec-ut-ctld-adopt-a.sock"
#define FA_EP_B		"ipc:///tmp/rtpsec-ut-ctld-adopt-b.sock"
#define FA_MAX		8

static pthread_mutex_t	 fa_mtx = PTHREAD_MUTEX_INITIALIZER;
static const char	*fa_adopt[FA_MAX], *fa_list[FA_MAX];
static char		 fa_list_error[32], fa_asked[64];
static char		 fa_deleted[FA_MAX][64];
static int		 fa_ndeleted, fa_adopts;
static volatile int	 fa_stop, fa_mute;

static void
fa_pack_ids(struct ipc_w *w, const char *const *ids)
{
	size_t	 n;

	for (n = 0; n < FA_MAX && ids[n] != NULL; n++)
		;
	ipc_w_key(w, "calls");
	msgpack_pack_array(&w->pk, n);
	for (n = 0; n < FA_MAX && ids[n] != NULL; n++)
		ipc_pack_str(&w->pk, ids[n]);
}

static void *
fa_main(void *arg)
{
	zsock_t		*router = arg;
	zframe_t	*ident, *msg;
	struct ipc_r	 q;
	struct ipc_w	 w;

	while (!fa_stop) {
		zmq_pollitem_t	 pi = { zsock_resolve(router), 0, ZMQ_POLLIN,
		    0 };

		if (zmq_poll(&pi, 1, 50) <= 0)
			continue;
		if (ipc_router_recv(router, &ident, &msg) == -1)
			continue;
		ipc_w_init(&w);
		if (ipc_r_parse(&q, zframe_data(msg), zframe_size(msg)) == 0) {
			pthread_mutex_lock(&fa_mtx);
			switch (q.op) {
			case IPC_OP_PING:
				if (fa_mute) {
					/* a relayd restarting */
					ipc_w_free(&w);
					ipc_w_init(&w);
					pthread_mutex_unlock(&fa_mtx);
					ipc_r_free(&q);
					zframe_destroy(&ident);
					zframe_destroy(&msg);
					continue;
				}
				ipc_w_reply(&w, q.op, q.id, 1, NULL, 1);
				ipc_w_str(&w, "node", "nA");
				break;
			case IPC_OP_NODE_ADOPT:
				(void)ipc_get_strz(q.root, "node", fa_asked,
				    sizeof(fa_asked));
				fa_adopts++;
				ipc_w_reply(&w, q.op, q.id, 1, NULL, 1);
				fa_pack_ids(&w, fa_adopt);
				break;
			case IPC_OP_CALL_LIST:
				if (fa_list_error[0] != '\0')
					ipc_w_reply(&w, q.op, q.id, 0,
					    fa_list_error, 0);
				else {
					ipc_w_reply(&w, q.op, q.id, 1, NULL, 1);
					fa_pack_ids(&w, fa_list);
				}
				break;
			case IPC_OP_CALL_DELETE:
				if (fa_ndeleted < FA_MAX)
					(void)ipc_get_strz(q.root, "call",
					    fa_deleted[fa_ndeleted++], 64);
				ipc_w_reply(&w, q.op, q.id, 1, NULL, 0);
				break;
			default:
				ipc_w_reply(&w, q.op, q.id, 0, "unexpected", 0);
				break;
			}
			pthread_mutex_unlock(&fa_mtx);
			ipc_router_send(router, ident, &w);
		}
		ipc_r_free(&q);
		ipc_w_free(&w);
		zframe_destroy(&ident);
		zframe_destroy(&msg);
	}
	return NULL;
}

/* A call on relay node node. */
static struct call *
fa_call(struct ctld *c, const char *id, const char *node)
{
	struct call	*call;

	assert_non_null(call = calls_add(c->calls, id, strlen(id)));
	assert_int_equal(call_str_setz(&call->relay_node, node), 0);
	return call;
}

/*
 * Node nB dies (nothing listens) while nA answers.  The adopter's
 * call_list, not only node_adopt's reply, says which calls moved: a call
 * named only by call_list (adopted by an earlier attempt) is not ended;
 * without call_list ("restoring") nothing ends; a call of nB nA does not
 * hold ends; one nA adopted that ctld does not know is deleted there.
 * Requests for calls of the dead node are not sent (no deadline spent).
 * A call of a node not in relay_nodes is adopted as a dead node's.
 */
static void
test_adopt(void **state)
{
	struct ctld	 c;
	struct config	 cf;
	struct call	*call;
	zsock_t		*router;
	pthread_t	 th;
	char		 err[256];
	uint64_t	 t0;
	int		 due = -1;

	(void)state;
	zsys_handler_set(NULL);
	unlink("/tmp/rtpsec-ut-ctld-adopt-a.sock");
	assert_non_null(router = ipc_bind(ZMQ_ROUTER, FA_EP));
	fa_stop = 0;
	assert_int_equal(pthread_create(&th, NULL, fa_main, router), 0);
	assert_int_equal(config_load(&cf, NULL, err, sizeof(err)), 0);
	snprintf(cf.relay_nodes, sizeof(cf.relay_nodes), "nA=" FA_EP ","
	    "ipc:///tmp/rtpsec-ut-a-pub.sock nB=" FA_EP_B ","
	    "ipc:///tmp/rtpsec-ut-b-pub.sock");
	cf.relay_dead_ms = 300;
	cf.ipc_timeout_ms = 300;
	memset(&c, 0, sizeof(c));
	c.cfg = &cf;
	assert_non_null(c.calls = calls_new());
	assert_non_null(c.nodes = nodes_new(&cf, daemon_now_ms(), err,
	    sizeof(err)));
	fa_call(&c, "a1@x", "nB");
	fa_call(&c, "a2@x", "nB");
	fa_call(&c, "a3@x", "nB");
	fa_call(&c, "b1@x", "nA");
	t0 = daemon_now_ms();
	while (due != 1 && daemon_now_ms() - t0 < 3000) {
		due = nodes_tick(c.nodes, daemon_now_ms());
		usleep(20000);
	}
	assert_int_equal(due, 1);
	assert_true(nodes_answering(c.nodes, 0));
	assert_false(nodes_answering(c.nodes, 1));
	call = calls_find(c.calls, "a1@x", 4);
	assert_false(ctld_relay_answering(&c, call));
	assert_true(ctld_relay_answering(&c, calls_find(c.calls, "b1@x", 4)));

	/* call_list fails: what node_adopt named moves, nothing ends */
	pthread_mutex_lock(&fa_mtx);
	fa_adopt[0] = "a1@x";
	snprintf(fa_list_error, sizeof(fa_list_error), "restoring");
	pthread_mutex_unlock(&fa_mtx);
	assert_int_equal(session_adopt(&c, 1), -1);
	assert_string_equal(fa_asked, "nB");
	assert_string_equal(calls_find(c.calls, "a1@x", 4)->relay_node, "nA");
	assert_int_equal(calls_count(c.calls), 4);
	assert_string_equal(calls_find(c.calls, "a2@x", 4)->relay_node, "nB");

	/* the retry: node_adopt names a2 and an orphan, call_list a1 a2
	 * b1; a3 is held by nobody */
	pthread_mutex_lock(&fa_mtx);
	fa_adopt[0] = "a2@x";
	fa_adopt[1] = "orphan@x";
	fa_list[0] = "a1@x";
	fa_list[1] = "a2@x";
	fa_list[2] = "b1@x";
	fa_list_error[0] = '\0';
	pthread_mutex_unlock(&fa_mtx);
	assert_int_equal(session_adopt(&c, 1), 0);
	assert_string_equal(calls_find(c.calls, "a1@x", 4)->relay_node, "nA");
	assert_string_equal(calls_find(c.calls, "a2@x", 4)->relay_node, "nA");
	assert_null(calls_find(c.calls, "a3@x", 4));
	assert_int_equal(calls_count(c.calls), 3);
	assert_int_equal(fa_ndeleted, 1);
	assert_string_equal(fa_deleted[0], "orphan@x");

	/* a call of the dead node ends at once, nothing asked of relayd */
	call = fa_call(&c, "a4@x", "nB");
	t0 = daemon_now_ms();
	session_end(&c, &call, SESSION_DELETED, 0, NULL);
	assert_true(daemon_now_ms() - t0 < 100);
	assert_int_equal(fa_ndeleted, 1);

	/* a node not in relay_nodes: its calls are adopted */
	fa_call(&c, "u1@x", "nOld");
	pthread_mutex_lock(&fa_mtx);
	fa_adopt[0] = "u1@x";
	fa_adopt[1] = NULL;
	fa_list[0] = "u1@x";
	fa_list[1] = NULL;
	pthread_mutex_unlock(&fa_mtx);
	assert_false(ctld_relay_answering(&c, calls_find(c.calls, "u1@x",
	    4)));
	session_adopt_unknown(&c);
	assert_string_equal(fa_asked, "nOld");
	assert_string_equal(calls_find(c.calls, "u1@x", 4)->relay_node, "nA");
	/* its calls all adopted: not asked again */
	fa_adopts = 0;
	session_adopt_unknown(&c);
	assert_int_equal(fa_adopts, 0);

	/* nA restarts (silent): a call of it ended meanwhile gets its
	 * call_delete once nA answers again, a call of the same id made
	 * since does not */
	fa_mute = 1;
	call = calls_find(c.calls, "b1@x", 4);
	t0 = daemon_now_ms();
	while (ctld_relay_answering(&c, call) && daemon_now_ms() - t0 < 3000) {
		nodes_tick(c.nodes, daemon_now_ms());
		usleep(20000);
	}
	assert_false(nodes_answering(c.nodes, 0));
	assert_false(ctld_relay_answering(&c, call));
	session_end(&c, &call, SESSION_DELETED, 0, NULL);
	call = calls_find(c.calls, "a1@x", 4);
	session_end(&c, &call, SESSION_DELETED, 0, NULL);
	fa_call(&c, "a1@x", "nA");	/* offered again since */
	assert_int_equal(c.ngone, 3);	/* and a4 of nB, still silent */
	session_gone_flush(&c);
	assert_int_equal(c.ngone, 3);
	assert_int_equal(fa_ndeleted, 1);
	fa_mute = 0;
	t0 = daemon_now_ms();
	while (!nodes_answering(c.nodes, 0) && daemon_now_ms() - t0 < 3000) {
		nodes_tick(c.nodes, daemon_now_ms());
		usleep(20000);
	}
	assert_true(nodes_answering(c.nodes, 0));
	session_gone_flush(&c);
	assert_int_equal(c.ngone, 1);
	assert_int_equal(fa_ndeleted, 2);
	assert_string_equal(fa_deleted[1], "b1@x");
	session_gone_free(&c);

	fa_stop = 1;
	pthread_join(th, NULL);
	zsock_destroy(&router);
	nodes_destroy(&c.nodes);
	calls_destroy(&c.calls);
	unlink("/tmp/rtpsec-ut-ctld-adopt-a.sock");
}

/*
 * ctld's own stalls (a long request, a slow turn) are not the nodes'
 * silence: nodes_stalled() and a long gap between ticks move the
 * silence clock; a grace holds a busy node's death off.
 */
static void
test_nodes_stall(void **state)
{
	struct config	 cf;
	struct nodes	*ns;
	char		 err[256];
	uint64_t	 t;

	(void)state;
	assert_int_equal(config_load(&cf, NULL, err, sizeof(err)), 0);
	snprintf(cf.relay_nodes, sizeof(cf.relay_nodes),
	    "n1=ipc:///tmp/rtpsec-ut-none1.sock,ipc:///tmp/rtpsec-ut-p1.sock "
	    "n2=ipc:///tmp/rtpsec-ut-none2.sock,ipc:///tmp/rtpsec-ut-p2.sock");
	cf.relay_dead_ms = 1000;
	assert_non_null(ns = nodes_new(&cf, 1000, err, sizeof(err)));
	assert_int_equal(nodes_tick(ns, 1000), -1);	/* pings sent */
	assert_int_equal(nodes_tick(ns, 1250), -1);
	assert_true(nodes_answering(ns, 0));
	/* ctld blocked 5 s on a request */
	nodes_stalled(ns, 5000);
	assert_int_equal(nodes_tick(ns, 6300), -1);
	assert_true(nodes_alive(ns, 0));
	/* a loop turn 8 s long: taken for a stall as well */
	assert_int_equal(nodes_tick(ns, 14300), -1);
	assert_true(nodes_alive(ns, 0) && nodes_alive(ns, 1));
	/* n2 busy with our request: its silence counts from the grace */
	nodes_grace(ns, 1, 16000);
	assert_int_equal(nodes_tick(ns, 14550), 0);	/* n1: 1050 ms */
	assert_false(nodes_alive(ns, 0));
	for (t = 14800; t <= 16800; t += 250) {
		nodes_tick(ns, t);
		assert_true(nodes_alive(ns, 1));
	}
	nodes_tick(ns, 17050);
	assert_false(nodes_alive(ns, 1));
	nodes_destroy(&ns);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test_setup_teardown(test_sdes_no_usable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test(test_cache_bounds),
		cmocka_unit_test(test_tcp_framing),
		cmocka_unit_test(test_acl),
		cmocka_unit_test(test_table),
		cmocka_unit_test_setup_teardown(test_statistics, setup,
		    teardown),
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_flags),
		cmocka_unit_test_setup_teardown(test_too_large, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_random_input, setup,
		    teardown),
		cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_record_relay_node),
		cmocka_unit_test(test_ngpersist),
		cmocka_unit_test(test_resync),
		cmocka_unit_test(test_nodes_stall),
		cmocka_unit_test(test_adopt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
