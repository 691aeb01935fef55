/*
 * ports: the media port pair allocator (RTP even, RTCP = RTP + 1) over
 * [port_min, port_max] on one local address, IPv4 or IPv6.
 *
 * A bitmap marks used pairs; a rotating cursor spreads allocations so a
 * freed pair is not reused at once (late packets of an old call do not
 * reach a new one).  A pair whose bind fails (another process holds a
 * port) is skipped.  Sockets are non-blocking with large buffers.
 * Control thread only.
 */
#ifndef RTPSEC_RELAYD_PORTS_H
#define RTPSEC_RELAYD_PORTS_H

#include <sys/socket.h>
#include <stdint.h>

struct ports;

/* NULL on a bad address or range (reason in err). */
struct ports	*ports_new(const char *addr, int port_min, int port_max,
		    char *err, size_t errlen);
void		 ports_destroy(struct ports **);
/* Binds a pair: returns its index (>= 0) with fds[0] RTP, fds[1] RTCP and
 * *rtp_port, or -1 when no pair is free. The caller owns the fds. */
int		 ports_alloc(struct ports *, int fds[2], uint16_t *rtp_port);
/* Binds the pair whose RTP port is port (a restored call keeps its
 * ports): its index, or -1 (out of range, held, or the bind failed). */
int		 ports_claim(struct ports *, uint16_t port, int fds[2]);
/* 1 if port is in the range. */
int		 ports_has(const struct ports *, uint16_t port);
/* The local address, as given to ports_new. */
const char	*ports_addr(const struct ports *);
/* The first pair's io slot pair (several allocators share one io). */
void		 ports_set_slot_base(struct ports *, unsigned);
unsigned	 ports_slot_base(const struct ports *);
/* Marks a pair free (the caller closes the fds). */
void		 ports_free(struct ports *, int pair);
int		 ports_family(const struct ports *);	/* AF_INET or AF_INET6 */
unsigned	 ports_used(const struct ports *);	/* in ports, not pairs */
unsigned	 ports_total(const struct ports *);
/* Max pair count (for sizing the io slot table). */
unsigned	 ports_npairs(const struct ports *);

#endif
