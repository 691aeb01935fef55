/*
 * ports: media port pair allocator; see ports.h.
 *
 * Invariants: bit i of used is set iff pair i (ports base+2i, base+2i+1)
 * is held by a call; base is port_min rounded up to even; cursor is the
 * next pair to try, wrapping.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcommon/log.h"
#include "relayd/ports.h"

/* Receive and send buffer per media socket (the kernel doubles it): room
 * for a video frame's burst, but not for seconds of audio queued behind
 * an overloaded relay; real-time media late by seconds is useless, so
 * past this the kernel drops (1 MB here made an overload queue 5-7 s). */
#define PORTS_SOCKBUF	(128 * 1024)

struct ports {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 family;
	uint16_t		 base;
	unsigned		 npairs;
	unsigned		 nused;
	unsigned		 cursor;
	unsigned		 slot_base;	/* io slots: 2 * (base + pair) */
	char			 addr[64];
	uint8_t			*used;
};

struct ports *
ports_new(const char *addr, int port_min, int port_max, char *err,
    size_t errlen)
{
	struct ports		*p;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	int			 base;

	base = port_min + (port_min & 1);
	if (port_min < 1 || port_max > 65535 || base + 1 > port_max) {
		snprintf(err, errlen, "bad port range %d-%d", port_min,
		    port_max);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sin = (struct sockaddr_in *)&p->ss;
	sin6 = (struct sockaddr_in6 *)&p->ss;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = p->family = AF_INET;
		p->sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = p->family = AF_INET6;
		p->sslen = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "bad interface address %s", addr);
		free(p);
		return NULL;
	}
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->base = base;
	p->npairs = (port_max - base + 1) / 2;
	if ((p->used = calloc((p->npairs + 7) / 8, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(p);
		return NULL;
	}
	return p;
}

void
ports_destroy(struct ports **pp)
{
	if (*pp == NULL)
		return;
	free((*pp)->used);
	free(*pp);
	*pp = NULL;
}

static int
ports_bind(struct ports *p, uint16_t port)
{
	struct sockaddr_storage	 ss = p->ss;
	int			 fd, sz = PORTS_SOCKBUF;

	if (p->family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	fd = socket(p->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&ss, p->sslen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
ports_alloc(struct ports *p, int fds[2], uint16_t *rtp_port)
{
	unsigned	 n, i;
	uint16_t	 port;

	for (n = 0; n < p->npairs; n++) {
		i = p->cursor;
		p->cursor = (p->cursor + 1) % p->npairs;
		if (p->used[i / 8] & (1 << (i % 8)))
			continue;
		port = p->base + 2 * i;
		if ((fds[0] = ports_bind(p, port)) == -1)
			continue;
		if ((fds[1] = ports_bind(p, port + 1)) == -1) {
			close(fds[0]);
			continue;
		}
		p->used[i / 8] |= 1 << (i % 8);
		p->nused++;
		*rtp_port = port;
		return (int)i;
	}
	return -1;
}

int
ports_claim(struct ports *p, uint16_t port, int fds[2])
{
	unsigned	 i;

	if (port < p->base || (port - p->base) % 2 != 0 ||
	    (unsigned)(port - p->base) / 2 >= p->npairs)
		return -1;
	i = (port - p->base) / 2;
	if (p->used[i / 8] & (1 << (i % 8)))
		return -1;
	if ((fds[0] = ports_bind(p, port)) == -1)
		return -1;
	if ((fds[1] = ports_bind(p, port + 1)) == -1) {
		close(fds[0]);
		return -1;
	}
	p->used[i / 8] |= 1 << (i % 8);
	p->nused++;
	return (int)i;
}

int
ports_has(const struct ports *p, uint16_t port)
{
	return port >= p->base && (unsigned)(port - p->base) / 2 < p->npairs;
}

const char *
ports_addr(const struct ports *p)
{
	return p->addr;
}

void
ports_set_slot_base(struct ports *p, unsigned base)
{
	p->slot_base = base;
}

unsigned
ports_slot_base(const struct ports *p)
{
	return p->slot_base;
}

void
ports_free(struct ports *p, int pair)
{
	if (pair < 0 || (unsigned)pair >= p->npairs)
		return;
	if (p->used[pair / 8] & (1 << (pair % 8))) {
		p->used[pair / 8] &= ~(1 << (pair % 8));
		p->nused--;
	}
}

int
ports_family(const struct ports *p)
{
	return p->family;
}

unsigned
ports_used(const struct ports *p)
{
	return p->nused * 2;
}

unsigned
ports_total(const struct ports *p)
{
	return p->npairs * 2;
}

unsigned
ports_npairs(const struct ports *p)
{
	return p->npairs;
}
