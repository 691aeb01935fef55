/*
 * io: epoll + recvmmsg/sendmmsg packet relay; see io.h for the interface
 * and the locking scheme.
 *
 * Per packet: classification and latching (latch.c), SRTP unprotect
 * between the source check and the latch, SRTP protect for the peer
 * (srtp.c, in place: each buffer has SRTPX_OVERHEAD spare bytes),
 * counter updates (relaxed stores, single writer), and a slot in the
 * next sendmmsg.  No allocation, no lock, no syscall per packet: one
 * recvmmsg per IO_BATCH packets and one sendmmsg per received batch (all
 * packets from one stream go out of the one peer socket).  The wall clock is read once
 * per epoll_wait batch.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libcommon/log.h"
#include "relayd/io.h"
#include "relayd/latch.h"

#define IO_EVENTS	64
#define IO_ROUNDS	4	/* recvmmsg rounds per socket per wakeup */

struct worker {
	struct io		*io;		/* RO */
	int			 id;		/* RO */
	int			 ep;		/* RO */
	pthread_t		 thread;
	int			 started;
	pthread_mutex_t		 mtx;
	struct io_totals	 c;		/* worker writes, ctl loads */
	/* worker only: */
	uint8_t			 buf[IO_BATCH][IO_BUFLEN];
	struct mmsghdr		 in[IO_BATCH];
	struct mmsghdr		 out[IO_BATCH];
	struct iovec		 iov[IO_BATCH];
	struct iovec		 oiov[IO_BATCH];
	struct sockaddr_storage	 src[IO_BATCH];
};

struct io {
	int			 nworkers;	/* RO */
	unsigned		 nslots;	/* RO */
	struct stream		**slots;	/* slot's worker's lock */
	struct worker		*w;		/* RO */
	int			 stop;		/* atomic */
};

static void
io_drop(struct worker *w, struct stream *s, int reason, unsigned n)
{
	RELAY_INC(s->drops[reason], n);
	RELAY_INC(w->c.drops[reason], n);
}

/* The drop reason of a libsrtp2 unprotect failure. */
static int
io_srtp_why(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_auth_fail:
		return RELAY_DROP_SRTP_AUTH;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return RELAY_DROP_SRTP_REPLAY;
	default:
		return RELAY_DROP_SRTP_ERROR;
	}
}

