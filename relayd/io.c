/*
 * io: the engine-independent part (the per-packet path, workers, locking,
 * counters) and the epoll engine; see io.h for the interface and the
 * locking scheme, io_uring.c for the io_uring engine.
 *
 * Per packet (io_packet): classification and latching (latch.c), SRTP
 * unprotect between the source check and the latch, SRTP protect for the
 * peer (srtp.c, in place: each buffer has SRTPX_OVERHEAD spare bytes),
 * counter updates (relaxed stores, single writer).  No allocation, no
 * lock, no syscall per packet.
 *
 * epoll engine: one recvmmsg per IO_BATCH packets and one sendmmsg per
 * received batch (all packets from one stream go out of the one peer
 * socket).  The wall clock is read once per epoll_wait batch.
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
#include "relayd/io_impl.h"
#include "relayd/latch.h"

#define IO_EVENTS	64
#define IO_ROUNDS	4	/* recvmmsg rounds per socket per wakeup */

struct io_epoll_bufs {
	uint8_t			 buf[IO_BATCH][IO_BUFLEN];
	struct mmsghdr		 in[IO_BATCH];
	struct mmsghdr		 out[IO_BATCH];
	struct iovec		 iov[IO_BATCH];
	struct iovec		 oiov[IO_BATCH];
	struct sockaddr_storage	 src[IO_BATCH];
};

void
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

const struct relay_addr *
io_packet(struct worker *w, struct stream *s, uint8_t *buf, size_t *lenp,
    const struct sockaddr_storage *src, socklen_t srclen, int truncated,
    uint64_t now)
{
	const struct relay_addr	*dst;
	struct srtpx		*in, *out;
	srtp_err_status_t	 st;
	enum latch_kind		 k;
	uint32_t		 ssrc = 0;
	size_t			 len = *lenp;
	int			 why, plen, relatch;

	if (truncated) {
		io_drop(w, s, RELAY_DROP_MALFORMED, 1);
		return NULL;
	}
	in = s->media->srtp[RELAY_SRTP_IN].x;
	k = latch_classify(buf, len, &ssrc);
	why = latch_accept(s, k, src, srclen);
	/* SRTP: a new source may take the latch over, but only with a
	 * packet that authenticates (and is no replay); anything else from
	 * it is wrong_source */
	relatch = why == RELAY_DROP_WRONG_SOURCE && in != NULL;
	if (why >= 0 && !relatch) {
		io_drop(w, s, why, 1);
		return NULL;
	}
	plen = (int)len;
	if (in != NULL) {
		st = srtpx_unprotect(in, buf, &plen, k == LATCH_RTCP);
		if (st != srtp_err_status_ok) {
			io_drop(w, s, relatch ? RELAY_DROP_WRONG_SOURCE :
			    io_srtp_why(st), 1);
			return NULL;
		}
		RELAY_INC(s->srtp_decrypted, 1);
		RELAY_INC(w->c.srtp_decrypted, 1);
	}
	/* only now, authenticated when SRTP: latch */
	if (relatch) {
		latch_relearn(s, src, srclen);
		RELAY_INC(s->relatched, 1);
	} else
		latch_learn(s, src, srclen);
	RELAY_INC(s->packets, 1);
	RELAY_INC(s->bytes, len);	/* as received */
	if (s->last_packet != now)
		__atomic_store_n(&s->last_packet, now, __ATOMIC_RELAXED);
	if (!s->has_ssrc || s->ssrc != ssrc) {
		__atomic_store_n(&s->ssrc, ssrc, __ATOMIC_RELAXED);
		__atomic_store_n(&s->has_ssrc, 1, __ATOMIC_RELAXED);
	}
	if ((dst = latch_dest(s)) == NULL) {
		io_drop(w, s, RELAY_DROP_NO_PEER, 1);
		return NULL;
	}
	out = s->peer->media->srtp[RELAY_SRTP_OUT].x;
	if (out != NULL) {
		st = srtpx_protect(out, buf, &plen, k == LATCH_RTCP);
		if (st != srtp_err_status_ok) {
			io_drop(w, s, RELAY_DROP_SRTP_ERROR, 1);
			return NULL;
		}
		RELAY_INC(s->peer->srtp_encrypted, 1);
		RELAY_INC(w->c.srtp_encrypted, 1);
	}
	*lenp = (size_t)plen;
	return dst;
}

