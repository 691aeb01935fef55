/*
 * srtp: libsrtp2 sessions for one direction of a leg (see srtp.h).
 *
 * Policy choices (RFC 3711):
 *   - any SSRC (ssrc_any_inbound / ssrc_any_outbound): a leg's endpoint
 *     may change SSRC mid-call (re-INVITE, transfer) without signalling;
 *   - replay window of 1024 packets inbound (libsrtp2's default of 128 is
 *     small for a relay that sees bursts after a jitter buffer);
 *   - allow_repeat_tx outbound: a relayed retransmission (same sequence
 *     number from the source) is protected again, not refused;
 *   - ROC per SSRC carried across rekeys through explicit streams
 *     (srtp_add_stream + srtp_set_stream_roc on the new session).
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/crypto_types.h>

#include "relayd/srtp.h"

struct srtpx {
	srtp_t		 s;
	srtp_profile_t	 profile;
	int		 inbound;
	uint32_t	 ssrc[SRTPX_MAX_SSRC];	/* RTP SSRCs seen, for rekey */
	uint16_t	 seq[SRTPX_MAX_SSRC];	/* highest RTP seq of each */
	uint32_t	 rtcp[SRTPX_MAX_SSRC];	/* SRTCP protected, each */
	size_t		 nssrc;
	/* restored outbound SSRCs whose SRTCP index must first move past
	 * the saved one (srtpx_rtcp_skip) */
	struct srtpx_roc rskip[SRTPX_MAX_SSRC];
	size_t		 nrskip;
	/* restored streams whose first packet must still fix the ROC */
	struct srtpx_roc pend[SRTPX_MAX_SSRC];
	size_t		 npend;
	int		 dirty;		/* worker sets, srtpx_state clears */
};

/*
 * libsrtp2 initializes its crypto backend lazily, at the first session
 * and the first packet: OpenSSL loads its providers and configuration
 * file; NSS (Debian's libsrtp2) loads libsoftokn3 and reads
 * /proc/sys/crypto/fips_enabled, and unloads it all again when the last
 * session is freed.  One session per suite with a throw-away key, used
 * once each way, does that now, before the daemon confines itself
 * (chroot, seccomp: a confined process must not meet a first-use open(2)
 * or readlink(2), which the allow-list punishes with SIGSYS); one
 * session stays for the life of the process so that NSS never shuts down.
 */
static struct srtpx	*srtpx_keepalive;

static void
srtpx_warmup(void)
{
	static const srtp_profile_t ps[] = {
	    srtp_profile_aes128_cm_sha1_80, srtp_profile_aes128_cm_sha1_32,
	    SRTPX_PROFILE_AES192_CM_SHA1_80, SRTPX_PROFILE_AES256_CM_SHA1_80,
	    srtp_profile_aead_aes_128_gcm, srtp_profile_aead_aes_256_gcm };
	struct srtpx_key k;
	struct srtpx	*o, *i;
	uint8_t		 pkt[64 + SRTPX_OVERHEAD];
	char		 err[128];
	size_t		 n;
	int		 len, rtcp;

	for (n = 0; n < sizeof(ps) / sizeof(ps[0]); n++) {
		memset(&k, 0, sizeof(k));
		k.profile = ps[n];
		k.len = srtpx_key_len(ps[n]);
		o = srtpx_new(&k, 0, err, sizeof(err));
		i = srtpx_new(&k, 1, err, sizeof(err));
		for (rtcp = 0; o != NULL && i != NULL && rtcp < 2; rtcp++) {
			memset(pkt, 0, sizeof(pkt));
			pkt[0] = 0x80;
			pkt[1] = rtcp ? 200 : 0;
			len = 64;
			if (srtpx_protect(o, pkt, &len, rtcp) ==
			    srtp_err_status_ok)
				(void)srtpx_unprotect(i, pkt, &len, rtcp);
		}
		if (srtpx_keepalive == NULL && o != NULL) {
			srtpx_keepalive = o;
			o = NULL;
		}
		srtpx_destroy(&o);
		srtpx_destroy(&i);
	}
}

int
srtpx_init(void)
{
	if (srtp_init() != srtp_err_status_ok)
		return -1;
	srtpx_warmup();
	return 0;
}

size_t
srtpx_key_len(srtp_profile_t p)
{
	switch ((int)p) {
	case SRTPX_PROFILE_AES192_CM_SHA1_80:
	case SRTPX_PROFILE_AES192_CM_SHA1_32:
		return 24 + 14;		/* RFC 6188 */
	case SRTPX_PROFILE_AES256_CM_SHA1_80:
	case SRTPX_PROFILE_AES256_CM_SHA1_32:
		return 32 + 14;
	}
	return (size_t)srtp_profile_get_master_key_length(p) +
	    srtp_profile_get_master_salt_length(p);
}

