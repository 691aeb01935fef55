/*
 * latch: strict latching and RTP/RTCP classification; see latch.h.
 *
 * RFC 3550 5.1 (RTP header), 6.4 (RTCP); RFC 5761 4 (RTCP payload types
 * 200..204 on a multiplexed port).  A packet that is neither is garbage
 * and never latches (no "RTP bleed" by STUN or random bytes).
 */
#include <netinet/in.h>

#include <string.h>

#include "relayd/latch.h"

enum latch_kind
latch_classify(const uint8_t *p, size_t len, uint32_t *ssrc)
{
	if (len < 8 || (p[0] >> 6) != 2)
		return LATCH_GARBAGE;
	if (p[1] >= 200 && p[1] <= 204) {
		*ssrc = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		    (uint32_t)p[6] << 8 | p[7];
		return LATCH_RTCP;
	}
	if (len < 12)
		return LATCH_GARBAGE;
	*ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
	    (uint32_t)p[10] << 8 | p[11];
	return LATCH_RTP;
}

int
latch_addr_eq(const struct relay_addr *a, const struct sockaddr_storage *ss,
    socklen_t len)
{
	const struct sockaddr_in	*x4, *y4;
	const struct sockaddr_in6	*x6, *y6;

	if (a->len == 0 || a->ss.sa.sa_family != ss->ss_family)
		return 0;
	(void)len;
	if (ss->ss_family == AF_INET) {
		x4 = (const struct sockaddr_in *)&a->ss;
		y4 = (const struct sockaddr_in *)ss;
		return x4->sin_port == y4->sin_port &&
		    x4->sin_addr.s_addr == y4->sin_addr.s_addr;
	}
	if (ss->ss_family == AF_INET6) {
		x6 = (const struct sockaddr_in6 *)&a->ss;
		y6 = (const struct sockaddr_in6 *)ss;
		return x6->sin6_port == y6->sin6_port &&
		    memcmp(&x6->sin6_addr, &y6->sin6_addr, 16) == 0;
	}
	return 0;
}

int
latch_accept(const struct stream *s, enum latch_kind k,
    const struct sockaddr_storage *src, socklen_t srclen)
{
	if (k == LATCH_GARBAGE)
		return RELAY_DROP_MALFORMED;
	if (!s->is_latched)
		return srclen > sizeof(s->latched.ss) ?
		    RELAY_DROP_MALFORMED : -1;
	if (!latch_addr_eq(&s->latched, src, srclen))
		return RELAY_DROP_WRONG_SOURCE;
	return -1;
}

void
latch_learn(struct stream *s, const struct sockaddr_storage *src,
    socklen_t srclen)
{
	if (!s->is_latched)
		latch_relearn(s, src, srclen);
}

void
latch_relearn(struct stream *s, const struct sockaddr_storage *src,
    socklen_t srclen)
{
	if (srclen > sizeof(s->latched.ss))
		return;
	memcpy(&s->latched.ss, src, srclen);
	s->latched.len = srclen;
	s->is_latched = 1;
	/* persisted by the control thread (persist.c) */
	__atomic_store_n(&s->latch_dirty, 1, __ATOMIC_RELAXED);
}

int
latch_check(struct stream *s, enum latch_kind k,
    const struct sockaddr_storage *src, socklen_t srclen)
{
	int	 why;

	if ((why = latch_accept(s, k, src, srclen)) >= 0)
		return why;
	latch_learn(s, src, srclen);
	return -1;
}

const struct relay_addr *
latch_dest(const struct stream *s)
{
	const struct stream	*d = s->peer;

	if (d == NULL)
		return NULL;
	if (d->is_latched)
		return &d->latched;
	if (d->adv.len != 0)
		return &d->adv;
	return NULL;
}

void
latch_reset(struct stream *s)
{
	s->is_latched = 0;
	memset(&s->latched, 0, sizeof(s->latched));
}
