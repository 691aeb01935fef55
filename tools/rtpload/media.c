/*
 * media: rtpload's sockets, its sender and its receiver.
 *
 * The sender is one thread with one schedule for all streams: with N
 * active streams at R packets/s each, global packet g belongs to stream
 * g % N and is due at t0 + g / (N * R), which spreads the streams' phases
 * evenly over the packet interval.  Every 1 ms tick (absolute
 * clock_nanosleep) it sends all packets that are due, batched per socket
 * into sendmmsg calls of RL_CHUNK, each stamped just before it is sent.
 * A tick that ends after the next one was due counts as late and the next
 * tick starts at once (catch-up,
 * of at most MEDIA_BACKLOG_NS of packets: older ones are skipped).
 * Packets due in the measured window carry the run's epoch; the others 0.
 *
 * The receiver is one thread: epoll over the K sockets, recvmmsg drained
 * with MSG_DONTWAIT.  Latency is the kernel's receive timestamp
 * (SO_TIMESTAMPNS, CLOCK_REALTIME) minus the CLOCK_REALTIME send time the
 * sender wrote into the payload just before sendmmsg.  With -S the packets
 * reaching a caller are SRTP: the relay port they come from (or, failing
 * that, their SSRC) names the call whose inbound context unprotects them.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libcommon/buf.h"
#include "tools/rtpload/rtpload.h"

#define MEDIA_TICK_NS	1000000ull
#define MEDIA_BUF	(32 * 1024 * 1024)
#define MEDIA_DRAIN_NS	300000000ull
#define MEDIA_RX_LEN	2048
#define MEDIA_GRACE_NS	20000000ull	/* to send the window's last ticks */
#define MEDIA_RX_NAP_NS	500000		/* receiver pause between drains */
#define MEDIA_BACKLOG_NS 50000000ull	/* sender catch-up limit */

struct media_batch {
	struct mmsghdr	 msg[RL_BATCH];
	struct iovec	 iov[RL_BATCH];
	uint32_t	 stream[RL_BATCH];
	uint8_t		 tagged[RL_BATCH];
	uint8_t		 buf[RL_BATCH][RL_PKT_MAX];
	unsigned	 n;
};