/* The crypto policies of p for RTP and RTCP.  As libsrtp2 does for
 * AES_CM_128_HMAC_SHA1_32, the _32 suites keep the 80-bit tag on SRTCP
 * (RFC 4568 6.2.2). */
static int
srtpx_crypto(srtp_policy_t *pol, srtp_profile_t p)
{
	switch ((int)p) {
	case SRTPX_PROFILE_AES192_CM_SHA1_80:
		srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80(&pol->rtcp);
		return 0;
	case SRTPX_PROFILE_AES192_CM_SHA1_32:
		srtp_crypto_policy_set_aes_cm_192_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80(&pol->rtcp);
		return 0;
	case SRTPX_PROFILE_AES256_CM_SHA1_80:
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtcp);
		return 0;
	case SRTPX_PROFILE_AES256_CM_SHA1_32:
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtcp);
		return 0;
	}
	if (srtp_crypto_policy_set_from_profile_for_rtp(&pol->rtp, p) !=
	    srtp_err_status_ok ||
	    srtp_crypto_policy_set_from_profile_for_rtcp(&pol->rtcp, p) !=
	    srtp_err_status_ok)
		return -1;
	return 0;
}

/* Fills policy for k; the key bytes stay in k (libsrtp2 copies them). */
static int
srtpx_policy(srtp_policy_t *pol, const struct srtpx_key *k, int inbound,
    char *err, size_t errlen)
{
	size_t	 want = srtpx_key_len(k->profile);

	memset(pol, 0, sizeof(*pol));
	if (want == 0 || k->len != want || k->len > sizeof(k->key)) {
		snprintf(err, errlen, "key length %zu, the suite needs %zu",
		    k->len, want);
		return -1;
	}
	if (srtpx_crypto(pol, k->profile) == -1) {
		snprintf(err, errlen, "suite not supported by libsrtp2");
		return -1;
	}
	if ((k->unencrypted_srtp || k->unencrypted_srtcp ||
	    k->unauthenticated_srtp) &&
	    (k->profile == srtp_profile_aead_aes_128_gcm ||
	    k->profile == srtp_profile_aead_aes_256_gcm)) {
		snprintf(err, errlen, "session parameters not supported with "
		    "an AEAD suite");
		return -1;
	}
	/* RFC 4568 6.3.1-6.3.3; SRTCP keeps its authentication */
	pol->rtp.sec_serv = (srtp_sec_serv_t)((k->unencrypted_srtp ? sec_serv_none :
	    sec_serv_conf) | (k->unauthenticated_srtp ? sec_serv_none :
	    sec_serv_auth));
	if (k->unauthenticated_srtp) {
		/* no tag at all: libsrtp2 takes the tag length off an
		 * unprotected packet whatever sec_serv says */
		pol->rtp.auth_type = SRTP_NULL_AUTH;
		pol->rtp.auth_key_len = 0;
		pol->rtp.auth_tag_len = 0;
	}
	pol->rtcp.sec_serv = k->unencrypted_srtcp ? sec_serv_auth :
	    sec_serv_conf_and_auth;
	pol->ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol->key = (unsigned char *)k->key;
	pol->window_size = 1024;
	pol->allow_repeat_tx = !inbound;
	return 0;
}

/*
 * A new session for k with an explicit stream for each of the n SSRCs in
 * r, starting at its ROC (a rekey carries the old session's; a restart
 * the persisted ones).
 */
static srtp_t
srtpx_session(const struct srtpx_key *k, int inbound,
    const struct srtpx_roc *r, size_t n, char *err, size_t errlen)
{
	srtp_policy_t	 pol, one;
	srtp_t		 s;
	size_t		 i;

	if (srtpx_policy(&pol, k, inbound, err, errlen) == -1)
		return NULL;
	if (srtp_create(&s, &pol) != srtp_err_status_ok) {
		snprintf(err, errlen, "srtp_create failed");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		one = pol;
		one.ssrc.type = ssrc_specific;
		one.ssrc.value = r[i].ssrc;
		if (srtp_add_stream(s, &one) != srtp_err_status_ok ||
		    srtp_set_stream_roc(s, r[i].ssrc, r[i].roc) !=
		    srtp_err_status_ok) {
			snprintf(err, errlen, "cannot carry the rollover "
			    "counter of SSRC %u", r[i].ssrc);
			srtp_dealloc(s);
			return NULL;
		}
	}
	return s;
}

