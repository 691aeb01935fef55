/*
 * io_impl: what io.c (common part and the epoll engine) and io_uring.c
 * (the io_uring engine) share.  Not for other modules: they use io.h.
 */
#ifndef RTPSEC_RELAYD_IO_IMPL_H
#define RTPSEC_RELAYD_IO_IMPL_H

#include <sys/socket.h>

#include <pthread.h>
#include <stdint.h>

#include "relayd/io.h"

struct io_uring_worker;		/* io_uring.c */

/* A control-thread request to a worker of the io_uring engine. */
struct io_cmd {
	int		 op;		/* IO_CMD_* */
	uint32_t	 slot;
	uint32_t	 gen;
	int		 fd;
};
enum { IO_CMD_ARM, IO_CMD_CANCEL, IO_CMD_CLOSE };

struct worker {
	struct io		*io;		/* RO */
	pthread_t		 thread;
	int			 started;
	pthread_mutex_t		 mtx;
	struct io_totals	 c;		/* worker writes, ctl loads */
	/* epoll engine */
	int			 ep;		/* RO */
	struct io_epoll_bufs	*eb;		/* worker only */
	/* io_uring engine */
	struct io_uring_worker	*u;		/* worker only */
	int			 efd;		/* RO: wakes the worker */
	struct io_cmd		*cmd;		/* under mtx */
	size_t			 ncmd, cmdcap;	/* under mtx */
	uint64_t		 close_req;	/* under mtx: closes queued */
	uint64_t		 close_done;	/* under mtx: closes done */
	pthread_cond_t		 closed;	/* close_done moved */
	int			 ready;		/* under io->mtx: 1 ok, -1 failed */
};

struct io {
	int			 nworkers;	/* RO */
	unsigned		 nslots;	/* RO */
	enum io_engine		 engine;	/* RO */
	struct stream		**slots;	/* slot's worker's lock */
	struct worker		*w;		/* RO */
	int			 stop;		/* atomic */
	pthread_mutex_t		 mtx;		/* start-up handshake */
	pthread_cond_t		 cv;
};

/*
 * One datagram of len bytes in buf (IO_BUFLEN of room) received by s
 * from src: classify, latch, SRTP unprotect/protect in place, count.
 * Returns the destination and sets *len to the length to send, or NULL
 * when the packet is dropped (counted).  Under the worker's lock.
 */
const struct relay_addr *io_packet(struct worker *, struct stream *s,
		    uint8_t *buf, size_t *len,
		    const struct sockaddr_storage *src, socklen_t srclen,
		    int truncated, uint64_t now);
void		io_drop(struct worker *, struct stream *, int reason,
		    unsigned n);

/* io_uring.c */
int		io_uring_probe(void);		/* 1 usable, 0 not */
void		*io_uring_run(void *worker);
void		io_uring_wake(struct worker *);
void		io_uring_free(struct worker *);
/* Under the worker's lock: queue a command and wake the worker. */
int		io_cmd_push(struct worker *, int op, uint32_t slot,
		    uint32_t gen, int fd);

#endif
