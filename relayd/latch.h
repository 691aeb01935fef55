/*
 * latch: strict latching (symmetric RTP) and packet classification.
 *
 * A stream learns its peer from the first valid RTP/RTCP packet (RFC 3550
 * version 2; >= 12 bytes for RTP, >= 8 for RTCP; RTCP told from RTP by
 * payload type 200..204, RFC 5761 4).  After that only that source is
 * accepted; leg_update resetting the advertised endpoint resets the latch.
 * Pure functions: no I/O, no allocation; called per packet by io.c.
 */
#ifndef RTPSEC_RELAYD_LATCH_H
#define RTPSEC_RELAYD_LATCH_H

#include <stddef.h>
#include <stdint.h>

#include "relayd/relay.h"

enum latch_kind {
	LATCH_GARBAGE,
	LATCH_RTP,
	LATCH_RTCP
};

/* Classifies a packet; *ssrc set for RTP and RTCP. */
enum latch_kind	latch_classify(const uint8_t *, size_t, uint32_t *ssrc);
/* 1 if the two addresses are the same address and port. */
int		latch_addr_eq(const struct relay_addr *,
		    const struct sockaddr_storage *, socklen_t);
/*
 * Decides on a packet of kind k from src received by s: returns -1 and
 * accepts (latching s on its first valid packet), or the drop reason.
 * latch_check() = latch_accept() + latch_learn().
 */
int		latch_check(struct stream *s, enum latch_kind k,
		    const struct sockaddr_storage *src, socklen_t srclen);
/*
 * The two halves, for SRTP (only a packet that authenticates may latch):
 * latch_accept() decides without changing s (-1 or the drop reason;
 * before the first latch any source is accepted), the caller then
 * authenticates the packet and calls latch_learn(), which latches s on
 * src if it is not latched yet.
 */
int		latch_accept(const struct stream *s, enum latch_kind k,
		    const struct sockaddr_storage *src, socklen_t srclen);
void		latch_learn(struct stream *s,
		    const struct sockaddr_storage *src, socklen_t srclen);
/* SRTP only: moves s's latch to src after a packet from src has
 * authenticated (a key holder's new address: NAT rebinding, handover).
 * Plain RTP never re-latches (no proof of who sent it). */
void		latch_relearn(struct stream *s,
		    const struct sockaddr_storage *src, socklen_t srclen);
/* Where a packet received by s goes: the peer stream's latched address,
 * else its advertised one; NULL if none (no_peer). */
const struct relay_addr *latch_dest(const struct stream *s);
/* Forget the learned source (leg_update changed the endpoint). */
void		latch_reset(struct stream *s);

#endif