/* The SSRCs of x that carried packets, with their ROCs and seqs. */
static size_t
srtpx_rocs(const struct srtpx *x, struct srtpx_roc *r)
{
	size_t	 i, n = 0;

	for (i = 0; i < x->nssrc; i++) {
		if (srtp_get_stream_roc(x->s, x->ssrc[i], &r[n].roc) !=
		    srtp_err_status_ok)
			continue;	/* never carried a packet */
		r[n].ssrc = x->ssrc[i];
		r[n].seq = x->seq[i];
		r[n].rtcp = x->rtcp[i];
		n++;
	}
	return n;
}

struct srtpx *
srtpx_new(const struct srtpx_key *k, int inbound, char *err, size_t errlen)
{
	struct srtpx	*x;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((x->s = srtpx_session(k, inbound, NULL, 0, err, errlen)) == NULL) {
		free(x);
		return NULL;
	}
	x->profile = k->profile;
	x->inbound = inbound;
	return x;
}

struct srtpx *
srtpx_restore(const struct srtpx_key *k, int inbound,
    const struct srtpx_roc *r, size_t n, char *err, size_t errlen)
{
	struct srtpx	*x;
	size_t		 i;

	if (n > SRTPX_MAX_SSRC)
		n = SRTPX_MAX_SSRC;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((x->s = srtpx_session(k, inbound, r, n, err, errlen)) == NULL) {
		free(x);
		return NULL;
	}
	x->profile = k->profile;
	x->inbound = inbound;
	for (i = 0; i < n; i++) {
		x->ssrc[i] = r[i].ssrc;
		x->seq[i] = r[i].seq;
		x->rtcp[i] = r[i].rtcp;
		x->pend[i] = r[i];
		/* even at a saved 0: up to SRTPX_RTCP_SAVE - 1 packets may
		 * have gone since the last save */
		if (!inbound)
			x->rskip[x->nrskip++] = r[i];
	}
	x->nssrc = x->npend = n;
	return x;
}

void
srtpx_destroy(struct srtpx **xp)
{
	if (xp == NULL || *xp == NULL)
		return;
	srtp_dealloc((*xp)->s);	/* libsrtp2 zeroizes its key schedules */
	free(*xp);
	*xp = NULL;
}

int
srtpx_rekey(struct srtpx *x, const struct srtpx_key *k, char *err,
    size_t errlen)
{
	srtp_t			 s;
	struct srtpx_roc	 r[SRTPX_MAX_SSRC];

	/* srtpx_state, not srtpx_rocs: a restored SSRC not heard from yet
	 * has only its saved ROC (libsrtp's pending one reads as 0), and
	 * its pend entry stays to be fixed by its first packet */
	if ((s = srtpx_session(k, x->inbound, r, srtpx_state(x, r), err,
	    errlen)) == NULL)
		return -1;
	srtp_dealloc(x->s);
	x->s = s;
	x->profile = k->profile;
	return 0;
}

/* The SSRC of an RTP (bytes 8-11) or RTCP (4-7) packet; 0 if too short. */
static int
srtpx_ssrc(const void *pkt, int len, int rtcp, uint32_t *ssrc)
{
	const uint8_t	*p = (const uint8_t *)pkt + (rtcp ? 4 : 8);

	if (len < (rtcp ? 8 : 12))
		return 0;
	*ssrc = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	return 1;
}

/*
 * After a packet protected, or unprotected and authenticated (libsrtp2
 * makes a stream per SSRC from the template only then): an endpoint
 * cycling SSRCs would otherwise make the packet path allocate without
 * bound.  The session keeps at most SRTPX_MAX_SSRC streams: a new SSRC
 * past that evicts the one unseen longest (a real SSRC change keeps
 * working; only a returning old SSRC loses its replay and ROC state).
 * Packets that fail to authenticate change nothing here.
 */
static uint16_t
srtpx_seq(const void *pkt)
{
	const uint8_t	*p = pkt;

	return (uint16_t)(p[2] << 8 | p[3]);
}

/*
 * The persisted (ROC, seq) of each SSRC must stay within half a seq
 * cycle of the truth for a restart to guess the ROC right (see
 * srtpx_fix_roc), so the state is marked for saving whenever the seq
 * enters another quarter of the cycle: four saves per 65536 packets.
 */
static void
srtpx_note_seq(struct srtpx *x, size_t i, uint16_t seq, int fresh)
{
	if (fresh || ((seq ^ x->seq[i]) & 0xc000) != 0)
		__atomic_store_n(&x->dirty, 1, __ATOMIC_RELAXED);
	x->seq[i] = seq;
}

