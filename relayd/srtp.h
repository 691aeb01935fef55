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

/* An SRTP master key and salt for one suite (libsrtp2 profile). */
struct srtpx_key {
	srtp_profile_t	 profile;
	uint8_t		 key[64];	/* master key || master salt */
	size_t		 len;		/* must equal the profile's */
};

/* The extra bytes srtpx_protect may append (auth tag, SRTCP index). */
#define SRTPX_OVERHEAD	(SRTP_MAX_TRAILER_LEN)

/* SSRCs remembered for ROC carry-over across a rekey. */
#define SRTPX_MAX_SSRC	8

struct srtpx;

/* Once per process, before any other call; 0 or -1. */
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

#endif
