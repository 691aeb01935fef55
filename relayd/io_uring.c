/*
 * io_uring: relayd's io_uring packet engine; see io.h for the interface
 * and the locking scheme, io.c for the per-packet path it shares with the
 * epoll engine.
 *
 * Each worker thread owns one ring (IORING_SETUP_SINGLE_ISSUER and
 * DEFER_TASKRUN where the kernel has them: completions are produced only
 * when the worker asks for them, no interrupt-time work).  Every stream of
 * the worker has a multishot recvmsg armed on its socket that receives
 * into the worker's ring of provided buffers (one datagram per buffer,
 * with the source address in front of it).  A packet accepted by
 * io_packet() is sent from the same buffer with a sendmsg SQE on the peer
 * stream's socket; the buffer goes back to the ring when the send
 * completes.  One io_uring_enter submits a batch's sends and waits for
 * the next batch: the hot path makes no system call per packet.
 *
 * Waiting: an idle worker sleeps until one completion (after reaping the
 * completions of the sends it just submitted, so that buffers and
 * counters are current); a busy one (the last batch had IOU_BUSY packets
 * or more) waits for IOU_WAIT_NR more completions or IOU_WAIT_US,
 * whichever comes first, so that a wake-up carries a batch instead of a
 * packet.  That bounds the delay it adds to a packet by IOU_WAIT_US.
 *
 * The control thread never touches a ring: io_add/io_del/io_close queue
 * a command under the worker's lock and write the worker's eventfd, on
 * which the ring has a read pending.  The worker arms or cancels the
 * receive, and closes a freed stream's fd only after the io_uring_enter
 * that submitted everything still naming it (io_close_wait_all waits
 * for that when a port is wanted at once).
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libcommon/log.h"
#include "relayd/io_impl.h"

#define IOU_ENTRIES	1024	/* SQ entries; the CQ has 4x */
#define IOU_NBUF	2048	/* provided buffers per worker, power of 2 */
#define IOU_BGID	1
#define IOU_NAMELEN	((unsigned)sizeof(struct sockaddr_storage))
#define IOU_HDR		(sizeof(struct io_uring_recvmsg_out) + IOU_NAMELEN)
/* what the kernel may fill: header, address, IO_PKTMAX of datagram */
#define IOU_RECVLEN	(IOU_HDR + IO_PKTMAX)
/* what a buffer has: that plus room to protect in place */
#define IOU_BUFLEN	((IOU_HDR + IO_BUFLEN + 63) & ~(size_t)63)
#define IOU_BUSY	4
#define IOU_WAIT_NR	32
#define IOU_WAIT_US	100

/* user_data: kind in bits 62-63, 30 bits of generation or buffer id in
 * 32-61, the stream slot in 0-31 */
enum { UD_RECV, UD_SEND, UD_WAKE, UD_CANCEL };
#define UD_MASK30	0x3fffffffu
#define UD(kind, hi, slot)						\
	((uint64_t)(kind) << 62 | (uint64_t)((hi) & UD_MASK30) << 32 |	\
	    (uint32_t)(slot))
#define UD_KIND(u)	((unsigned)((u) >> 62))
#define UD_HI(u)	((uint32_t)((u) >> 32) & UD_MASK30)
#define UD_SLOT(u)	((uint32_t)(u))

struct iou_send {
	struct msghdr		 mh;
	struct iovec		 iov;
	struct sockaddr_storage	 dst;
	uint32_t		 gen;	/* of the stream that sends */
};

struct io_uring_worker {
	struct io_uring		 ring;
	struct io_uring_buf_ring *br;
	size_t			 brlen;
	uint8_t			*bufs;		/* IOU_NBUF x IOU_BUFLEN */
	struct iou_send		*snd;		/* IOU_NBUF */
	struct msghdr		 rmh;		/* the recvmsg layout */
	uint64_t		 evbuf;
	unsigned		 recycled;	/* buffers to give back */
	unsigned		 nsend;		/* sends in this batch */
	unsigned		 nrecv;		/* packets in this batch */
	int			*closing;	/* fds to close after submit */
	size_t			 nclosing, closingcap;
	uint64_t		 bytes, packets;	/* this batch */
};