struct media_sender {
	struct rl		*rl;
	struct rl_run		*run;
	const uint32_t		*act;		/* active streams */
	unsigned		 nact;
	uint64_t		 t0, t_win, t_end;	/* CLOCK_MONOTONIC */
	struct media_batch	*b;		/* one per socket */
};

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void
sock_buf(int fd, int force, int plain)
{
	int	 sz = MEDIA_BUF;

	if (setsockopt(fd, SOL_SOCKET, force, &sz, sizeof(sz)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, plain, &sz, sizeof(sz));
}

int
media_open(struct rl *rl, char *err, size_t errlen)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl;
	unsigned		 k;
	int			 one = 1, fd;

	for (k = 0; k < rl->o.nsock; k++)
		rl->sock[k] = -1;
	for (k = 0; k < rl->o.nsock; k++) {
		if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			return -1;
		}
		rl->sock[k] = fd;
		sock_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF);
		sock_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF);
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one,
		    sizeof(one)) == -1) {
			snprintf(err, errlen, "SO_TIMESTAMPNS: %s",
			    strerror(errno));
			return -1;
		}
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr = rl->o.local;
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
			snprintf(err, errlen, "bind %s: %s",
			    inet_ntoa(rl->o.local), strerror(errno));
			return -1;
		}
		sl = sizeof(rl->sock_addr[k]);
		if (getsockname(fd, (struct sockaddr *)&rl->sock_addr[k],
		    &sl) == -1) {
			snprintf(err, errlen, "getsockname: %s",
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

void
media_close(struct rl *rl)
{
	unsigned	 k;

	for (k = 0; k < rl->o.nsock; k++)
		if (rl->sock[k] != -1) {
			close(rl->sock[k]);
			rl->sock[k] = -1;
		}
}

/* ---- sender ------------------------------------------------------------- */

/*
 * Sends the batch in chunks of RL_CHUNK: each chunk is stamped, protected
 * (-S) and sent right away, so a packet's send time is taken at most one
 * chunk (a few µs) before the kernel has it, not a whole batch before.
 */
static void
sender_flush(struct media_sender *ms, unsigned k)
{
	struct media_batch	*b = &ms->b[k];
	struct rl		*rl = ms->rl;
	struct rl_call		*call;
	uint64_t		 tx;
	unsigned		 j, off = 0, end;
	int			 n, len;

	while (off < b->n) {
		end = off + RL_CHUNK < b->n ? off + RL_CHUNK : b->n;
		tx = proc_now_real();
		for (j = off; j < end; j++) {
			put64(b->buf[j] + RL_RTP_HDR + RL_OFF_TXNS, tx);
			b->iov[j].iov_len = RL_PKT;
			call = &rl->call[b->stream[j] / 2];
			if ((b->stream[j] & 1) == 0 && call->tx != NULL) {
				len = RL_PKT;
				if (srtp_protect(call->tx, b->buf[j], &len) !=
				    srtp_err_status_ok)
					ms->run->send_errors++;
				b->iov[j].iov_len = (size_t)len;
			}
		}
		while (off < end) {
			n = sendmmsg(rl->sock[k], b->msg + off, end - off, 0);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				ms->run->send_errors++;
				off++;	/* drop the one the kernel refused */
				continue;
			}
			for (j = off; j < off + (unsigned)n; j++)
				if (b->tagged[j])
					rl->st[b->stream[j]].sent_win++;
			off += (unsigned)n;
		}
	}
	b->n = 0;
}

static void
sender_add(struct media_sender *ms, uint32_t s, uint8_t epoch)
{
	struct rl_stream	*st = &ms->rl->st[s];
	struct media_batch	*b = &ms->b[st->sock];
	uint8_t			*p = b->buf[b->n], *q = p + RL_RTP_HDR;

	p[0] = 0x80;
	p[1] = 0;
	p[2] = st->seq >> 8;
	p[3] = (uint8_t)st->seq;
	put32(p + 4, st->ts);
	put32(p + 8, st->ssrc);
	st->seq++;
	st->ts += 160;
	if (ms->rl->o.srtp)
		memset(q, 0, RL_PAYLOAD);	/* protect encrypted it */
	put32(q + RL_OFF_MAGIC, RL_MAGIC);
	put32(q + RL_OFF_CALL, s / 2);
	q[RL_OFF_DIR] = s & 1;
	q[RL_OFF_EPOCH] = epoch;
	put32(q + RL_OFF_SEQ, st->pseq++);
	b->msg[b->n].msg_hdr.msg_name = &st->dst;
	b->msg[b->n].msg_hdr.msg_namelen = sizeof(st->dst);
	b->stream[b->n] = s;
	b->tagged[b->n] = epoch != 0;
	if (++b->n == RL_BATCH)
		sender_flush(ms, st->sock);
}

static void *
sender_main(void *arg)
{
	struct media_sender	*ms = arg;
	struct rl_run		*run = ms->run;
	struct timespec		 ts;
	double			 per_ns = run->rate * ms->nact / 1e9;
	uint64_t		 g = 0, g_win, g_end, gdue, now, next, backlog;
	unsigned		 k;

	g_win = (uint64_t)ceil((double)(ms->t_win - ms->t0) * per_ns);
	g_end = (uint64_t)ceil((double)(ms->t_end - ms->t0) * per_ns);
	run->expected = g_end - g_win;
	backlog = (uint64_t)((double)MEDIA_BACKLOG_NS * per_ns) + 1;
	next = ms->t0;
	for (;;) {
		now = proc_now_mono();
		if (g >= g_end || now >= ms->t_end + MEDIA_GRACE_NS)
			break;
		if (now < ms->t0)
			gdue = 0;
		else
			gdue = (uint64_t)floor((double)(now - ms->t0) *
			    per_ns) + 1;
		if (gdue > g_end)
			gdue = g_end;
		/* catch up at most MEDIA_BACKLOG_NS: older packets are
		 * skipped, so a sender that cannot keep up still sends the
		 * window's packets in the window (and shows as behind) */
		if (gdue - g > backlog) {
			run->skipped += gdue - backlog - g;
			g = gdue - backlog;
		}
		while (g < gdue) {
			sender_add(ms, ms->act[g % ms->nact],
			    g >= g_win ? run->epoch : 0);
			g++;
			if ((g & 4095) == 0 &&
			    proc_now_mono() >= ms->t_end + MEDIA_GRACE_NS)
				break;
		}
		for (k = 0; k < ms->rl->o.nsock; k++)
			if (ms->b[k].n > 0)
				sender_flush(ms, k);
		run->ticks++;
		next += MEDIA_TICK_NS;
		now = proc_now_mono();
		if (now > next) {
			run->late_ticks++;
			next = now;
			continue;
		}
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL) == EINTR)
			;
	}
	return NULL;
}