static void
io_drain(struct worker *w, struct stream *s, uint64_t now)
{
	const struct relay_addr	*dst;
	struct srtpx		*in, *out;
	srtp_err_status_t	 st;
	enum latch_kind		 k;
	uint32_t		 ssrc = 0;
	int			 r, i, n, sent, fail, round, why, plen, relatch;
	uint64_t		 bytes, dec, enc;
	size_t			 len;

	/* stable for the whole batch: changed only under our lock */
	in = s->media->srtp[RELAY_SRTP_IN].x;
	out = s->peer != NULL ? s->peer->media->srtp[RELAY_SRTP_OUT].x : NULL;

	for (round = 0; round < IO_ROUNDS; round++) {
		for (i = 0; i < IO_BATCH; i++) {
			w->iov[i].iov_base = w->buf[i];
			w->iov[i].iov_len = IO_PKTMAX;
			memset(&w->in[i].msg_hdr, 0, sizeof(struct msghdr));
			w->in[i].msg_hdr.msg_name = &w->src[i];
			w->in[i].msg_hdr.msg_namelen = sizeof(w->src[i]);
			w->in[i].msg_hdr.msg_iov = &w->iov[i];
			w->in[i].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(s->fd, w->in, IO_BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			return;
		n = 0;
		bytes = 0;
		dec = 0;
		enc = 0;
		for (i = 0; i < r; i++) {
			len = w->in[i].msg_len;
			if (w->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				io_drop(w, s, RELAY_DROP_MALFORMED, 1);
				continue;
			}
			k = latch_classify(w->buf[i], len, &ssrc);
			why = latch_accept(s, k, &w->src[i],
			    w->in[i].msg_hdr.msg_namelen);
			/* SRTP: a new source may take the latch over, but
			 * only with a packet that authenticates (and is no
			 * replay); anything else from it is wrong_source */
			relatch = why == RELAY_DROP_WRONG_SOURCE && in != NULL;
			if (why >= 0 && !relatch) {
				io_drop(w, s, why, 1);
				continue;
			}
			if (in != NULL) {
				plen = (int)len;
				st = srtpx_unprotect(in, w->buf[i], &plen,
				    k == LATCH_RTCP);
				if (st != srtp_err_status_ok) {
					io_drop(w, s, relatch ?
					    RELAY_DROP_WRONG_SOURCE :
					    io_srtp_why(st), 1);
					continue;
				}
				dec++;
			} else
				plen = (int)len;
			/* only now, authenticated when SRTP: latch */
			if (relatch) {
				latch_relearn(s, &w->src[i],
				    w->in[i].msg_hdr.msg_namelen);
				RELAY_INC(s->relatched, 1);
			} else
				latch_learn(s, &w->src[i],
				    w->in[i].msg_hdr.msg_namelen);
			RELAY_INC(s->packets, 1);
			RELAY_INC(s->bytes, len);	/* as received */
			len = (size_t)plen;
			__atomic_store_n(&s->last_packet, now,
			    __ATOMIC_RELAXED);
			__atomic_store_n(&s->ssrc, ssrc, __ATOMIC_RELAXED);
			__atomic_store_n(&s->has_ssrc, 1, __ATOMIC_RELAXED);
			if ((dst = latch_dest(s)) == NULL) {
				io_drop(w, s, RELAY_DROP_NO_PEER, 1);
				continue;
			}
			if (out != NULL) {
				plen = (int)len;
				st = srtpx_protect(out, w->buf[i], &plen,
				    k == LATCH_RTCP);
				if (st != srtp_err_status_ok) {
					io_drop(w, s, RELAY_DROP_SRTP_ERROR,
					    1);
					continue;
				}
				len = (size_t)plen;
				enc++;
			}
			w->oiov[n].iov_base = w->buf[i];
			w->oiov[n].iov_len = len;
			memset(&w->out[n].msg_hdr, 0, sizeof(struct msghdr));
			w->out[n].msg_hdr.msg_name = (void *)&dst->ss;
			w->out[n].msg_hdr.msg_namelen = dst->len;
			w->out[n].msg_hdr.msg_iov = &w->oiov[n];
			w->out[n].msg_hdr.msg_iovlen = 1;
			bytes += len;
			n++;
		}
		sent = 0;
		fail = 0;
		while (sent < n) {
			i = sendmmsg(s->peer->fd, w->out + sent, n - sent,
			    MSG_DONTWAIT);
			if (i <= 0) {
				/* skip the packet that failed, keep going */
				io_drop(w, s, RELAY_DROP_SEND_ERROR, 1);
				bytes -= w->oiov[sent].iov_len;
				sent++;
				fail++;
				continue;
			}
			sent += i;
		}
		RELAY_INC(w->c.packets, (uint64_t)(n - fail));
		RELAY_INC(w->c.bytes, bytes);
		if (dec != 0) {
			RELAY_INC(s->srtp_decrypted, dec);
			RELAY_INC(w->c.srtp_decrypted, dec);
		}
		if (enc != 0) {
			RELAY_INC(s->peer->srtp_encrypted, enc);
			RELAY_INC(w->c.srtp_encrypted, enc);
		}
		if (r < IO_BATCH)
			return;
	}
}

static void *
io_run(void *arg)
{
	struct worker		*w = arg;
	struct io		*io = w->io;
	struct epoll_event	 ev[IO_EVENTS];
	struct stream		*s;
	uint32_t		 slot, gen;
	uint64_t		 now;
	int			 n, i;

	while (!__atomic_load_n(&io->stop, __ATOMIC_RELAXED)) {
		n = epoll_wait(w->ep, ev, IO_EVENTS, 100);
		if (n <= 0)
			continue;
		now = (uint64_t)time(NULL);
		pthread_mutex_lock(&w->mtx);
		for (i = 0; i < n; i++) {
			slot = (uint32_t)ev[i].data.u64;
			gen = (uint32_t)(ev[i].data.u64 >> 32);
			if (slot >= io->nslots)
				continue;
			s = io->slots[slot];
			if (s == NULL || s->gen != gen)
				continue;
			io_drain(w, s, now);
		}
		pthread_mutex_unlock(&w->mtx);
	}
	return NULL;
}

struct io *
io_new(int nworkers, unsigned nslots)
{
	struct io	*io;
	int		 i;

	if (nworkers < 1)
		nworkers = 1;
	if ((io = calloc(1, sizeof(*io))) == NULL ||
	    (io->slots = calloc(nslots, sizeof(*io->slots))) == NULL ||
	    (io->w = calloc(nworkers, sizeof(*io->w))) == NULL) {
		log_warn("io_new");
		if (io != NULL)
			free(io->slots);
		free(io);
		return NULL;
	}
	io->nworkers = nworkers;
	io->nslots = nslots;
	for (i = 0; i < nworkers; i++) {
		io->w[i].io = io;
		io->w[i].id = i;
		pthread_mutex_init(&io->w[i].mtx, NULL);
		if ((io->w[i].ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
			log_warn("epoll_create1");
			io->nworkers = i;
			io_destroy(&io);
			return NULL;
		}
	}
	return io;
}

int
io_start(struct io *io)
{
	int	 i;

	for (i = 0; i < io->nworkers; i++) {
		if (pthread_create(&io->w[i].thread, NULL, io_run,
		    &io->w[i]) != 0) {
			log_warnx("pthread_create failed");
			return -1;
		}
		io->w[i].started = 1;
	}
	return 0;
}

void
io_destroy(struct io **iop)
{
	struct io	*io = *iop;
	int		 i;

	if (io == NULL)
		return;
	__atomic_store_n(&io->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < io->nworkers; i++) {
		if (io->w[i].started)
			pthread_join(io->w[i].thread, NULL);
		close(io->w[i].ep);
		pthread_mutex_destroy(&io->w[i].mtx);
	}
	free(io->w);
	free(io->slots);
	free(io);
	*iop = NULL;
}

int
io_nworkers(const struct io *io)
{
	return io->nworkers;
}

void
io_lock(struct io *io, int w)
{
	pthread_mutex_lock(&io->w[w].mtx);
}

void
io_unlock(struct io *io, int w)
{
	pthread_mutex_unlock(&io->w[w].mtx);
}

int
io_add(struct io *io, int w, struct stream *s)
{
	struct epoll_event	 ev;

	if (s->slot >= io->nslots)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)s->gen << 32 | s->slot;
	if (epoll_ctl(io->w[w].ep, EPOLL_CTL_ADD, s->fd, &ev) == -1) {
		log_warn("epoll_ctl add");
		return -1;
	}
	io->slots[s->slot] = s;
	return 0;
}

void
io_del(struct io *io, int w, struct stream *s)
{
	if (s->slot < io->nslots && io->slots[s->slot] == s)
		io->slots[s->slot] = NULL;
	(void)epoll_ctl(io->w[w].ep, EPOLL_CTL_DEL, s->fd, NULL);
}

void
io_totals(struct io *io, struct io_totals *t)
{
	int	 i, j;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < io->nworkers; i++) {
		t->packets += RELAY_LOAD(io->w[i].c.packets);
		t->bytes += RELAY_LOAD(io->w[i].c.bytes);
		for (j = 0; j < RELAY_DROP_COUNT; j++)
			t->drops[j] += RELAY_LOAD(io->w[i].c.drops[j]);
		t->srtp_decrypted += RELAY_LOAD(io->w[i].c.srtp_decrypted);
		t->srtp_encrypted += RELAY_LOAD(io->w[i].c.srtp_encrypted);
	}
}
