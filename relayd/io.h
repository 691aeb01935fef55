/*
 * io: relayd's packet I/O, the only module that touches media sockets on
 * the hot path (so io_uring can replace epoll + recvmmsg/sendmmsg here).
 *
 * Each worker thread owns an epoll fd and the streams assigned to it.  On
 * readiness it drains a socket with recvmmsg (batches of IO_BATCH) and
 * forwards the accepted packets with one sendmmsg to the peer's socket.
 * SRTP (srtp.c) is applied per packet in place: unprotect with the
 * receiving media's inbound transform before latching, protect with the
 * peer media's outbound transform before the packet joins the batch.
 *
 * Locking: each worker has a mutex that it holds while it processes one
 * epoll_wait batch (never taken per packet).  The control thread takes it
 * (io_lock) around every change to the worker's streams: add, delete,
 * peer or endpoint change, latch reset, SRTP transform set/rekey/removal,
 * and reads of latched addresses.
 * epoll events carry a slot index and a generation, not a pointer, so an
 * event for a stream deleted between epoll_wait and the lock is ignored.
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

struct io_totals {
	uint64_t	packets;	/* relayed */
	uint64_t	bytes;		/* relayed UDP payload bytes */
	uint64_t	drops[RELAY_DROP_COUNT];
	uint64_t	srtp_decrypted;	/* SRTP/SRTCP packets unprotected */
	uint64_t	srtp_encrypted;	/* SRTP/SRTCP packets protected */
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