/* ---- receiver ----------------------------------------------------------- */

/* One received packet, with rx_lock held. */
static void
rx_packet(struct rl *rl, uint8_t *p, int len, const struct sockaddr_in *src,
    uint64_t rx_ns)
{
	struct rl_rxstats	*rs = &rl->rx;
	struct rl_stream	*st;
	uint8_t			*q;
	uint32_t		 sidx = UINT32_MAX, call, seq, d;
	uint64_t		 tx, lat;

	/* between runs the main thread sets calls up again (port_map and
	 * the SRTP contexts change): late packets are not looked at */
	if (rl->rx_epoch == 0) {
		rs->other++;
		return;
	}
	if (len < RL_RTP_HDR) {
		rs->bad++;
		return;
	}
	if (rl->port_map[ntohs(src->sin_port)] != 0)
		sidx = rl->port_map[ntohs(src->sin_port)] - 1;
	else if (get32(p + 8) - RL_SSRC_BASE < rl->nstreams)
		sidx = get32(p + 8) - RL_SSRC_BASE;
	if (sidx != UINT32_MAX && (sidx & 1) == 1 &&
	    rl->call[sidx / 2].rx != NULL) {
		if (srtp_unprotect(rl->call[sidx / 2].rx, p, &len) !=
		    srtp_err_status_ok) {
			rs->srtp_fail++;
			return;
		}
	}
	q = p + RL_RTP_HDR;
	if (len < RL_PKT || get32(q + RL_OFF_MAGIC) != RL_MAGIC ||
	    (call = get32(q + RL_OFF_CALL)) >= rl->o.calls ||
	    q[RL_OFF_DIR] > 1 ||
	    (sidx != UINT32_MAX && sidx != call * 2 + q[RL_OFF_DIR])) {
		rs->bad++;
		return;
	}
	if (q[RL_OFF_EPOCH] == 0 || q[RL_OFF_EPOCH] != rl->rx_epoch) {
		rs->other++;
		return;
	}
	st = &rl->st[call * 2 + q[RL_OFF_DIR]];
	seq = get32(q + RL_OFF_SEQ);
	/* duplicates within the last 64 packets of the stream */
	if (!st->rx_any) {
		st->rx_any = 1;
		st->rx_max = seq;
		st->rx_bits = 1;
	} else if ((int32_t)(seq - st->rx_max) > 0) {
		d = seq - st->rx_max;
		st->rx_bits = d >= 64 ? 1 : (st->rx_bits << d) | 1;
		st->rx_max = seq;
	} else {
		d = st->rx_max - seq;
		if (d < 64) {
			if (st->rx_bits & (1ull << d)) {
				rs->bad++;
				return;
			}
			st->rx_bits |= 1ull << d;
		}
	}
	st->rx_win++;
	rs->delivered++;
	tx = get64(q + RL_OFF_TXNS);
	lat = rx_ns > tx ? rx_ns - tx : 0;
	if (lat > rs->max_ns)
		rs->max_ns = lat;
	if (lat / 1000 >= RL_HIST_US)
		rs->overflow++;
	else
		rs->hist[lat / 1000]++;
}

struct rx_ctx {
	struct mmsghdr		 msg[RL_RX_BATCH];
	struct iovec		 iov[RL_RX_BATCH];
	struct sockaddr_in	 src[RL_RX_BATCH];
	uint8_t			 buf[RL_RX_BATCH][MEDIA_RX_LEN];
	union {
		struct cmsghdr	 align;
		char		 b[CMSG_SPACE(sizeof(struct timespec))];
	}			 ctl[RL_RX_BATCH];
};

