/*
 * relay: the data model shared by relayd's modules.
 *
 * A call (by SIP call-id) has legs (by ctld's opaque leg id); a leg has
 * media (one per m= line); a media has two streams, RTP and RTCP, on an
 * even/odd port pair.  All streams of a call belong to one worker thread
 * (chosen by hashing the call-id), so both legs' sockets are polled and
 * written by the same thread and forwarding needs no lock per packet.
 *
 * Ownership (see io.c for the locking scheme):
 *   - the call table, calls, legs and media are created, changed and freed
 *     by the control thread only, always while holding the owning worker's
 *     mutex when a stream's fields marked "ctl, under lock" change;
 *   - the worker holds its mutex for one epoll_wait batch, never per packet;
 *   - stream counters are written by the worker only (relaxed atomic
 *     stores) and read by the control thread with relaxed atomic loads.
 */
#ifndef RTPSEC_RELAY_H
#define RTPSEC_RELAY_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <time.h>

#include "relayd/srtp.h"

struct ports;

#define RELAY_MAX_MEDIA	16
#define RELAY_IDLEN	128

/* X(enum, "reason"): why a packet was dropped (metric label). */
#define RELAY_DROPS(X)				\
	X(WRONG_SOURCE, "wrong_source")		\
	X(NO_PEER, "no_peer")			\
	X(MALFORMED, "malformed")		\
	X(SEND_ERROR, "send_error")		\
	X(SRTP_AUTH, "srtp_auth")		\
	X(SRTP_REPLAY, "srtp_replay")		\
	X(SRTP_ERROR, "srtp_error")

#define RELAY_DROP_ENUM(e, s)	RELAY_DROP_##e,
enum relay_drop {
	RELAY_DROPS(RELAY_DROP_ENUM)
	RELAY_DROP_COUNT
};
extern const char *const relay_drop_names[RELAY_DROP_COUNT];

/* Counters: single writer (the worker), relaxed loads by the control. */
#define RELAY_INC(field, n)						\
	__atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#define RELAY_LOAD(field)	__atomic_load_n(&(field), __ATOMIC_RELAXED)

/* An IPv4 or IPv6 endpoint: 28 bytes, not sockaddr_storage's 128 (four
 * per media, so this is a good part of relayd's memory per call). */
union relay_sa {
	struct sockaddr		 sa;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
};

struct relay_addr {
	union relay_sa		 ss;
	socklen_t		 len;		/* 0: unset */
};

struct media;

struct stream {
	struct media		*media;		/* RO after create: owner */
	int			 fd;		/* RO after create */
	uint16_t		 port;		/* RO after create */
	int			 rtcp;		/* RO after create */
	uint32_t		 slot;		/* RO after create: io slot */
	uint32_t		 gen;		/* RO after create */
	struct stream		*peer;		/* ctl, under lock */
	struct relay_addr	 adv;		/* ctl, under lock */
	struct relay_addr	 latched;	/* worker; ctl resets under lock */
	int			 is_latched;	/* worker; ctl resets under lock */
	int			 latch_dirty;	/* worker sets, persist clears */
	/* counters: worker writes, ctl reads relaxed */
	uint64_t		 packets;
	uint64_t		 bytes;
	uint64_t		 drops[RELAY_DROP_COUNT];
	uint64_t		 last_packet;	/* unix s, 0 never */
	uint64_t		 srtp_decrypted; /* unprotected from endpoint */
	uint64_t		 srtp_encrypted; /* protected to endpoint */
	uint64_t		 relatched;	/* SRTP re-latches to a new
						   source that authenticated */
	uint32_t		 ssrc;
	int			 has_ssrc;
};

/*
 * One direction of SRTP on a media, for both its streams (SRTP on the
 * RTP stream and RTCP muxed on it, SRTCP on the RTCP stream).  x is
 * created, rekeyed and destroyed by the control thread under the worker's
 * lock and used (protect/unprotect change its replay and ROC state) by
 * the worker under the same lock.  key is kept to tell a repeated
 * srtp_set from a rekey; wiped when the media is freed or goes plain.
 */
enum { RELAY_SRTP_IN, RELAY_SRTP_OUT };

struct relay_srtp {
	struct srtpx		*x;		/* NULL: plain RTP */
	struct srtpx_key	 key;		/* ctl only */
	/* keyd's AEAD-wrapped copy of key (docs/ipc.md srtp_set), what the
	 * Redis record keeps; NULL if keyd sent none: then a restart cannot
	 * restore this direction.  ctl only. */
	uint8_t			*wrapped;
	size_t			 wrapped_len;
};

struct media {
	unsigned		 index;		/* 1-based */
	int			 pair;		/* ports.c pair index */
	struct ports		*pool;		/* the pair's allocator */
	struct stream		 s[2];		/* [0] RTP, [1] RTCP */
	struct relay_srtp	 srtp[2];	/* [RELAY_SRTP_IN/OUT] */
};

struct leg {
	char			*peer;		/* NULL: none */
	struct ports		*pool;		/* where its media bind */
	unsigned		 nmedia;
	struct media		*media[RELAY_MAX_MEDIA];
	struct leg		*next;
	char			 id[];		/* sized to fit */
};

struct call {
	uint64_t		 created;	/* unix s */
	uint64_t		 created_mono;	/* ms */
	uint64_t		 saved_ms;	/* persist: last write, 0 never */
	uint64_t		 restored;	/* unix s: restored, 0 never */
	int			 dirty;		/* persist: write it (ctl) */
	struct call		*dnext;		/* persist: dirty list */
	int			 worker;
	struct leg		*legs;
	struct call		*next;		/* hash chain */
	char			 id[];		/* sized to fit */
};

#endif
