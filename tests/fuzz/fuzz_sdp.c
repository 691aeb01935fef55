/*
 * libFuzzer harness for libcommon/sdp and ctld/sdp_rewrite: arbitrary
 * bytes through the parser; an accepted SDP must describe sane media, and
 * its rewrite (made-up relay ports, the flags taken from the input's first
 * byte) must parse again with the same number of media.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/buf.h"
#include "libcommon/ngval.h"
#include "libcommon/sdp.h"
#include "ctld/sdp_rewrite.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ice[SDP_MAX_MEDIA] = { "a=ice-ufrag:x\r\n" };
	struct sdp_rewrite_media	 rm[SDP_MAX_MEDIA];
	struct sdp_media_info		 mi;
	struct sdp_rewrite		 rw;
	const struct sdp_session	*sdp, *again;
	struct ngarena			*arena;
	struct buf			 out;
	const char			*err;
	unsigned			 f;
	size_t				 i, n, lines;

	/* flags vary with the tail and length, not with the first byte,
	 * which is 'v' in every SDP worth rewriting */
	f = size > 0 ? (data[size - 1] ^ (unsigned)size) & 0xff : 0;
	if ((arena = ngarena_new()) == NULL)
		return 0;
	if ((sdp = sdp_parse(arena, (const char *)data, size, &err)) == NULL) {
		if (err == NULL)
			abort();
		ngarena_destroy(&arena);
		return 0;
	}
	n = sdp_media_count(sdp);
	if (n == 0 || n > SDP_MAX_MEDIA)
		abort();
	for (i = 0; i < n; i++) {
		if (sdp_media_info(sdp, i, &mi) == -1 || mi.rtp_port > 65535 ||
		    mi.rtcp_port > 65535 || (mi.family != 4 && mi.family != 6) ||
		    memchr(mi.addr, '\0', sizeof(mi.addr)) == NULL ||
		    memchr(mi.codec, '\0', sizeof(mi.codec)) == NULL)
			abort();
		rm[i].rtp_port = (i + f) % 3 == 0 ? 0 : 30000 + 2 * (unsigned)i;
		rm[i].rtcp_port = rm[i].rtp_port == 0 ? 0 : rm[i].rtp_port + 1;
	}
	if (sdp_media_info(sdp, n, &mi) != -1)
		abort();

	memset(&rw, 0, sizeof(rw));
	rw.addr = f & 1 ? "2001:db8::1" : "192.0.2.1";
	rw.family = f & 1 ? 6 : 4;
	rw.media = rm;
	rw.nmedia = n;
	rw.replace_origin = (f >> 1) & 1;
	rw.replace_session_conn = (f >> 2) & 1;
	rw.ice_remove = (f >> 3) & 1;
	rw.full_rtcp_attr = (f >> 4) & 1;
	rw.no_rtcp_attr = (f >> 5) & 1;
	rw.sdp_version = (f >> 6) & 1;
	rw.rtcp_mux_add = (f >> 7) & 1;
	rw.sec_remove = (f >> 3) & 1;
	rw.mid_strip = (f >> 5) & 1;
	rw.proto = f & 4 ? "RTP/SAVP" : NULL;
	rw.ice_lines = f & 8 ? ice : NULL;
	buf_init(&out);
	if (sdp_rewrite(sdp, &rw, &out, &err) == -1 || out.oom)
		abort();
	/* Synthesised a=rtpmap and added a=rtcp lines may take a rewrite of
	 * a near-limit SDP over SDP_MAX_LINES; below it, it must parse. */
	for (lines = 0, i = 0; i < out.len; i++)
		lines += out.p[i] == '\n';
	again = sdp_parse(arena, out.p, out.len, &err);
	if (lines <= SDP_MAX_LINES &&
	    (again == NULL || sdp_media_count(again) != n))
		abort();
	buf_free(&out);
	ngarena_destroy(&arena);
	return 0;
}
