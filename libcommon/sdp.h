/*
 * sdp: a strict SDP parser (RFC 8866, RFC 3605 a=rtcp) with explicit
 * lengths.  It keeps every line, in order, so that a rewrite can reproduce
 * what it does not understand; ctld/sdp_rewrite.c produces the SDP a relay
 * hands on.
 *
 * The parse accepts CRLF or LF line ends, requires v= first, o= and s=, an
 * m= line per media with a numeric port (and optional /count), and a
 * connection address for every media (its own c= or the session's).
 * Limits: SDP_MAX_MEDIA media sections, SDP_MAX_LINES lines in all.
 */
#ifndef RTPSEC_SDP_H
#define RTPSEC_SDP_H

#include <stddef.h>

#include "libcommon/ngval.h"

#define SDP_MAX_MEDIA	16
#define SDP_MAX_LINES	512
#define SDP_ADDRLEN	64

enum sdp_dir { SDP_DIR_NONE, SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY,
	SDP_INACTIVE };

struct sdp_session;	/* opaque; allocated in the arena passed to parse */

/* What ctld needs to know of one m= section. Strings are NUL-terminated. */
struct sdp_media_info {
	char		 type[16];	/* "audio", "video", ... */
	char		 proto[32];	/* "RTP/AVP", ... */
	char		 codec[64];	/* first format's encoding, "PCMU/8000"; "" if none */
	char		 addr[SDP_ADDRLEN];	/* where the endpoint receives RTP */
	int		 family;	/* 4 or 6 */
	unsigned	 rtp_port;	/* 0 = rejected/disabled media */
	unsigned	 rtcp_port;	/* a=rtcp, else rtp_port + 1 */
	int		 rtcp_mux;	/* a=rtcp-mux present */
	enum sdp_dir	 dir;		/* media, else session, else SDP_SENDRECV */
	int		 ice;		/* ICE attributes present */
};

/* Parses len bytes of buf; returns the session (owned by the arena), or
 * NULL with a static reason in *err: "Failed to parse SDP" for a malformed
 * line, "Incomplete SDP specification" for a missing m= or c=.  The session
 * points into buf, which must outlive it. */
struct sdp_session	*sdp_parse(struct ngarena *, const char *buf, size_t len,
			    const char **err);
size_t			 sdp_media_count(const struct sdp_session *);
/* Returns 0, or -1 if idx is out of range. */
int			 sdp_media_info(const struct sdp_session *, size_t idx,
			    struct sdp_media_info *);

#endif
