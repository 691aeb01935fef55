/*
 * ng: rtpload's ng client and the SDP of its calls.
 *
 * Only standard ng (rtpengine's ng-protocol): "<cookie> <bencode dict>"
 * over UDP, one request in flight.  A request is resent with the same
 * cookie when no reply came within NG_WAIT_MS, NG_TRIES times in all, so
 * a relay's reply cache answers a retransmission without running the
 * command twice.
 *
 * Ports: the offer's reply carries the SDP the callee receives, so its
 * m= port is where the callee sends; the answer's reply is the caller's,
 * so its port (and, with -S, its a=crypto) is the caller's.  The SRTP
 * caller offers RTP/SAVP with transport-protocol RTP/AVP, which both
 * rtpsec and rtpengine take as "plain towards the callee"; each answers
 * the offerer RTP/SAVP with its own key for the offered tag.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcommon/bencode.h"
#include "libcommon/buf.h"
#include "libcommon/ngval.h"
#include "libcommon/sdes.h"
#include "libcommon/sdp.h"
#include "tools/rtpload/rtpload.h"

#define NG_WAIT_MS	2000
#define NG_TRIES	3
#define NG_RXBUF	65536

struct ng_client {
	int		 fd;
	unsigned	 seq;
	char		 rx[NG_RXBUF];
};

struct ng_sdp {
	struct in_addr		 addr;
	int			 port;
	int			 have_crypto;
	struct sdes_crypto	 crypto;
};

struct ng_client *
ng_new(const struct sockaddr_in *sin, char *err, size_t errlen)
{
	struct ng_client	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((c->fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    connect(c->fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1) {
		snprintf(err, errlen, "ng socket: %s", strerror(errno));
		if (c->fd != -1)
			close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

void
ng_destroy(struct ng_client **cp)
{
	if (*cp == NULL)
		return;
	close((*cp)->fd);
	free(*cp);
	*cp = NULL;
}

/*
 * Sends cmd and waits for the reply with the same cookie.  Returns the
 * decoded reply dict (in a, pointing into c->rx) or NULL with err; a
 * relay that never answered sets *timeout.
 */
static struct ngval *
ng_request(struct ng_client *c, struct ngarena *a, const struct ngval *cmd,
    int *timeout, char *err, size_t errlen)
{
	struct buf	 b;
	struct pollfd	 pfd;
	struct ngval	*r;
	const char	*derr;
	char		 cookie[32];
	size_t		 clen;
	ssize_t		 n;
	uint64_t	 deadline, now;
	int		 tries, left;

	*timeout = 0;
	clen = (size_t)snprintf(cookie, sizeof(cookie), "%d_%u ",
	    (int)getpid(), ++c->seq);
	buf_init(&b);
	buf_secret(&b);		/* an SRTP offer's SDP holds our key */
	buf_add(&b, cookie, clen);
	if (bencode_encode(&b, cmd) == -1 || b.oom) {
		buf_wipe(&b);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (tries = 0; tries < NG_TRIES; tries++) {
		if (send(c->fd, b.p, b.len, 0) == -1 && errno != ECONNREFUSED) {
			snprintf(err, errlen, "ng send: %s", strerror(errno));
			buf_wipe(&b);
			return NULL;
		}
		deadline = proc_now_mono() + NG_WAIT_MS * 1000000ull;
		for (;;) {
			now = proc_now_mono();
			if (now >= deadline)
				break;
			left = (int)((deadline - now + 999999) / 1000000);
			pfd.fd = c->fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, left) <= 0)
				continue;
			n = recv(c->fd, c->rx, sizeof(c->rx), 0);
			if (n == -1) {
				if (errno == ECONNREFUSED) {
					/* nothing listens: wait out the try */
					usleep(100000);
				}
				continue;
			}
			if ((size_t)n < clen ||
			    memcmp(c->rx, cookie, clen) != 0)
				continue;	/* a late reply to an older try */
			buf_wipe(&b);
			r = bencode_decode(a, c->rx + clen, (size_t)n - clen,
			    &derr);
			if (r == NULL || r->type != NGV_DICT) {
				snprintf(err, errlen, "malformed ng reply: %s",
				    r == NULL ? derr : "not a dict");
				return NULL;
			}
			return r;
		}
	}
	buf_wipe(&b);
	*timeout = 1;
	snprintf(err, errlen, "no ng reply after %d tries of %d ms",
	    NG_TRIES, NG_WAIT_MS);
	return NULL;
}