static void
io_epoll_drain(struct worker *w, struct stream *s, uint64_t now)
{
	struct io_epoll_bufs	*b = w->eb;
	const struct relay_addr	*dst;
	int			 r, i, n, sent, fail, round;
	uint64_t		 bytes;
	size_t			 len;

	for (round = 0; round < IO_ROUNDS; round++) {
		for (i = 0; i < IO_BATCH; i++) {
			b->iov[i].iov_base = b->buf[i];
			b->iov[i].iov_len = IO_PKTMAX;
			memset(&b->in[i].msg_hdr, 0, sizeof(struct msghdr));
			b->in[i].msg_hdr.msg_name = &b->src[i];
			b->in[i].msg_hdr.msg_namelen = sizeof(b->src[i]);
			b->in[i].msg_hdr.msg_iov = &b->iov[i];
			b->in[i].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(s->fd, b->in, IO_BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			return;
		n = 0;
		bytes = 0;
		for (i = 0; i < r; i++) {
			len = b->in[i].msg_len;
			dst = io_packet(w, s, b->buf[i], &len, &b->src[i],
			    b->in[i].msg_hdr.msg_namelen,
			    (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) != 0,
			    now);
			if (dst == NULL)
				continue;
			b->oiov[n].iov_base = b->buf[i];
			b->oiov[n].iov_len = len;
			memset(&b->out[n].msg_hdr, 0, sizeof(struct msghdr));
			b->out[n].msg_hdr.msg_name = (void *)&dst->ss;
			b->out[n].msg_hdr.msg_namelen = dst->len;
			b->out[n].msg_hdr.msg_iov = &b->oiov[n];
			b->out[n].msg_hdr.msg_iovlen = 1;
			bytes += len;
			n++;
		}
		sent = 0;
		fail = 0;
		while (sent < n) {
			i = sendmmsg(s->peer->fd, b->out + sent, n - sent,
			    MSG_DONTWAIT);
			if (i <= 0) {
				/* skip the packet that failed, keep going */
				io_drop(w, s, RELAY_DROP_SEND_ERROR, 1);
				bytes -= b->oiov[sent].iov_len;
				sent++;
				fail++;
				continue;
			}
			sent += i;
		}
		RELAY_INC(w->c.packets, (uint64_t)(n - fail));
		RELAY_INC(w->c.bytes, bytes);
		if (r < IO_BATCH)
			return;
	}
}

static void *
io_epoll_run(void *arg)
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
			io_epoll_drain(w, s, now);
		}
		pthread_mutex_unlock(&w->mtx);
	}
	return NULL;
}

int
io_engine_parse(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return IO_ENGINE_AUTO;
	if (strcmp(s, "epoll") == 0)
		return IO_ENGINE_EPOLL;
	if (strcmp(s, "io_uring") == 0)
		return IO_ENGINE_URING;
	return -1;
}

const char *
io_engine_name(const struct io *io)
{
	return io->engine == IO_ENGINE_URING ? "io_uring" : "epoll";
}

