/*
 * ngnet: the ng sockets: one UDP socket (a request per datagram) and, with
 * ng_tcp, a TCP listener whose connections carry the same messages back
 * to back.  Sources outside ng_allow are dropped (UDP) or refused (TCP)
 * and counted.  A TCP connection that sends what can never frame, or a
 * message above NG_TCP_MAX, is closed; the others are not affected.
 */
#ifndef CTLD_NGNET_H
#define CTLD_NGNET_H

#include <zmq.h>

struct ctld;
struct ngnet;

#define NGNET_MAX_CONNS	64

/* Binds cfg->ng_listen; NULL (logged) on failure. */
struct ngnet	*ngnet_new(const char *listen, int tcp);
void		 ngnet_destroy(struct ngnet **);
/* Fills poll items for every fd (up to max); returns how many. */
int		 ngnet_pollitems(struct ngnet *, zmq_pollitem_t *, int max);
/* Serves what the poll items (as filled above, with revents) report. */
void		 ngnet_ready(struct ngnet *, struct ctld *,
		    const zmq_pollitem_t *, int n);

#endif