/* 0 if result is "ok" (or "pong"), else -1 with the reason in err. */
static int
ng_result(const struct ngval *r, const char *cmd, char *err, size_t errlen)
{
	const char	*s;
	size_t		 len;

	if (ngval_get_str(r, "result", &s, &len) == -1) {
		snprintf(err, errlen, "%s: reply without result", cmd);
		return -1;
	}
	if ((len == 2 && memcmp(s, "ok", 2) == 0) ||
	    (len == 4 && memcmp(s, "pong", 4) == 0))
		return 0;
	if (ngval_get_str(r, "error-reason", &s, &len) == -1) {
		s = "no reason given";
		len = strlen(s);
	}
	snprintf(err, errlen, "%s: %.*s", cmd, (int)(len > 200 ? 200 : len),
	    s);
	return -1;
}

int
ng_ping(struct ng_client *c, char *err, size_t errlen)
{
	struct ngarena	*a;
	struct ngval	*cmd, *r;
	int		 timeout, rc = -1;

	if ((a = ngarena_new()) == NULL)
		return -1;
	if ((cmd = ngval_dict(a)) != NULL &&
	    ngval_put_str(a, cmd, "command", "ping") == 0 &&
	    (r = ng_request(c, a, cmd, &timeout, err, errlen)) != NULL)
		rc = ng_result(r, "ping", err, errlen);
	ngarena_destroy(&a);
	return rc;
}

/* "rtpload-<pid>-<i>"; calls set up again (--saturate) add a generation. */
static void
ng_callid(const struct rl *rl, unsigned i, char *id, size_t len)
{
	if (rl->gen == 0)
		snprintf(id, len, "rtpload-%d-%u", (int)getpid(), i);
	else
		snprintf(id, len, "rtpload-%d-%u-%u", (int)getpid(), rl->gen,
		    i);
}

/* ---- SDP ---------------------------------------------------------------- */

static void
ng_sdp_build(struct buf *b, const struct sockaddr_in *sin, unsigned sess,
    const char *proto, const struct sdes_crypto *crypto)
{
	char	 addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
	buf_printf(b, "v=0\r\no=- %u 1 IN IP4 %s\r\ns=rtpload\r\n"
	    "c=IN IP4 %s\r\nt=0 0\r\nm=audio %u %s 0\r\n", sess, addr, addr,
	    ntohs(sin->sin_port), proto);
	if (crypto != NULL)
		sdes_format(b, crypto);
	buf_addstr(b, "a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n");
}

/*
 * Reads the relay's SDP s[0..len) with libcommon's SDP parser (the one
 * ctld uses, fuzzed by fuzz_sdp): the first audio media's address and
 * port and, among its lines, an AES_CM_128_HMAC_SHA1_80 crypto line (tag
 * 1 preferred).  Returns 0 or -1 with err.
 */