/* Reads everything queued on fd; returns the number of packets. */
static unsigned
rx_drain(struct rl *rl, struct rx_ctx *c, int fd)
{
	struct cmsghdr	*cm;
	struct timespec	 ts;
	uint64_t	 rx_ns, fallback;
	unsigned	 got = 0;
	int		 n, j;

	for (;;) {
		for (j = 0; j < RL_RX_BATCH; j++) {
			c->msg[j].msg_hdr.msg_namelen = sizeof(c->src[j]);
			c->msg[j].msg_hdr.msg_controllen = sizeof(c->ctl[j]);
		}
		n = recvmmsg(fd, c->msg, RL_RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return got;
		got += (unsigned)n;
		fallback = 0;
		pthread_mutex_lock(&rl->rx_lock);
		for (j = 0; j < n; j++) {
			rx_ns = 0;
			for (cm = CMSG_FIRSTHDR(&c->msg[j].msg_hdr); cm != NULL;
			    cm = CMSG_NXTHDR(&c->msg[j].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET &&
				    cm->cmsg_type == SCM_TIMESTAMPNS) {
					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					rx_ns = (uint64_t)ts.tv_sec *
					    1000000000ull +
					    (uint64_t)ts.tv_nsec;
				}
			if (rx_ns == 0) {
				if (fallback == 0)
					fallback = proc_now_real();
				rx_ns = fallback;
			}
			rx_packet(rl, c->buf[j], (int)c->msg[j].msg_len,
			    &c->src[j], rx_ns);
		}
		pthread_mutex_unlock(&rl->rx_lock);
	}
}

static void *
rx_main(void *arg)
{
	struct rl		*rl = arg;
	struct rx_ctx		*c;
	struct epoll_event	 ev, evs[RL_MAX_SOCKETS];
	struct timespec		 nap;
	unsigned		 k, got;
	int			 ep, j;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (ep = epoll_create1(0)) == -1) {
		fprintf(stderr, "rtpload: receiver: %s\n", strerror(errno));
		free(c);
		return NULL;
	}
	for (j = 0; j < RL_RX_BATCH; j++) {
		c->iov[j].iov_base = c->buf[j];
		c->iov[j].iov_len = MEDIA_RX_LEN;
		c->msg[j].msg_hdr.msg_iov = &c->iov[j];
		c->msg[j].msg_hdr.msg_iovlen = 1;
		c->msg[j].msg_hdr.msg_name = &c->src[j];
		c->msg[j].msg_hdr.msg_control = c->ctl[j].b;
	}
	for (k = 0; k < rl->o.nsock; k++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = k;
		(void)epoll_ctl(ep, EPOLL_CTL_ADD, rl->sock[k], &ev);
	}
	/*
	 * Under load, drain every socket and pause: the kernel timestamps
	 * keep latency exact, and one wakeup per packet would cost more
	 * than the relay's work.  When idle, block in epoll.
	 */
	nap.tv_sec = 0;
	nap.tv_nsec = MEDIA_RX_NAP_NS;
	while (!__atomic_load_n(&rl->rx_stop, __ATOMIC_RELAXED)) {
		got = 0;
		for (k = 0; k < rl->o.nsock; k++)
			got += rx_drain(rl, c, rl->sock[k]);
		if (got > 0)
			nanosleep(&nap, NULL);
		else
			(void)epoll_wait(ep, evs, (int)rl->o.nsock, 50);
	}
	close(ep);
	free(c);
	return NULL;
}

int
media_rx_start(struct rl *rl)
{
	if ((rl->rx.hist = calloc(RL_HIST_US, sizeof(uint32_t))) == NULL)
		return -1;
	pthread_mutex_init(&rl->rx_lock, NULL);
	return pthread_create(&rl->rx_thread, NULL, rx_main, rl) == 0 ? 0 : -1;
}

void
media_rx_stop(struct rl *rl)
{
	__atomic_store_n(&rl->rx_stop, 1, __ATOMIC_RELAXED);
	pthread_join(rl->rx_thread, NULL);
	free(rl->rx.hist);
	rl->rx.hist = NULL;
}

/* ---- one run ------------------------------------------------------------ */

static void
sleep_until(uint64_t t)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)(t / 1000000000ull);
	ts.tv_nsec = (long)(t % 1000000000ull);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