/* An SRTCP packet protected (outbound) or accepted: the outbound count
 * is the SRTCP index, saved every SRTPX_RTCP_SAVE packets. */
static void
srtpx_note_rtcp(struct srtpx *x, size_t i)
{
	if (x->inbound)
		return;
	if (++x->rtcp[i] % SRTPX_RTCP_SAVE == 0)
		__atomic_store_n(&x->dirty, 1, __ATOMIC_RELAXED);
}

static void
srtpx_admit(struct srtpx *x, const void *pkt, int len, int rtcp)
{
	uint32_t	 ssrc;
	uint16_t	 seq;
	size_t		 i;

	if (!srtpx_ssrc(pkt, len, rtcp, &ssrc))
		return;
	seq = rtcp ? 0 : srtpx_seq(pkt);
	for (i = 0; i < x->nssrc; i++)
		if (x->ssrc[i] == ssrc) {
			/* most recent last: the one evicted is the one
			 * unseen longest */
			if (i + 1 < x->nssrc) {
				uint16_t sq = x->seq[i];
				uint32_t rc = x->rtcp[i];

				memmove(x->ssrc + i, x->ssrc + i + 1,
				    (x->nssrc - i - 1) * sizeof(x->ssrc[0]));
				memmove(x->seq + i, x->seq + i + 1,
				    (x->nssrc - i - 1) * sizeof(x->seq[0]));
				memmove(x->rtcp + i, x->rtcp + i + 1,
				    (x->nssrc - i - 1) * sizeof(x->rtcp[0]));
				i = x->nssrc - 1;
				x->ssrc[i] = ssrc;
				x->seq[i] = sq;
				x->rtcp[i] = rc;
			}
			if (!rtcp)
				srtpx_note_seq(x, i, seq, 0);
			else
				srtpx_note_rtcp(x, i);
			return;
		}
	if (x->nssrc == SRTPX_MAX_SSRC) {
		(void)srtp_remove_stream(x->s, htonl(x->ssrc[0]));
		memmove(x->ssrc, x->ssrc + 1,
		    (SRTPX_MAX_SSRC - 1) * sizeof(x->ssrc[0]));
		memmove(x->seq, x->seq + 1,
		    (SRTPX_MAX_SSRC - 1) * sizeof(x->seq[0]));
		memmove(x->rtcp, x->rtcp + 1,
		    (SRTPX_MAX_SSRC - 1) * sizeof(x->rtcp[0]));
		x->nssrc--;
	}
	i = x->nssrc++;
	x->ssrc[i] = ssrc;
	x->seq[i] = 0;
	x->rtcp[i] = 0;
	if (!rtcp)
		srtpx_note_seq(x, i, seq, 1);
	else
		srtpx_note_rtcp(x, i);
}

/*
 * The first RTP packet of a restored SSRC: its ROC is the one that puts
 * the packet's index nearest the persisted index (RFC 3711 3.3.1's
 * estimate, from the saved state instead of the lost one), handed to
 * libsrtp2 as the stream's pending ROC.  Within half a cycle of the
 * persisted seq this is exact, which the quarter saves guarantee unless
 * the relay was down for more than about 16000 packets of that stream.
 */
static int
srtpx_fix_roc(struct srtpx *x, const void *pkt, int len)
{
	uint32_t	 ssrc, roc;
	int64_t		 saved, best, c, d, bd = 0;
	size_t		 i;
	int		 k;

	if (!srtpx_ssrc(pkt, len, 0, &ssrc))
		return -1;
	for (i = 0; i < x->npend; i++)
		if (x->pend[i].ssrc == ssrc)
			break;
	if (i == x->npend)
		return -1;
	saved = (int64_t)x->pend[i].roc << 16 | x->pend[i].seq;
	best = -1;
	for (k = -1; k <= 1; k++) {
		if ((int64_t)x->pend[i].roc + k < 0)
			continue;
		c = ((int64_t)x->pend[i].roc + k) << 16 | srtpx_seq(pkt);
		d = c > saved ? c - saved : saved - c;
		if (best == -1 || d < bd) {
			best = c;
			bd = d;
		}
	}
	roc = (uint32_t)(best >> 16);
	if (roc != x->pend[i].roc)
		(void)srtp_set_stream_roc(x->s, ssrc, roc);
	return (int)i;
}

/*
 * After the packet srtpx_fix_roc guessed for (pend entry i, or -1): the
 * guess is final once a packet authenticates with it.  A packet that
 * fails (forged, or a stray from before the restart) must not fix the
 * ROC: the pending ROC goes back to the saved one and the next packet of
 * the SSRC guesses again, else one bad packet would break the stream.
 */