int
io_uring_probe(void)
{
	struct io_uring		 ring;
	struct io_uring_probe	*p;
	int			 ok;

	if (io_uring_queue_init(8, &ring, 0) != 0)
		return 0;
	p = io_uring_get_probe_ring(&ring);
	ok = p != NULL &&
	    io_uring_opcode_supported(p, IORING_OP_RECVMSG) &&
	    io_uring_opcode_supported(p, IORING_OP_SENDMSG) &&
	    io_uring_opcode_supported(p, IORING_OP_ASYNC_CANCEL) &&
	    io_uring_opcode_supported(p, IORING_OP_READ) &&
	    /* multishot recvmsg and provided buffer rings are Linux 6.0
	     * (rings 5.19); SEND_ZC came with 6.0 and marks it: on an older
	     * kernel every receive would end at once with EINVAL */
	    io_uring_opcode_supported(p, IORING_OP_SEND_ZC);
	if (p != NULL)
		io_uring_free_probe(p);
	io_uring_queue_exit(&ring);
	return ok;
}

int
io_cmd_push(struct worker *w, int op, uint32_t slot, uint32_t gen, int fd)
{
	struct io_cmd	*c;
	size_t		 cap;

	if (w->ncmd == w->cmdcap) {
		cap = w->cmdcap ? 2 * w->cmdcap : 64;
		if ((c = reallocarray(w->cmd, cap, sizeof(*c))) == NULL) {
			log_warn("io_cmd_push");
			return -1;
		}
		w->cmd = c;
		w->cmdcap = cap;
	}
	w->cmd[w->ncmd++] = (struct io_cmd){ op, slot, gen, fd };
	/* one wake-up per batch of commands: the worker takes them all */
	if (w->ncmd == 1)
		io_uring_wake(w);
	return 0;
}

void
io_uring_wake(struct worker *w)
{
	uint64_t	 one = 1;

	if (w->efd != -1)
		(void)write(w->efd, &one, sizeof(one));
}

/* An SQE, submitting what is queued if the SQ is full. */
static struct io_uring_sqe *
iou_sqe(struct io_uring_worker *u)
{
	struct io_uring_sqe	*sqe;

	while ((sqe = io_uring_get_sqe(&u->ring)) == NULL) {
		if (io_uring_submit(&u->ring) < 0)
			return NULL;
		u->nsend = 0;	/* those completions are in the CQ now */
	}
	return sqe;
}

static void
iou_recycle(struct io_uring_worker *u, unsigned bid)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * IOU_BUFLEN,
	    IOU_RECVLEN, (unsigned short)bid,
	    io_uring_buf_ring_mask(IOU_NBUF), (int)u->recycled++);
}