struct io *
io_new(int nworkers, unsigned nslots, enum io_engine engine)
{
	struct io	*io;
	int		 i;

	if (nworkers < 1)
		nworkers = 1;
	if (engine == IO_ENGINE_AUTO)
		engine = io_uring_probe() ? IO_ENGINE_URING : IO_ENGINE_EPOLL;
	else if (engine == IO_ENGINE_URING && !io_uring_probe()) {
		log_warnx("io_uring is not available (kernel too old, or "
		    "disabled by kernel.io_uring_disabled)");
		return NULL;
	}
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
	io->engine = engine;
	pthread_mutex_init(&io->mtx, NULL);
	pthread_cond_init(&io->cv, NULL);
	for (i = 0; i < nworkers; i++) {
		io->w[i].io = io;
		io->w[i].ep = -1;
		io->w[i].efd = -1;
		pthread_mutex_init(&io->w[i].mtx, NULL);
		pthread_cond_init(&io->w[i].closed, NULL);
	}
	for (i = 0; i < nworkers; i++) {
		if (engine == IO_ENGINE_URING)
			continue;	/* the ring is made by its thread */
		if ((io->w[i].ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
		    (io->w[i].eb = malloc(sizeof(*io->w[i].eb))) == NULL) {
			log_warn("io_new: epoll");
			io_destroy(&io);
			return NULL;
		}
	}
	return io;
}

/*
 * Starts the workers.  An io_uring worker sets up its own ring (the
 * ring's single issuer) and reports; io_start returns once every worker
 * has, so confinement (seccomp) comes after every ring exists.
 */
int
io_start(struct io *io)
{
	void	*(*run)(void *);
	int	 i, bad = 0;

	run = io->engine == IO_ENGINE_URING ? io_uring_run : io_epoll_run;
	for (i = 0; i < io->nworkers; i++) {
		if (pthread_create(&io->w[i].thread, NULL, run,
		    &io->w[i]) != 0) {
			log_warnx("pthread_create failed");
			return -1;
		}
		io->w[i].started = 1;
	}
	if (io->engine != IO_ENGINE_URING)
		return 0;
	pthread_mutex_lock(&io->mtx);
	for (i = 0; i < io->nworkers; i++) {
		while (io->w[i].ready == 0)
			pthread_cond_wait(&io->cv, &io->mtx);
		if (io->w[i].ready < 0)
			bad = 1;
	}
	pthread_mutex_unlock(&io->mtx);
	return bad ? -1 : 0;
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
		if (io->engine == IO_ENGINE_URING && io->w[i].started)
			io_uring_wake(&io->w[i]);
		if (io->w[i].started)
			pthread_join(io->w[i].thread, NULL);
		if (io->engine == IO_ENGINE_URING)
			io_uring_free(&io->w[i]);
		if (io->w[i].ep != -1)
			close(io->w[i].ep);
		free(io->w[i].eb);
		pthread_mutex_destroy(&io->w[i].mtx);
		pthread_cond_destroy(&io->w[i].closed);
	}
	pthread_cond_destroy(&io->cv);
	pthread_mutex_destroy(&io->mtx);
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
	if (io->engine == IO_ENGINE_URING) {
		if (io_cmd_push(&io->w[w], IO_CMD_ARM, s->slot, s->gen,
		    -1) == -1)
			return -1;
		io->slots[s->slot] = s;
		return 0;
	}
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
	if (s->slot < io->nslots && io->slots[s->slot] == s) {
		io->slots[s->slot] = NULL;
		if (io->engine == IO_ENGINE_URING)
			(void)io_cmd_push(&io->w[w], IO_CMD_CANCEL, s->slot,
			    s->gen, -1);
	}
	if (io->engine == IO_ENGINE_EPOLL)
		(void)epoll_ctl(io->w[w].ep, EPOLL_CTL_DEL, s->fd, NULL);
}

void
io_close(struct io *io, int w, int fd)
{
	int	 queued;

	if (fd == -1)
		return;
	if (io == NULL || io->engine != IO_ENGINE_URING) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&io->w[w].mtx);
	queued = io_cmd_push(&io->w[w], IO_CMD_CLOSE, 0, 0, fd) == 0;
	if (queued)
		io->w[w].close_req++;
	pthread_mutex_unlock(&io->w[w].mtx);
	if (!queued)
		close(fd);	/* out of memory: nothing better to do */
}

void
io_close_wait_all(struct io *io)
{
	struct worker	*wk;
	struct timespec	 until;
	int		 i;

	if (io == NULL || io->engine != IO_ENGINE_URING)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;	/* a worker is never that late; don't hang */
	for (i = 0; i < io->nworkers; i++) {
		wk = &io->w[i];
		pthread_mutex_lock(&wk->mtx);
		while (wk->close_done < wk->close_req &&
		    pthread_cond_timedwait(&wk->closed, &wk->mtx,
		    &until) == 0)
			;
		pthread_mutex_unlock(&wk->mtx);
	}
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
