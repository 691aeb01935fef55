/*
 * srtp: one direction of SRTP/SRTCP on one leg, over libsrtp2 (RFC 3711).
 *
 * A leg that speaks SRTP has two transforms: inbound (unprotect what the
 * leg's endpoint sends) and outbound (protect what is relayed to it).
 * Each wraps one libsrtp2 session whose policy accepts any SSRC; libsrtp2
 * keeps the rollover counter and the replay window per SSRC.
 *
 * Rekeying (a re-offer with new keys) must not reset the rollover counter
 * (RFC 3711 3.3.1): srtpx_rekey() creates the new session with an explicit
 * stream for every SSRC the old one carried and copies each stream's ROC
 * into it, then swaps.  The swap happens on the worker thread that owns
 * the leg, between two packets, so no packet in flight meets a half-built
 * session.
 *
 * Key material is copied into libsrtp2 and wiped from every buffer of this
 * module; it never reaches a log line.
 */
#ifndef RTPSEC_RELAYD_SRTP_H
#define RTPSEC_RELAYD_SRTP_H

#include <stddef.h>
#include <stdint.h>

#include <srtp2/srtp.h>

#include "libcommon/sdes.h"

/* An SRTP master key and salt for one suite (libsrtp2 profile). */
struct srtpx_key {
	srtp_profile_t	 profile;
	uint8_t		 key[64];	/* master key || master salt */
	size_t		 len;		/* must equal the profile's */
	/* RFC 4568 6.3 session parameters (0: the full services).  SRTCP
	 * is always authenticated; unauthenticated_srtp drops the SRTP
	 * tag only.  Not with the AEAD (GCM) suites. */
	int		 unencrypted_srtp;
	int		 unencrypted_srtcp;
	int		 unauthenticated_srtp;
};

/*
 * Suites libsrtp2 implements but srtp_profile_t does not name (RFC 6188
 * AES-192/256 counter mode): values outside libsrtp2's enum, accepted by
 * every srtpx function that takes a profile.  libcommon/sdes.h owns them
 * (its suite table maps RFC 4568 names to profiles).
 */
#define SRTPX_PROFILE_AES192_CM_SHA1_80	SDES_PROFILE_AES192_CM_SHA1_80
#define SRTPX_PROFILE_AES192_CM_SHA1_32	SDES_PROFILE_AES192_CM_SHA1_32
#define SRTPX_PROFILE_AES256_CM_SHA1_80	SDES_PROFILE_AES256_CM_SHA1_80
#define SRTPX_PROFILE_AES256_CM_SHA1_32	SDES_PROFILE_AES256_CM_SHA1_32

/* The extra bytes srtpx_protect may append: the auth tag and MKI, and for
 * SRTCP the 4-byte E flag + index (srtp_protect_rtcp needs
 * SRTP_MAX_TRAILER_LEN + 4). */
#define SRTPX_OVERHEAD	(SRTP_MAX_TRAILER_LEN + 4)

/* SSRCs a session keeps streams for (the oldest is evicted past that),
 * remembered for ROC carry-over across a rekey. */
#define SRTPX_MAX_SSRC	8

struct srtpx;

/* One SSRC's rollover counter and highest sequence number, persisted so
 * that a restarted relayd resumes mid-call (DESIGN.md). */
struct srtpx_roc {
	uint32_t	 ssrc;
	uint32_t	 roc;
	uint16_t	 seq;
	/* outbound: SRTCP packets protected (the SRTCP index in use), so
	 * that a restarted relay never sends an index twice under one key
	 * (RFC 3711 3.4; saved every SRTPX_RTCP_SAVE packets) */
	uint32_t	 rtcp;
};

/* SRTCP indexes a restored outbound stream skips beyond the saved one
 * (more than the packets sent between two saves). */
#define SRTPX_RTCP_SAVE		64
#define SRTPX_RTCP_MARGIN	(2 * SRTPX_RTCP_SAVE)

/* Once per process, before any other call and before confinement (it
 * runs libsrtp2's lazy crypto initialization, see srtp.c); 0 or -1. */
int		 srtpx_init(void);
/* Key length (key + salt) libsrtp2 expects for profile; 0 if unknown. */
size_t		 srtpx_key_len(srtp_profile_t);
/* Owned transform, or NULL with a reason in err (no key material). */
struct srtpx	*srtpx_new(const struct srtpx_key *, int inbound, char *err,
		    size_t errlen);
void		 srtpx_destroy(struct srtpx **);
/* Replaces the keys, keeping each known SSRC's rollover counter.  On
 * failure the old keys stay in force.  0 or -1 with err. */
int		 srtpx_rekey(struct srtpx *, const struct srtpx_key *,
		    char *err, size_t errlen);

/* In place.  protect: *len grows by at most SRTPX_OVERHEAD, which the
 * caller's buffer must have room for.  unprotect: *len shrinks.  Return
 * srtp_err_status_ok or libsrtp2's status (auth_fail, replay_fail,
 * replay_old, ...), which the caller counts as the drop reason. */
srtp_err_status_t srtpx_protect(struct srtpx *, void *pkt, int *len,
		    int rtcp);
srtp_err_status_t srtpx_unprotect(struct srtpx *, void *pkt, int *len,
		    int rtcp);
/* The rollover counter of ssrc (0 if unknown), for the Redis record. */
uint32_t	 srtpx_roc(const struct srtpx *, uint32_t ssrc);

/* A transform restored after a restart: explicit streams for the n SSRCs
 * of r (at most SRTPX_MAX_SSRC) at their saved ROC; the first RTP packet
 * of each then corrects the ROC from its seq against the saved seq. */
struct srtpx	*srtpx_restore(const struct srtpx_key *, int inbound,
		    const struct srtpx_roc *r, size_t n, char *err,
		    size_t errlen);
/* 1 once after the worker saw an SSRC's seq enter another quarter of
 * its cycle (or a new SSRC): time to persist srtpx_state(). */
int		 srtpx_dirty(struct srtpx *);
/* The state to persist: up to SRTPX_MAX_SSRC entries in r.  Under the
 * worker's lock. */
size_t		 srtpx_state(const struct srtpx *, struct srtpx_roc *r);

#endif
