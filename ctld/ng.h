/*
 * ng: the framing of the rtpengine ng protocol (reference ng-protocol.md
 * section 1): one message is `COOKIE SP DICT`, the reply `COOKIE SP DICT`
 * with the same cookie.
 *
 *  - no space, or a space first: no reply at all (logged, counted);
 *  - empty payload: "Invalid data (no payload)";
 *  - 'd' starts bencode, '{' JSON (the reply is then JSON too), anything
 *    else "Invalid NG data format";
 *  - undecodable bencode: "Could not decode bencode dictionary".
 *
 * Replies are cached by cookie (ngcache.h).  A reply that does not fit the
 * transport (UDP: 65507 bytes) is replaced by an error reply, never lost.
 * Over TCP the same messages follow each other on the stream;
 * ng_tcp_msglen() finds where one ends (the dict is self-delimiting).
 */
#ifndef CTLD_NG_H
#define CTLD_NG_H

#include <sys/types.h>

#include <stddef.h>

#include "libcommon/buf.h"
#include "libcommon/ngval.h"
#include "ctld/ngcmd.h"

#define NG_UDP_MAX	65507	/* largest UDP payload over IPv4 */
#define NG_TCP_MAX	(1024 * 1024)	/* largest message on a TCP stream */
#define NG_COOKIE_MAX	256

struct ctld;

/* Splits a message: 0 with cookie and payload, -1 if it has no cookie
 * (no space, or an empty cookie): such a message gets no reply. */
int	ng_split(const char *data, size_t len, const char **cookie,
	    size_t *clen, const char **payload, size_t *plen);
/*
 * Decodes payload, runs its command and appends the encoded reply dict
 * (bencode, or JSON for a JSON request) to out.  src is the source
 * address, for statistics.  Returns the command run (NG_CMD_UNKNOWN when
 * none was).
 */
enum ng_cmd ng_run(struct ctld *, const char *payload, size_t plen,
	    const char *src, struct buf *out);
/*
 * One message, with the reply cache: appends "COOKIE SP REPLY" to out and
 * returns 0 (send it), or -1 (send nothing).  maxlen bounds the whole
 * reply.
 */
int	ng_handle(struct ctld *, const char *data, size_t len,
	    const char *src, struct buf *out, size_t maxlen);
/* Length of the first complete message in a TCP stream buffer; 0 when
 * more bytes are needed, -1 when the data can never frame. Leading
 * whitespace (CR, LF, SP, TAB) is part of the message it precedes. */
ssize_t	ng_tcp_msglen(const char *data, size_t len);
/* Encodes a reply dict the way the request came: json != 0 for JSON. */
int	ng_encode(struct buf *, const struct ngval *, int json);

#endif
