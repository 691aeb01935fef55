/*
 * ngnet: ng over UDP and TCP; see ngnet.h.  Non-blocking sockets served
 * from ctld's poll loop.  Replies over TCP that the peer does not read
 * yet are kept (bounded) and written when the socket is writable.  At
 * most NGNET_MAX_CONNS TCP connections: when one more arrives, the one
 * idle longest is closed for it.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcommon/buf.h"
#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/log.h"
#include "ctld/acl.h"
#include "ctld/ctld.h"
#include "ctld/ng.h"
#include "ctld/ngnet.h"
#include "ctld/session.h"

#define NGNET_OUT_MAX	(8 * 1024 * 1024)	/* unread replies per conn */
#define NGNET_UDP_BATCH	64

struct ngconn {
	int		 fd;
	uint64_t	 active_ms;	/* monotonic: accepted or last read */
	char		 src[INET6_ADDRSTRLEN];
	struct buf	 in;
	struct buf	 out;
	size_t		 out_off;
};

struct ngnet {
	int		 udp;
	int		 tcp;		/* -1 without TCP */
	struct ngconn	 conn[NGNET_MAX_CONNS];
	int		 nconn;
	struct buf	 reply;
	char		 pkt[65536];
};

static int
ngnet_socket(const struct addrinfo *ai, int type)
{
	int	 fd, on = 1;

	if ((fd = socket(ai->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 64) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

struct ngnet *
ngnet_new(const char *listen_addr, int tcp)
{
	struct ngnet	*n;
	struct addrinfo	 hints, *ai = NULL;
	char		 host[CONFIG_STRLEN], port[16];
	int		 p, i;

	if (config_hostport(listen_addr, host, sizeof(host), &p) == -1) {
		log_warnx("ng_listen: bad address %s", listen_addr);
		return NULL;
	}
	snprintf(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0 ||
	    ai == NULL) {
		log_warnx("ng_listen: cannot use %s", listen_addr);
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		freeaddrinfo(ai);
		return NULL;
	}
	n->tcp = -1;
	for (i = 0; i < NGNET_MAX_CONNS; i++)
		n->conn[i].fd = -1;
	buf_init(&n->reply);
	if ((n->udp = ngnet_socket(ai, SOCK_DGRAM)) == -1) {
		log_warn("ng: UDP %s", listen_addr);
		goto fail;
	}
	if (tcp && (n->tcp = ngnet_socket(ai, SOCK_STREAM)) == -1) {
		log_warn("ng: TCP %s", listen_addr);
		goto fail;
	}
	freeaddrinfo(ai);
	log_info("ng: listening on %s (UDP%s)", listen_addr, tcp ? ", TCP" : "");
	return n;
 fail:
	freeaddrinfo(ai);
	ngnet_destroy(&n);
	return NULL;
}

static void
ngnet_close(struct ngnet *n, int i)
{
	struct ngconn	*c = &n->conn[i];

	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	n->conn[i] = n->conn[--n->nconn];
	n->conn[n->nconn].fd = -1;
	memset(&n->conn[n->nconn].in, 0, sizeof(struct buf));
	memset(&n->conn[n->nconn].out, 0, sizeof(struct buf));
}

void
ngnet_destroy(struct ngnet **np)
{
	struct ngnet	*n = *np;

	if (n == NULL)
		return;
	while (n->nconn > 0)
		ngnet_close(n, 0);
	if (n->udp > 0)
		close(n->udp);
	if (n->tcp > 0)
		close(n->tcp);
	buf_free(&n->reply);
	free(n);
	*np = NULL;
}

int
ngnet_pollitems(struct ngnet *n, zmq_pollitem_t *it, int max)
{
	int	 k = 0, i;

	if (k < max)
		it[k++] = (zmq_pollitem_t){ NULL, n->udp, ZMQ_POLLIN, 0 };
	if (n->tcp != -1 && k < max)
		it[k++] = (zmq_pollitem_t){ NULL, n->tcp, ZMQ_POLLIN, 0 };
	for (i = 0; i < n->nconn && k < max; i++)
		it[k++] = (zmq_pollitem_t){ NULL, n->conn[i].fd, ZMQ_POLLIN |
		    (n->conn[i].out.len > n->conn[i].out_off ? ZMQ_POLLOUT : 0),
		    0 };
	return k;
}

static void
ngnet_addr(const struct sockaddr_storage *ss, char *dst, size_t len)
{
	const void	*a;

	if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
	else
		a = &((const struct sockaddr_in *)(const void *)ss)->sin_addr;
	if (inet_ntop(ss->ss_family, a, dst, (socklen_t)len) == NULL)
		snprintf(dst, len, "?");
}

static void
ngnet_udp(struct ngnet *n, struct ctld *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	ssize_t			 r;
	char			 src[INET6_ADDRSTRLEN];
	int			 i;

	for (i = 0; i < NGNET_UDP_BATCH; i++) {
		sl = sizeof(ss);
		r = recvfrom(n->udp, n->pkt, sizeof(n->pkt), 0,
		    (struct sockaddr *)&ss, &sl);
		if (r == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("ng: recvfrom");
			return;
		}
		ngnet_addr(&ss, src, sizeof(src));
		if (c->allow != NULL &&
		    !acl_match(c->allow, (struct sockaddr *)&ss)) {
			/* a flood must not flood the log too */
			if (++c->ng_dropped[CTLD_NG_DROP_NOT_ALLOWED] <= 10 ||
			    c->ng_dropped[CTLD_NG_DROP_NOT_ALLOWED] % 1000 == 0)
				log_warnx("ng: datagram from %s not allowed "
				    "(%llu so far)", src, (unsigned long long)
				    c->ng_dropped[CTLD_NG_DROP_NOT_ALLOWED]);
			continue;
		}
		buf_reset(&n->reply);
		if (ng_handle(c, n->pkt, (size_t)r, src, &n->reply,
		    NG_UDP_MAX) == -1)
			continue;
		if (sendto(n->udp, n->reply.p, n->reply.len, 0,
		    (struct sockaddr *)&ss, sl) == -1) {
			log_warn("ng: sendto %s", src);
			c->ng_dropped[CTLD_NG_DROP_SEND_ERROR]++;
		}
	}
}

static void
ngnet_accept(struct ngnet *n, struct ctld *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	struct ngconn		*cn;
	char			 src[INET6_ADDRSTRLEN];
	int			 fd;

	if ((fd = accept4(n->tcp, (struct sockaddr *)&ss, &sl,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	ngnet_addr(&ss, src, sizeof(src));
	if (c->allow != NULL && !acl_match(c->allow, (struct sockaddr *)&ss)) {
		log_warnx("ng: TCP connection from %s not allowed", src);
		c->ng_dropped[CTLD_NG_DROP_NOT_ALLOWED]++;
		close(fd);
		return;
	}
	if (n->nconn == NGNET_MAX_CONNS) {
		/* connections that only sit there must not lock the others
		 * out: the one idle longest makes room */
		int	 i, old = 0;

		for (i = 1; i < n->nconn; i++)
			if (n->conn[i].active_ms < n->conn[old].active_ms)
				old = i;
		log_warnx("ng: too many TCP connections, closing the one "
		    "idle longest (%s) for %s", n->conn[old].src, src);
		ngnet_close(n, old);
	}
	cn = &n->conn[n->nconn++];
	memset(cn, 0, sizeof(*cn));
	cn->fd = fd;
	cn->active_ms = daemon_now_ms();
	snprintf(cn->src, sizeof(cn->src), "%s", src);
	buf_init(&cn->in);
	buf_init(&cn->out);
}

/* Writes what is pending; -1 when the connection must close. */
static int
ngnet_flush(struct ngconn *cn)
{
	ssize_t	 w;

	while (cn->out_off < cn->out.len) {
		w = send(cn->fd, cn->out.p + cn->out_off,
		    cn->out.len - cn->out_off, MSG_NOSIGNAL);
		if (w == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR ? 0 : -1;
		cn->out_off += (size_t)w;
	}
	buf_reset(&cn->out);
	cn->out_off = 0;
	return 0;
}

/* Reads and serves one connection; -1 when it must close. */
static int
ngnet_conn(struct ngnet *n, struct ctld *c, struct ngconn *cn)
{
	ssize_t	 r, ml;
	size_t	 used = 0;

	r = recv(cn->fd, n->pkt, sizeof(n->pkt), 0);
	if (r == 0)
		return -1;
	if (r == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR ? 0 : -1;
	cn->active_ms = daemon_now_ms();
	if (buf_add(&cn->in, n->pkt, (size_t)r) == -1 || cn->in.oom)
		return -1;
	while ((ml = ng_tcp_msglen(cn->in.p + used, cn->in.len - used)) > 0) {
		size_t	 ws = strspn(cn->in.p + used, " \t\r\n");

		/* the line ends some clients put between messages are not
		 * part of the cookie */
		if (ws > (size_t)ml)
			ws = (size_t)ml;
		if (ng_handle(c, cn->in.p + used + ws, (size_t)ml - ws,
		    cn->src, &cn->out, NG_TCP_MAX * 8) == -1 && cn->out.oom)
			return -1;
		used += (size_t)ml;
	}
	if (ml == -1) {
		log_warnx("ng: unframable TCP data from %s, closing", cn->src);
		c->ng_dropped[cn->in.len - used > NG_TCP_MAX ?
		    CTLD_NG_DROP_TCP_OVERFLOW : CTLD_NG_DROP_TCP_MALFORMED]++;
		return -1;
	}
	if (used > 0) {
		memmove(cn->in.p, cn->in.p + used, cn->in.len - used);
		cn->in.len -= used;
	}
	if (cn->out.len - cn->out_off > NGNET_OUT_MAX) {
		c->ng_dropped[CTLD_NG_DROP_TCP_OVERFLOW]++;
		return -1;
	}
	return ngnet_flush(cn);
}

void
ngnet_ready(struct ngnet *n, struct ctld *c, const zmq_pollitem_t *it, int k)
{
	int	 i, j;

	for (i = 0; i < k; i++) {
		if (it[i].revents == 0)
			continue;
		if (it[i].fd == n->udp) {
			ngnet_udp(n, c);
			continue;
		}
		if (it[i].fd == n->tcp) {
			ngnet_accept(n, c);
			continue;
		}
		for (j = 0; j < n->nconn; j++) {
			struct ngconn	*cn = &n->conn[j];

			if (cn->fd != it[i].fd)
				continue;
			if (((it[i].revents & ZMQ_POLLIN) &&
			    ngnet_conn(n, c, cn) == -1) ||
			    ((it[i].revents & ZMQ_POLLOUT) &&
			    ngnet_flush(cn) == -1) ||
			    (it[i].revents & ZMQ_POLLERR))
				ngnet_close(n, j);
			break;
		}
	}
}
