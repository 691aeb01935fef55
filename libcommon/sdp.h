/*
 * sdp: a strict SDP parser (RFC 8866, RFC 3605 a=rtcp) with explicit
 * lengths.  It keeps every line, in order, so that a rewrite can reproduce
 * what it does not understand; ctld/sdp_rewrite.c produces the SDP a relay
 * hands on.
 *
 * The parse accepts CRLF or LF line ends, requires v= first, o= and s=, an
 * m= line per media with a numeric port (and optional /count), and a
 * connection address for every media (its own c= or the session's).
 * Limits: SDP_MAX_MEDIA media sections, SDP_MAX_LINES lines in all,
 * SDP_MAX_FMTS formats per m= line.
 */
#ifndef RTPSEC_SDP_H
#define RTPSEC_SDP_H

#include <stddef.h>

#include "libcommon/ngval.h"

#define SDP_MAX_MEDIA	16
#define SDP_MAX_LINES	512
#define SDP_ADDRLEN	64
#define SDP_MAX_FMTS	256	/* formats on one m= line */

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

/*
 * The parsed lines, for ctld/sdp_rewrite.c.  Every line is kept in input
 * order; a= lines are classified so that a rewrite knows what it must
 * regenerate and what it passes on.  val/len is the text after "x=",
 * without the line end; it points into the parsed buffer.
 */
enum sdp_attr {
	SDP_A_NONE,		/* not an a= line */
	SDP_A_OTHER,		/* an attribute the rewrite passes on in place */
	SDP_A_RTPMAP,		/* a=rtpmap:<pt> ... (pt in sdp_line.pt) */
	SDP_A_FMTP,		/* a=fmtp:<pt> ... */
	SDP_A_RTCP_FB,		/* a=rtcp-fb:<pt> ... (not "*") */
	SDP_A_RTCP,		/* a=rtcp (RFC 3605) */
	SDP_A_RTCP_MUX,		/* a=rtcp-mux (RFC 5761) */
	SDP_A_DIR,		/* sendrecv, sendonly, recvonly, inactive */
	SDP_A_PTIME,		/* a=ptime */
	SDP_A_MID,		/* a=mid (RFC 5888) */
	SDP_A_ICE,		/* ice-ufrag/pwd/options/lite, candidate,
				 * end-of-candidates, remote-candidates */
	SDP_A_SEC,		/* crypto, setup, fingerprint, tls-id */
	SDP_A_BUNDLE		/* a=group:BUNDLE */
};

struct sdp_line {
	char		 type;		/* 'v', 'o', 'm', 'c', 'a', ... */
	enum sdp_attr	 attr;
	int		 pt;		/* rtpmap/fmtp/rtcp-fb payload type, else -1 */
	const char	*val;		/* not NUL-terminated */
	size_t		 len;
};

/* The session part (lines before the first m=), and media idx's lines
 * (its m= line first); NULL if idx is out of range.  *n is set. */
const struct sdp_line	*sdp_session_lines(const struct sdp_session *,
			    size_t *n);
const struct sdp_line	*sdp_media_lines(const struct sdp_session *,
			    size_t idx, size_t *n);
/* 1 if the media's own lines include a c=, else 0. */
int			 sdp_media_has_conn(const struct sdp_session *,
			    size_t idx);
/* RFC 3551 table 4/5 name of a static payload type ("PCMU/8000"), or
 * NULL for a dynamic or unassigned one. */
const char		*sdp_static_codec(unsigned pt);

#endif