static void
srtpx_fixed(struct srtpx *x, int i, int ok)
{
	if (i < 0)
		return;
	if (ok)
		x->pend[i] = x->pend[--x->npend];
	else
		(void)srtp_set_stream_roc(x->s, x->pend[i].ssrc,
		    x->pend[i].roc);
}

/*
 * The first SRTCP packet of a restored outbound SSRC: libsrtp2 starts
 * the SRTCP index at 1 again and offers no way to set it, so copies of
 * the packet are protected and thrown away until the index is past the
 * saved one plus SRTPX_RTCP_MARGIN: reusing an index under the same key
 * would reuse keystream (RFC 3711 3.4), and the peer would drop our
 * reports as replays.  About a microsecond each, once per SSRC.
 */
static void
srtpx_rtcp_skip(struct srtpx *x, const void *pkt, int len)
{
	uint8_t		 scratch[2048 + SRTPX_OVERHEAD];
	uint32_t	 ssrc, n, skip;
	size_t		 i, j;
	int		 l;

	if (!srtpx_ssrc(pkt, len, 1, &ssrc))
		return;
	for (i = 0; i < x->nrskip; i++)
		if (x->rskip[i].ssrc == ssrc)
			break;
	if (i == x->nrskip)
		return;
	skip = x->rskip[i].rtcp + SRTPX_RTCP_MARGIN;
	x->rskip[i] = x->rskip[--x->nrskip];
	if (len <= 0 || (size_t)len > sizeof(scratch) - SRTPX_OVERHEAD)
		return;
	for (n = 0; n < skip; n++) {
		memcpy(scratch, pkt, (size_t)len);
		l = len;
		if (srtp_protect_rtcp(x->s, scratch, &l) != srtp_err_status_ok)
			break;
	}
	explicit_bzero(scratch, sizeof(scratch));
	for (j = 0; j < x->nssrc; j++)
		if (x->ssrc[j] == ssrc)
			x->rtcp[j] = n;
}

srtp_err_status_t
srtpx_protect(struct srtpx *x, void *pkt, int *len, int rtcp)
{
	srtp_err_status_t	 st;
	int			 fix = -1;

	if (x->nrskip != 0 && rtcp)
		srtpx_rtcp_skip(x, pkt, *len);
	if (x->npend != 0 && !rtcp)
		fix = srtpx_fix_roc(x, pkt, *len);
	st = rtcp ? srtp_protect_rtcp(x->s, pkt, len) :
	    srtp_protect(x->s, pkt, len);
	srtpx_fixed(x, fix, st == srtp_err_status_ok);
	if (st == srtp_err_status_ok)
		srtpx_admit(x, pkt, *len, rtcp);
	return st;
}

srtp_err_status_t
srtpx_unprotect(struct srtpx *x, void *pkt, int *len, int rtcp)
{
	srtp_err_status_t	 st;
	int			 fix = -1;

	if (x->npend != 0 && !rtcp)
		fix = srtpx_fix_roc(x, pkt, *len);
	st = rtcp ? srtp_unprotect_rtcp(x->s, pkt, len) :
	    srtp_unprotect(x->s, pkt, len);
	srtpx_fixed(x, fix, st == srtp_err_status_ok);
	if (st == srtp_err_status_ok)
		srtpx_admit(x, pkt, *len, rtcp);
	return st;
}

uint32_t
srtpx_roc(const struct srtpx *x, uint32_t ssrc)
{
	uint32_t	 roc = 0;

	if (srtp_get_stream_roc(x->s, ssrc, &roc) != srtp_err_status_ok)
		return 0;
	return roc;
}

int
srtpx_dirty(struct srtpx *x)
{
	return __atomic_load_n(&x->dirty, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&x->dirty, 0, __ATOMIC_RELAXED);
}

size_t
srtpx_state(const struct srtpx *x, struct srtpx_roc *r)
{
	size_t	 n, i, j;

	n = srtpx_rocs(x, r);
	/* restored SSRCs not heard from since keep their saved state */
	for (i = 0; i < x->npend && n < SRTPX_MAX_SSRC; i++) {
		for (j = 0; j < n; j++)
			if (r[j].ssrc == x->pend[i].ssrc)
				break;
		if (j == n)
			r[n++] = x->pend[i];
		else {
			/* its RTP is not back yet, its SRTCP may be */
			uint32_t rtcp = r[j].rtcp;

			r[j] = x->pend[i];
			if (rtcp > r[j].rtcp)
				r[j].rtcp = rtcp;
		}
	}
	return n;
}
