/*
 * sdes_neg: the pure decisions of SDES-SRTP bridging (docs/srtp.md,
 * "Which leg speaks SRTP"): which side of a media speaks SDES-SRTP, the
 * m= protocol written towards each side, the suites offered to the
 * callee (ng transport-protocol, SDES-off, SDES-no-<suite>,
 * SDES-only-<suite> and the SDES list forms), and which a=crypto line of
 * a peer's SDP rtpsec takes.  No I/O: offer.c drives keyd with the
 * results.
 *
 * SDES-SRTP means the m= protocol RTP/SAVP or RTP/SAVPF exactly;
 * UDP/TLS/RTP/SAVP(F) is DTLS-SRTP, which this module does not handle.
 */
#ifndef CTLD_SDES_NEG_H
#define CTLD_SDES_NEG_H

#include <stddef.h>
#include <stdint.h>

#include "libcommon/ngval.h"
#include "libcommon/sdes.h"
#include "libcommon/sdp.h"

#define SDES_NEG_PROTOLEN	32

/* What an offer asks for the callee's side. */
struct sdes_neg_opts {
	char		 proto[SDES_NEG_PROTOLEN];	/* transport-protocol, ""
							 * when absent */
	int		 off;		/* SDES-off / SDES: [off] */
	unsigned	 suites;	/* bit (1 << enum sdes_suite): offered */
	int		 pad;		/* SDES-pad: base64-pad the keys we write
					 * (RFC 4648; some peers need it) */
	unsigned	 params;	/* SDES_P_* session parameters (RFC 4568
					 * 6.3) on the lines we offer:
					 * unencrypted_srtp, unencrypted_srtcp,
					 * unauthenticated_srtp set one,
					 * encrypted_srtp, encrypted_srtcp,
					 * authenticated_srtp clear it; the last
					 * word wins */
};

/* Reads transport-protocol, the SDES-* flags and the SDES list of an ng
 * offer or answer dict.  Unknown SDES words are ignored (rtpengine's
 * lifetime, static ... which rtpsec does not implement). */
void		 sdes_neg_opts(const struct ngval *dict, struct sdes_neg_opts *);
/* 1 for RTP/SAVP and RTP/SAVPF, else 0. */
int		 sdes_neg_is_srtp(const char *proto);
/* proto turned to SDES-SRTP (srtp = 1) or plain: RTP/AVP <-> RTP/SAVP,
 * RTP/AVPF <-> RTP/SAVPF; any other protocol is returned unchanged.
 * Returns a static string or proto itself. */
const char	*sdes_neg_map(const char *proto, int srtp);
/* The protocol written on the m= line towards the callee for a media
 * the offerer sent with pproto: transport-protocol when given, else
 * pproto; made plain when SDES is off or every suite is filtered out.
 * Non-RTP media keep pproto.  Returns a static string, pproto, or
 * o->proto. */
const char	*sdes_neg_callee_proto(const struct sdes_neg_opts *o,
		    const char *pproto);
/* Restricts o to the suites of the configured list ([ctld] sdes_suites;
 * empty: all), before the callee's protocol is decided. */
void		 sdes_neg_restrict(struct sdes_neg_opts *o, const char *order_cfg);
/* The names of the suites to offer, in the configured order (empty: the
 * default, rtpengine's); returns how many (at most SDES_NSUITES) were
 * written to names. */
size_t		 sdes_neg_suites(const struct sdes_neg_opts *o,
		    const char *order_cfg, const char **names);
/*
 * The first a=crypto line of media idx that rtpsec can use: sdes_parse
 * accepts it with a known suite, one key, no MKI, no KDR, and session
 * parameters (UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP)
 * only with a non-AEAD suite (relayd refuses them with GCM).  Returns 0
 * with *val and *len the attribute value (after "a=crypto:", pointing into
 * the SDP), *suite, *tag and *params (SDES_P_*; params may be NULL); -1
 * when the media has none.
 */
int		 sdes_neg_pick(const struct sdp_session *, size_t idx,
		    const char **val, size_t *len, enum sdes_suite *suite,
		    uint32_t *tag, unsigned *params);

#endif
