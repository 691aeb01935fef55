/*
 * io: relayd's packet I/O, the only module that touches media sockets on
 * the hot path.  Two engines behind one interface:
 *
 *   io_uring (io_uring.c, the default where the kernel allows it): each
 *   worker owns a ring with a multishot recvmsg armed on each of its
 *   sockets, receiving into a ring of provided buffers, and forwards each
 *   packet with a sendmsg SQE from the same buffer.  One io_uring_enter
 *   submits the sends of a batch and waits for the next one: no system
 *   call per packet at all.
 *
 *   epoll (io.c): each worker owns an epoll fd; on readiness it drains a
 *   socket with recvmmsg (batches of IO_BATCH) and forwards the accepted
 *   packets with one sendmmsg to the peer's socket.
 *
 * SRTP (srtp.c) is applied per packet in place in both: unprotect with the
 * receiving media's inbound transform before latching, protect with the
 * peer media's outbound transform before the packet is sent.
 *
 * Locking: each worker has a mutex that it holds while it processes one
 * batch of events or completions (never taken per packet).  The control
 * thread takes it (io_lock) around every change to the worker's streams:
 * add, delete, peer or endpoint change, latch reset, SRTP transform
 * set/rekey/removal, and reads of latched addresses.
 * Events and completions carry a slot index and a generation, not a
 * pointer, so one for a stream deleted meanwhile is ignored.
 *
 * Sockets: a stream's fd belongs to the caller until io_add and is handed
 * back to io with io_close when the stream is freed (io_uring may still
 * have a send queued on it; the worker closes it once that is submitted).
 */
#ifndef RTPSEC_RELAYD_IO_H
#define RTPSEC_RELAYD_IO_H

#include <stdint.h>

#include "relayd/relay.h"

#define IO_BATCH	32
#define IO_PKTMAX	2048	/* largest datagram accepted */
/* A receive buffer: IO_PKTMAX plus room to protect in place. */
#define IO_BUFLEN	(IO_PKTMAX + SRTPX_OVERHEAD)

struct io;

enum io_engine {
	IO_ENGINE_AUTO,		/* io_uring if the kernel allows it */
	IO_ENGINE_EPOLL,
	IO_ENGINE_URING
};

struct io_totals {
	uint64_t	packets;	/* relayed */
	uint64_t	bytes;		/* relayed UDP payload bytes */
	uint64_t	drops[RELAY_DROP_COUNT];
	uint64_t	srtp_decrypted;	/* SRTP/SRTCP packets unprotected */
	uint64_t	srtp_encrypted;	/* SRTP/SRTCP packets protected */
};

/* nslots: the largest stream slot + 1.  NULL on failure (logged). */
struct io	*io_new(int nworkers, unsigned nslots, enum io_engine);
/* "io_uring" or "epoll": the engine in use. */
const char	*io_engine_name(const struct io *);
/* "auto", "io_uring", "epoll" -> engine; -1 if none of them. */
int		 io_engine_parse(const char *);
int		 io_start(struct io *);		/* 0 or -1 */
void		 io_destroy(struct io **);	/* stops and joins workers */
int		 io_nworkers(const struct io *);
void		 io_lock(struct io *, int worker);
void		 io_unlock(struct io *, int worker);
/* Under io_lock: start / stop polling s (s->slot, s->gen set). 0 or -1. */
int		 io_add(struct io *, int worker, struct stream *);
void		 io_del(struct io *, int worker, struct stream *);
/* Without the lock: closes a deleted stream's fd (now, or once the worker
 * is done with it: its port may stay bound a moment); io_close_wait_all
 * returns once every fd given to io_close is closed (for when a port is
 * wanted at once).  io may be NULL (after io_destroy). */
void		 io_close(struct io *, int worker, int fd);
void		 io_close_wait_all(struct io *);
/* Sums every worker's counters (relaxed loads, no lock). */
void		 io_totals(struct io *, struct io_totals *);

#endif
