/*
 * sdp_rewrite: the SDP ctld hands on, rtpengine 10.5's way
 * (../shared/reference/ng-protocol.md section 6): m= ports and c= addresses
 * point at the relay; o= only with replace:origin; a=rtcp:<port> (short
 * form) added unless no-rtcp-attribute, full form with full-rtcp-attribute;
 * ICE attributes consumed with ICE=remove; unknown lines kept in order.
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
};

/* Appends the rewritten SDP to out (CRLF line ends).  Returns 0, or -1 with
 * a static reason in *err (nmedia does not match the SDP, out of memory). */
int	sdp_rewrite(const struct sdp_session *, const struct sdp_rewrite *,
	    struct buf *out, const char **err);

#endif
