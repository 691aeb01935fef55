/*
 * sdp_rewrite: the SDP ctld hands on, rtpengine 10.5's way
 * (../shared/reference/ng-protocol.md section 6): m= ports and c= addresses
 * point at the relay; o= only with replace:origin; a=rtcp:<port> (short
 * form) added unless no-rtcp-attribute, full form with full-rtcp-attribute;
 * ICE attributes consumed with ICE=remove; unknown lines kept in order.
 *
 * Per media (RTP profiles), after the kept lines: a=mid, per payload type
 * of the m= line a=rtpmap (synthesised for RFC 3551 static types) with its
 * a=fmtp and a=rtcp-fb, direction (always; the session's is moved here),
 * a=rtcp, a=rtcp-mux, crypto/DTLS lines, a=ptime, ICE lines.  A media the
 * rewrite rejects (rtp_port 0) keeps only m= (port 0), c=, the kept lines
 * and a=mid.  a=group:BUNDLE is dropped; an m= port count (/n) is not
 * passed on.  A c= with the zero address (hold) is kept unless
 * replace_zero_addr.  Non-RTP media (m=application, m=image ...) keep their
 * attributes in place; only port and c= change.
 */
#ifndef RTPSEC_SDP_REWRITE_H
#define RTPSEC_SDP_REWRITE_H

#include <stddef.h>

#include "libcommon/buf.h"
#include "libcommon/sdp.h"

/* Where the receiver of the rewritten SDP must send one media's packets. */
struct sdp_rewrite_media {
	unsigned	 rtp_port;	/* 0 = keep the media rejected (port 0) */
	unsigned	 rtcp_port;
};

struct sdp_rewrite {
	const char	*addr;		/* relay address written to c= (and o=) */
	int		 family;	/* 4 or 6 */
	const struct sdp_rewrite_media *media;	/* one per m= line, in order */
	size_t		 nmedia;
	unsigned	 replace_origin:1;	/* replace: origin */
	unsigned	 replace_session_conn:1; /* replace: session-connection */
	unsigned	 ice_remove:1;		/* ICE: remove */
	unsigned	 no_rtcp_attr:1;	/* flags: no-rtcp-attribute */
	unsigned	 full_rtcp_attr:1;	/* flags: full-rtcp-attribute */
	unsigned	 sdp_version:1;		/* replace: SDP-version (bump o= version) */
	unsigned	 rtcp_mux_add:1;	/* rtcp-mux: offer (add a=rtcp-mux) */
	unsigned	 rtcp_mux_strip:1;	/* do not pass an a=rtcp-mux on (demux,
						 * or an answer to a non-mux offerer) */
	unsigned	 sec_remove:1;		/* drop a=crypto/setup/fingerprint/tls-id */
	unsigned	 replace_zero_addr:1;	/* also rewrite a c= of 0.0.0.0 or ::
						 * (hold), which is kept by default */
	unsigned	 mid_strip:1;		/* drop a=mid (an answer to an offer
						 * that had none) */
	const char	*proto;		/* transport-protocol for the RTP media;
					 * NULL keeps each media's own */
	/* Optional, NULL or nmedia entries (an entry may be NULL): the
	 * protocol of that RTP media, which overrides proto (SDES bridging
	 * maps each media's own, AVP <-> SAVP). */
	const char *const *protos;
	/* Optional, NULL or nmedia entries (an entry may be NULL): complete
	 * CRLF-terminated lines that replace the input's crypto/DTLS lines
	 * (sec_lines) or ICE lines (ice_lines) of that media, for when ctld
	 * generates its own.  Written verbatim in rtpengine's places. */
	const char *const *sec_lines;
	const char *const *ice_lines;
};

/* Appends the rewritten SDP to out (CRLF line ends).  Returns 0, or -1 with
 * a static reason in *err (nmedia does not match the SDP, out of memory). */
int	sdp_rewrite(const struct sdp_session *, const struct sdp_rewrite *,
	    struct buf *out, const char **err);

#endif