static int
ng_sdp_parse(const char *s, size_t len, struct ng_sdp *out, char *err,
    size_t errlen)
{
	struct ngarena		*a;
	struct sdp_session	*sdp;
	struct sdp_media_info	 mi;
	const struct sdp_line	*ln;
	struct sdes_crypto	 c;
	const char		*why = NULL;
	size_t			 i, k, n;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	if ((a = ngarena_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((sdp = sdp_parse(a, s, len, &why)) == NULL) {
		snprintf(err, errlen, "relay's SDP: %s", why);
		goto done;
	}
	for (i = 0; i < sdp_media_count(sdp); i++)
		if (sdp_media_info(sdp, i, &mi) == 0 &&
		    strcmp(mi.type, "audio") == 0)
			break;
	if (i == sdp_media_count(sdp) || mi.family != 4 ||
	    mi.rtp_port == 0 || mi.rtp_port > 65535 ||
	    inet_pton(AF_INET, mi.addr, &out->addr) != 1) {
		snprintf(err, errlen, "relay's SDP: no IPv4 audio media");
		goto done;
	}
	out->port = (int)mi.rtp_port;
	ln = sdp_media_lines(sdp, i, &n);
	for (k = 0; ln != NULL && k < n; k++) {
		if (ln[k].attr != SDP_A_SEC || ln[k].len < 7 ||
		    memcmp(ln[k].val, "crypto:", 7) != 0)
			continue;
		if (sdes_parse(ln[k].val + 7, ln[k].len - 7, &c, NULL, 0) == 0 &&
		    c.suite == SDES_AES_CM_128_HMAC_SHA1_80 && c.mki_len == 0 &&
		    (!out->have_crypto || (c.tag == 1 &&
		    out->crypto.tag != 1))) {
			out->crypto = c;
			out->have_crypto = 1;
		}
		sdes_crypto_wipe(&c);
	}
	rc = 0;
 done:
	ngarena_destroy(&a);
	return rc;
}

/* Runs one offer or answer; fills sdp from the reply. */
static int
ng_offer_answer(struct ng_client *c, struct rl *rl, unsigned i, int answer,
    const struct sdes_crypto *crypto, struct ng_sdp *sdp, int *timeout,
    char *err, size_t errlen)
{
	struct ngarena	*a;
	struct ngval	*cmd, *r, *sdpv = NULL;
	struct buf	 b;
	char		 id[64], from[32], to[32];
	const char	*s;
	size_t		 len;
	unsigned	 sk = rl->st[2 * i + (answer ? 1 : 0)].sock;
	int		 rc = -1;

	*timeout = 0;
	if ((a = ngarena_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	buf_init(&b);
	buf_secret(&b);
	ng_sdp_build(&b, &rl->sock_addr[sk], 2 * i + (answer ? 1 : 0),
	    crypto != NULL ? "RTP/SAVP" : "RTP/AVP", crypto);
	ng_callid(rl, i, id, sizeof(id));
	snprintf(from, sizeof(from), "a%u", i);
	snprintf(to, sizeof(to), "b%u", i);
	if ((cmd = ngval_dict(a)) == NULL ||
	    ngval_put_str(a, cmd, "command", answer ? "answer" : "offer") ||
	    ngval_put_str(a, cmd, "call-id", id) ||
	    ngval_put_str(a, cmd, "from-tag", from) ||
	    (answer && ngval_put_str(a, cmd, "to-tag", to)) ||
	    (!answer && rl->o.srtp &&
	    ngval_put_str(a, cmd, "transport-protocol", "RTP/AVP")) ||
	    b.oom || ngval_put_strn(a, cmd, "sdp", b.p, b.len)) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	sdpv = ngval_get(cmd, "sdp");
	if ((r = ng_request(c, a, cmd, timeout, err, errlen)) == NULL ||
	    ng_result(r, answer ? "answer" : "offer", err, errlen) == -1)
		goto done;
	if (ngval_get_str(r, "sdp", &s, &len) == -1) {
		snprintf(err, errlen, "%s reply without sdp",
		    answer ? "answer" : "offer");
		goto done;
	}
	rc = ng_sdp_parse(s, len, sdp, err, errlen);
done:
	/* the arena holds a copy of our key in the SDP string */
	if (sdpv != NULL)
		explicit_bzero((void *)(uintptr_t)sdpv->s, sdpv->len);
	buf_wipe(&b);
	explicit_bzero(c->rx, sizeof(c->rx));
	ngarena_destroy(&a);
	return rc;
}

static int
ng_srtp_new(srtp_t *s, const struct sdes_crypto *c, int inbound)
{
	srtp_policy_t	 pol;
	int		 rc;

	if (*s != NULL) {
		srtp_dealloc(*s);
		*s = NULL;
	}
	memset(&pol, 0, sizeof(pol));
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.key = (unsigned char *)(uintptr_t)c->key;
	pol.window_size = 1024;
	pol.allow_repeat_tx = 0;
	rc = srtp_create(s, &pol) == srtp_err_status_ok ? 0 : -1;
	explicit_bzero(&pol, sizeof(pol));
	return rc;
}

int
ng_call_setup(struct ng_client *c, struct rl *rl, unsigned i, uint64_t *us,
    int *timeout, char *err, size_t errlen)
{
	struct sdes_crypto	 key, *kp = NULL;
	struct ng_sdp		 off, ans;
	struct rl_stream	*up = &rl->st[2 * i], *down = &rl->st[2 * i + 1];
	uint64_t		 t0;
	int			 rc = -1;

	memset(&key, 0, sizeof(key));
	memset(&ans, 0, sizeof(ans));
	if (rl->o.srtp) {
		if (sdes_keygen(&key, SDES_AES_CM_128_HMAC_SHA1_80, 1) == -1) {
			snprintf(err, errlen, "key generation failed");
			return -1;
		}
		kp = &key;
	}
	t0 = proc_now_mono();
	if (ng_offer_answer(c, rl, i, 0, kp, &off, timeout, err,
	    errlen) == -1)
		goto done;
	rl->call[i].offered = 1;
	if (ng_offer_answer(c, rl, i, 1, NULL, &ans, timeout, err,
	    errlen) == -1)
		goto done;
	*us = (proc_now_mono() - t0) / 1000;
	if (rl->o.srtp && !ans.have_crypto) {
		snprintf(err, errlen, "answer reply without an "
		    "AES_CM_128_HMAC_SHA1_80 a=crypto");
		goto done;
	}
	/* caller -> callee goes to the caller leg's relay port */
	up->dst.sin_family = AF_INET;
	up->dst.sin_addr = ans.addr;
	up->dst.sin_port = htons((uint16_t)ans.port);
	down->dst.sin_family = AF_INET;
	down->dst.sin_addr = off.addr;
	down->dst.sin_port = htons((uint16_t)off.port);
	/* what the callee receives comes from the callee leg's port */
	rl->port_map[off.port] = 2 * i + 1;
	rl->port_map[ans.port] = 2 * i + 2;
	if (rl->o.srtp) {
		if (ng_srtp_new(&rl->call[i].tx, &key, 0) == -1) {
			snprintf(err, errlen, "srtp_create failed");
			goto done;
		}
		if (ng_srtp_new(&rl->call[i].rx, &ans.crypto, 1) == -1) {
			snprintf(err, errlen, "srtp_create failed");
			goto done;
		}
	}
	rl->call[i].up = 1;
	rc = 0;
done:
	sdes_crypto_wipe(&key);
	sdes_crypto_wipe(&ans.crypto);
	return rc;
}

int
ng_call_delete(struct ng_client *c, struct rl *rl, unsigned i, uint64_t *us,
    int *timeout, char *err, size_t errlen)
{
	struct ngarena	*a;
	struct ngval	*cmd, *r;
	char		 id[64], tag[32];
	uint64_t	 t0;
	int		 rc = -1;

	(void)rl;
	*timeout = 0;
	if ((a = ngarena_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ng_callid(rl, i, id, sizeof(id));
	snprintf(tag, sizeof(tag), "a%u", i);
	t0 = proc_now_mono();
	if ((cmd = ngval_dict(a)) == NULL ||
	    ngval_put_str(a, cmd, "command", "delete") ||
	    ngval_put_str(a, cmd, "call-id", id) ||
	    ngval_put_str(a, cmd, "from-tag", tag) ||
	    ngval_put_int(a, cmd, "delete-delay", 0))
		snprintf(err, errlen, "out of memory");
	else if ((r = ng_request(c, a, cmd, timeout, err, errlen)) != NULL &&
	    ng_result(r, "delete", err, errlen) == 0) {
		*us = (proc_now_mono() - t0) / 1000;
		rc = 0;
	}
	ngarena_destroy(&a);
	return rc;
}
