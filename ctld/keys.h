/*
 * keys: ctld's client of keyd's SDES key service (docs/ipc.md, keyd
 * ROUTER: sdes_offer, sdes_select, sdes_answer, sdes_remote,
 * sdes_forget; the flow is docs/srtp.md).  Every request has the
 * deadline ipc_timeout_ms: a keyd that is down or slow yields -1 and a
 * reason, never a hang.
 *
 * The a=crypto lines keyd returns carry keys (SDES puts them in the SDP
 * by design): they go only into buffers marked buf_secret(), which the
 * caller buf_wipe()s.  ctld keeps no key; err never holds one (keyd's
 * errors never quote a key or a line).
 *
 * keyd installs the keys in relayd itself: the requests that make it push
 * (sdes_answer, sdes_select, sdes_remote) name the relay node holding the
 * call (`node`: the call's relay_node at the time of the request, so a
 * call adopted by another node gets its later keys there).  NULL or ""
 * sends none: keyd's first node, which is ctld's too.
 */
#ifndef CTLD_KEYS_H
#define CTLD_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "libcommon/buf.h"

struct keys;

struct keys	*keys_new(const char *endpoint, int timeout_ms);
void		 keys_destroy(struct keys **);
void		 keys_set_timeout(struct keys *, int timeout_ms);
/* 1 when the last request got no reply at all (keyd down or too slow)
 * and was sent less than 2 s ago. */
int		 keys_down(const struct keys *);

/* params: SDES_P_* (libcommon/sdes.h), the RFC 4568 6.3 session
 * parameters, sent as keyd's optional bools. */
/* sdes_offer for (call, leg, media) with the suites names[0..n) (n = 0:
 * keyd's default set) and the session parameters params on every line;
 * appends keyd's complete lines to out (marked secret).  0, or -1 with
 * err. */
int	keys_sdes_offer(struct keys *, const char *call, const char *leg,
	    unsigned media, const char *const *names, size_t n, int pad,
	    unsigned params, struct buf *out, char *err, size_t errlen);
/* sdes_answer: our key for suite under the offerer's tag, with the
 * offerer's line's params, installed in relay node `node`; appends the
 * line to out (marked secret) unless out is NULL.  0 or -1 with err. */
int	keys_sdes_answer(struct keys *, const char *node, const char *call,
	    const char *leg, unsigned media, const char *suite, uint32_t tag,
	    int pad, unsigned params, struct buf *out, char *err,
	    size_t errlen);
/* keys_sdes_remote then keys_sdes_answer for the same media, and
 * keys_sdes_select then keys_sdes_remote, each pair in one round trip to
 * keyd (which serves them in order).  0, or -1 with the first failure. */
int	keys_sdes_remote_answer(struct keys *, const char *node,
	    const char *call, const char *leg, unsigned media,
	    const char *line, size_t len, const char *suite, uint32_t tag,
	    int pad, unsigned params, struct buf *out, char *err,
	    size_t errlen);
int	keys_sdes_select_remote(struct keys *, const char *node,
	    const char *call, const char *leg, unsigned media, uint32_t tag,
	    const char *suite, unsigned params, const char *line, size_t len,
	    char *err, size_t errlen);
/* sdes_forget of the call's key sets (leg NULL) or one leg's. */
int	keys_sdes_forget(struct keys *, const char *call, const char *leg,
	    char *err, size_t errlen);

#endif
