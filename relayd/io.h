/*
 * io: relayd's packet I/O, the only module that touches media sockets on
 * the hot path (so io_uring can replace epoll + recvmmsg/sendmmsg here).
 *
 * Each worker thread owns an epoll fd and the streams assigned to it.  On
 * readiness it drains a socket with recvmmsg (batches of IO_BATCH) and
 * forwards the accepted packets with one sendmmsg to the peer's socket.
 *
 * Locking: each worker has a mutex that it holds while it processes one
 * epoll_wait batch (never taken per packet).  The control thread takes it
 * (io_lock) around every change to the worker's streams: add, delete,
 * peer or endpoint change, latch reset, and reads of latched addresses.
 * epoll events carry a slot index and a generation, not a pointer, so an
 * event for a stream deleted between epoll_wait and the lock is ignored.
 */
#ifndef RTPSEC_RELAYD_IO_H
#define RTPSEC_RELAYD_IO_H

#include <stdint.h>

#include "relayd/relay.h"

#define IO_BATCH	32
#define IO_PKTMAX	2048

struct io;

struct io_totals {
	uint64_t	packets;	/* relayed */
	uint64_t	bytes;		/* relayed UDP payload bytes */
	uint64_t	drops[RELAY_DROP_COUNT];
};

/* nslots: the largest stream slot + 1.  NULL on failure (logged). */
struct io	*io_new(int nworkers, unsigned nslots);
int		 io_start(struct io *);		/* 0 or -1 */
void		 io_destroy(struct io **);	/* stops and joins workers */
int		 io_nworkers(const struct io *);
void		 io_lock(struct io *, int worker);
void		 io_unlock(struct io *, int worker);
/* Under io_lock: start / stop polling s (s->slot, s->gen set). 0 or -1. */
int		 io_add(struct io *, int worker, struct stream *);
void		 io_del(struct io *, int worker, struct stream *);
/* Sums every worker's counters (relaxed loads, no lock). */
void		 io_totals(struct io *, struct io_totals *);

#endif