static uint64_t
hist_pct(const struct rl_rxstats *rs, double pct)
{
	uint64_t	 want, acc = 0;
	uint32_t	 i;

	if (rs->delivered == 0)
		return 0;
	want = (uint64_t)ceil((double)rs->delivered * pct);
	if (want == 0)
		want = 1;
	for (i = 0; i < RL_HIST_US; i++) {
		acc += rs->hist[i];
		if (acc >= want)
			return i;
	}
	return rs->max_ns / 1000;
}

int
media_run(struct rl *rl, struct rl_run *run)
{
	struct media_sender	 ms;
	pthread_t		 th;
	uint32_t		*act;
	uint64_t		 w0, w1;
	double			 cpu0, cpu1, self0, self1;
	unsigned		 i, k, nact = 0;

	if ((act = calloc(rl->nstreams, sizeof(*act))) == NULL)
		return -1;
	for (i = 0; i < rl->nstreams; i++)
		if (rl->call[i / 2].up)
			act[nact++] = i;
	if (nact == 0) {
		free(act);
		return -1;
	}
	memset(&ms, 0, sizeof(ms));
	if ((ms.b = calloc(rl->o.nsock, sizeof(*ms.b))) == NULL) {
		free(act);
		return -1;
	}
	for (k = 0; k < rl->o.nsock; k++)
		for (i = 0; i < RL_BATCH; i++) {
			ms.b[k].iov[i].iov_base = ms.b[k].buf[i];
			ms.b[k].msg[i].msg_hdr.msg_iov = &ms.b[k].iov[i];
			ms.b[k].msg[i].msg_hdr.msg_iovlen = 1;
		}
	ms.rl = rl;
	ms.run = run;
	ms.act = act;
	ms.nact = nact;

	pthread_mutex_lock(&rl->rx_lock);
	memset(rl->rx.hist, 0, RL_HIST_US * sizeof(uint32_t));
	rl->rx.delivered = rl->rx.bad = rl->rx.srtp_fail = 0;
	rl->rx.other = rl->rx.overflow = rl->rx.max_ns = 0;
	for (i = 0; i < rl->nstreams; i++) {
		rl->st[i].sent_win = rl->st[i].rx_win = 0;
		rl->st[i].rx_any = 0;
	}
	rl->rx_epoch = run->epoch;
	pthread_mutex_unlock(&rl->rx_lock);

	ms.t0 = proc_now_mono() + 10000000ull;
	ms.t_win = ms.t0 + (uint64_t)(run->warmup * 1e9);
	ms.t_end = ms.t_win + (uint64_t)(run->duration * 1e9);
	if (pthread_create(&th, NULL, sender_main, &ms) != 0) {
		free(ms.b);
		free(act);
		return -1;
	}
	sleep_until(ms.t_win);
	w0 = proc_now_mono();
	cpu0 = proc_cpu(rl->o.pids, rl->o.npids);
	self0 = proc_self_cpu();
	sleep_until(ms.t_end);
	w1 = proc_now_mono();
	cpu1 = proc_cpu(rl->o.pids, rl->o.npids);
	self1 = proc_self_cpu();
	pthread_join(th, NULL);
	sleep_until(proc_now_mono() + MEDIA_DRAIN_NS);

	pthread_mutex_lock(&rl->rx_lock);
	run->delivered = rl->rx.delivered;
	run->bad = rl->rx.bad;
	run->srtp_fail = rl->rx.srtp_fail;
	run->lat_p50_us = hist_pct(&rl->rx, 0.50);
	run->lat_p99_us = hist_pct(&rl->rx, 0.99);
	run->lat_max_us = rl->rx.max_ns / 1000;
	run->lat_overflow = rl->rx.overflow;
	rl->rx_epoch = 0;
	pthread_mutex_unlock(&rl->rx_lock);

	run->sent = 0;
	for (i = 0; i < rl->nstreams; i++) {
		run->sent += rl->st[i].sent_win;
		if (rl->st[i].sent_win > 0 && rl->st[i].rx_win == 0)
			run->silent++;
	}
	run->loss_pct = run->sent == 0 ? 0 : run->sent > run->delivered ?
	    100.0 * (double)(run->sent - run->delivered) / (double)run->sent :
	    0;
	run->wall_s = (double)(w1 - w0) / 1e9;
	run->relay_cpu_s = cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0;
	run->tool_cpu_pct = run->wall_s > 0 ?
	    100.0 * (self1 - self0) / run->wall_s : 0;
	free(ms.b);
	free(act);
	return 0;
}