static void
iou_arm(struct io_uring_worker *u, struct stream *s)
{
	struct io_uring_sqe	*sqe;

	if ((sqe = iou_sqe(u)) == NULL) {
		log_warnx("io_uring: cannot arm port %u", s->port);
		return;
	}
	io_uring_prep_recvmsg_multishot(sqe, s->fd, &u->rmh, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = IOU_BGID;
	io_uring_sqe_set_data64(sqe, UD(UD_RECV, s->gen, s->slot));
}

static void
iou_arm_wake(struct worker *w)
{
	struct io_uring_worker	*u = w->u;
	struct io_uring_sqe	*sqe;

	if ((sqe = iou_sqe(u)) == NULL)
		return;
	io_uring_prep_read(sqe, w->efd, &u->evbuf, sizeof(u->evbuf), 0);
	io_uring_sqe_set_data64(sqe, UD(UD_WAKE, 0, 0));
}

/* Under the worker's lock: the control thread's commands. */
static void
iou_commands(struct worker *w)
{
	struct io_uring_worker	*u = w->u;
	struct io_uring_sqe	*sqe;
	struct io_cmd		*c;
	struct stream		*s;
	size_t			 i;
	int			*p;

	for (i = 0; i < w->ncmd; i++) {
		c = &w->cmd[i];
		switch (c->op) {
		case IO_CMD_ARM:
			s = c->slot < w->io->nslots ?
			    w->io->slots[c->slot] : NULL;
			if (s != NULL && s->gen == c->gen)
				iou_arm(u, s);
			break;
		case IO_CMD_CANCEL:
			if ((sqe = iou_sqe(u)) == NULL)
				break;
			io_uring_prep_cancel64(sqe,
			    UD(UD_RECV, c->gen, c->slot), 0);
			io_uring_sqe_set_data64(sqe, UD(UD_CANCEL, 0, 0));
			break;
		case IO_CMD_CLOSE:
			if (u->nclosing == u->closingcap) {
				size_t cap = u->closingcap ?
				    2 * u->closingcap : 64;
				if ((p = reallocarray(u->closing, cap,
				    sizeof(*p))) == NULL) {
					log_warn("io_uring: close queue");
					/* leak the fd, never misuse it */
					w->close_done++;
					pthread_cond_broadcast(&w->closed);
					break;
				}
				u->closing = p;
				u->closingcap = cap;
			}
			u->closing[u->nclosing++] = c->fd;
			break;
		}
	}
	w->ncmd = 0;
}

static void
iou_send(struct worker *w, struct stream *s, unsigned bid, uint8_t *pkt,
    size_t len, const struct relay_addr *dst)
{
	struct io_uring_worker	*u = w->u;
	struct iou_send		*x = &u->snd[bid];
	struct io_uring_sqe	*sqe;

	if ((sqe = iou_sqe(u)) == NULL) {
		io_drop(w, s, RELAY_DROP_SEND_ERROR, 1);
		iou_recycle(u, bid);
		return;
	}
	/* the latch may move before the send is issued: copy it */
	memcpy(&x->dst, &dst->ss, dst->len);
	x->iov.iov_base = pkt;
	x->iov.iov_len = len;
	x->mh.msg_name = &x->dst;
	x->mh.msg_namelen = dst->len;
	x->mh.msg_iov = &x->iov;
	x->mh.msg_iovlen = 1;
	x->gen = s->gen;
	/* MSG_DONTWAIT: a full socket buffer fails the send now (counted)
	 * instead of parking it; a relay must not queue stale media */
	io_uring_prep_sendmsg(sqe, s->peer->fd, &x->mh, MSG_DONTWAIT);
	io_uring_sqe_set_data64(sqe, UD(UD_SEND, bid, s->slot));
	u->nsend++;
}

static void
iou_recv(struct worker *w, struct io_uring_cqe *cqe, uint64_t now)
{
	struct io_uring_worker		*u = w->u;
	struct io_uring_recvmsg_out	*o;
	const struct relay_addr		*dst;
	struct stream			*s = NULL;
	uint32_t			 slot = UD_SLOT(cqe->user_data);
	unsigned			 bid;
	uint8_t				*buf, *pkt;
	size_t				 len;

	if (slot < w->io->nslots)
		s = w->io->slots[slot];
	if (s != NULL && (s->gen & UD_MASK30) != UD_HI(cqe->user_data))
		s = NULL;
	/* a multishot receive ends when the buffers run out (re-armed: they
	 * come back with this batch) or on an error (logged, not re-armed: it
	 * would only fail again, at once, forever) */
	if (!(cqe->flags & IORING_CQE_F_MORE) && s != NULL) {
		if (cqe->res >= 0 || cqe->res == -ENOBUFS)
			iou_arm(u, s);
		else if (cqe->res != -ECANCELED)
			log_warnx("io_uring: receive on port %u: %s", s->port,
			    strerror(-cqe->res));
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return;
	bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	if (bid >= IOU_NBUF)
		return;
	buf = u->bufs + (size_t)bid * IOU_BUFLEN;
	if (s == NULL || cqe->res < 0 ||
	    (o = io_uring_recvmsg_validate(buf, cqe->res, &u->rmh)) == NULL) {
		iou_recycle(u, bid);
		return;
	}
	u->nrecv++;
	pkt = io_uring_recvmsg_payload(o, &u->rmh);
	len = io_uring_recvmsg_payload_length(o, cqe->res, &u->rmh);
	dst = io_packet(w, s, pkt, &len, io_uring_recvmsg_name(o),
	    o->namelen > IOU_NAMELEN ? IOU_NAMELEN : o->namelen,
	    (o->flags & MSG_TRUNC) != 0 || o->payloadlen > IO_PKTMAX, now);
	if (dst == NULL) {
		iou_recycle(u, bid);
		return;
	}
	iou_send(w, s, bid, pkt, len, dst);
}

static void
iou_sent(struct worker *w, struct io_uring_cqe *cqe)
{
	struct io_uring_worker	*u = w->u;
	struct stream		*s = NULL;
	uint32_t		 slot = UD_SLOT(cqe->user_data);
	unsigned		 bid = UD_HI(cqe->user_data);

	if (bid < IOU_NBUF)
		iou_recycle(u, bid);
	if (cqe->res >= 0) {
		u->packets++;
		u->bytes += (uint64_t)cqe->res;
		return;
	}
	if (slot < w->io->nslots)
		s = w->io->slots[slot];
	/* the slot may hold another call's stream by now */
	if (s != NULL && bid < IOU_NBUF && s->gen == u->snd[bid].gen)
		io_drop(w, s, RELAY_DROP_SEND_ERROR, 1);
	else
		RELAY_INC(w->c.drops[RELAY_DROP_SEND_ERROR], 1);
}

/* Under the worker's lock: every completion that is ready. */
static void
iou_complete(struct worker *w)
{
	struct io_uring_worker	*u = w->u;
	struct io_uring_cqe	*cqe;
	uint64_t		 now = (uint64_t)time(NULL);
	unsigned		 head, n = 0;

	u->recycled = 0;
	u->packets = 0;
	u->bytes = 0;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		n++;
		switch (UD_KIND(cqe->user_data)) {
		case UD_RECV:
			iou_recv(w, cqe, now);
			break;
		case UD_SEND:
			iou_sent(w, cqe);
			break;
		case UD_WAKE:
			iou_commands(w);
			if (!__atomic_load_n(&w->io->stop, __ATOMIC_RELAXED))
				iou_arm_wake(w);
			break;
		default:	/* a cancel's own completion */
			break;
		}
	}
	io_uring_cq_advance(&u->ring, n);
	if (u->recycled != 0)
		io_uring_buf_ring_advance(u->br, (int)u->recycled);
	if (u->packets != 0) {
		RELAY_INC(w->c.packets, u->packets);
		RELAY_INC(w->c.bytes, u->bytes);
	}
}

static int
iou_setup(struct worker *w)
{
	struct io_uring_worker	*u;
	struct io_uring_params	 p;
	struct io_uring_buf_reg	 reg;
	unsigned		 i;
	int			 r;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -1;
	w->u = u;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
	    IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = 4 * IOU_ENTRIES;
	if ((r = io_uring_queue_init_params(IOU_ENTRIES, &u->ring, &p)) ==
	    -EINVAL) {
		/* before Linux 6.1: no single issuer, no deferred work */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = 4 * IOU_ENTRIES;
		r = io_uring_queue_init_params(IOU_ENTRIES, &u->ring, &p);
	}
	if (r != 0) {
		errno = -r;
		log_warn("io_uring_queue_init");
		free(u);
		w->u = NULL;
		return -1;
	}
	u->brlen = IOU_NBUF * sizeof(struct io_uring_buf);
	u->br = mmap(NULL, u->brlen, PROT_READ | PROT_WRITE,
	    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (u->br == MAP_FAILED) {
		u->br = NULL;
		log_warn("io_uring: buffer ring");
		return -1;
	}
	if ((u->bufs = malloc((size_t)IOU_NBUF * IOU_BUFLEN)) == NULL ||
	    (u->snd = calloc(IOU_NBUF, sizeof(*u->snd))) == NULL) {
		log_warn("io_uring: buffers");
		return -1;
	}
	io_uring_buf_ring_init(u->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)u->br;
	reg.ring_entries = IOU_NBUF;
	reg.bgid = IOU_BGID;
	if ((r = io_uring_register_buf_ring(&u->ring, &reg, 0)) != 0) {
		errno = -r;
		log_warn("io_uring_register_buf_ring");
		return -1;
	}
	u->recycled = 0;
	for (i = 0; i < IOU_NBUF; i++)
		iou_recycle(u, i);
	io_uring_buf_ring_advance(u->br, (int)u->recycled);
	u->recycled = 0;
	u->rmh.msg_namelen = IOU_NAMELEN;
	u->rmh.msg_controllen = 0;
	if ((w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_warn("eventfd");
		return -1;
	}
	iou_arm_wake(w);
	return 0;
}

/*
 * Under the worker's lock, after its completions: closes the fds freed by
 * the control thread, once everything queued that names them has been
 * submitted (an extra io_uring_enter, on control events only).
 */
static void
iou_close_pending(struct worker *w)
{
	struct io_uring_worker	*u = w->u;
	size_t			 i;

	if (u->nclosing == 0)
		return;
	/* get_events too: with deferred task work a cancelled receive lets
	 * go of its socket only when the worker collects completions, and
	 * the port must be free once close_done says so */
	if (io_uring_submit_and_get_events(&u->ring) < 0 ||
	    io_uring_sq_ready(&u->ring) != 0)
		return;		/* try again after the next batch */
	for (i = 0; i < u->nclosing; i++)
		close(u->closing[i]);
	w->close_done += u->nclosing;
	u->nclosing = 0;
	pthread_cond_broadcast(&w->closed);
}

void *
io_uring_run(void *arg)
{
	struct worker			*w = arg;
	struct io			*io = w->io;
	struct io_uring_worker		*u;
	struct io_uring_cqe		*cqe;
	struct __kernel_timespec	 ts;
	unsigned			 want;
	int				 ok, busy = 0;

	ok = iou_setup(w) == 0;
	pthread_mutex_lock(&io->mtx);
	w->ready = ok ? 1 : -1;
	pthread_cond_broadcast(&io->cv);
	pthread_mutex_unlock(&io->mtx);
	if (!ok)
		return NULL;
	u = w->u;
	pthread_mutex_lock(&w->mtx);	/* streams added before the start */
	iou_commands(w);
	pthread_mutex_unlock(&w->mtx);
	while (!__atomic_load_n(&io->stop, __ATOMIC_RELAXED)) {
		/* the sends just queued complete at once (MSG_DONTWAIT) */
		if (busy) {
			/* wait for that many more and a batch */
			want = u->nsend + IOU_WAIT_NR;
			ts.tv_sec = 0;
			ts.tv_nsec = IOU_WAIT_US * 1000;
			(void)io_uring_submit_and_wait_timeout(&u->ring, &cqe,
			    want, &ts, NULL);
		} else if (u->nsend != 0) {
			/* idle: reap them now (buffers back, counters
			 * current), wait for the next packet next turn */
			(void)io_uring_submit(&u->ring);
		} else
			(void)io_uring_submit_and_wait(&u->ring, 1);
		u->nsend = 0;
		pthread_mutex_lock(&w->mtx);
		u->nrecv = 0;
		iou_complete(w);
		iou_close_pending(w);
		busy = u->nrecv >= IOU_BUSY;
		pthread_mutex_unlock(&w->mtx);
	}
	return NULL;
}

void
io_uring_free(struct worker *w)
{
	struct io_uring_worker	*u = w->u;
	size_t			 i;

	if (u != NULL) {
		for (i = 0; i < u->nclosing; i++)
			close(u->closing[i]);
		io_uring_queue_exit(&u->ring);
		if (u->br != NULL)
			munmap(u->br, u->brlen);
		free(u->bufs);
		free(u->snd);
		free(u->closing);
		free(u);
		w->u = NULL;
	}
	for (i = 0; i < w->ncmd; i++)
		if (w->cmd[i].op == IO_CMD_CLOSE)
			close(w->cmd[i].fd);
	free(w->cmd);
	w->cmd = NULL;
	w->ncmd = 0;
	if (w->efd != -1) {
		close(w->efd);
		w->efd = -1;
	}
}
