/*
 * http: statsd's /metrics and /health over libmicrohttpd, see http.h.
 *
 * We bind the socket ourselves (so that the address is checked and the
 * error reported before confinement) and hand it to microhttpd with
 * MHD_OPTION_LISTEN_SOCKET.  One internal polling thread (epoll on Linux)
 * serves every connection; requests are tiny and rendering is bounded by
 * COLLECT_MAX_SERIES, so no thread pool is needed.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "libcommon/buf.h"
#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "statsd/http.h"

#define HTTP_MAX_CONNECTIONS	64
#define HTTP_TIMEOUT_S		10

#define HTTP_CT_METRICS	"text/plain; version=0.0.4; charset=utf-8"
#define HTTP_CT_JSON	"application/json"
#define HTTP_CT_TEXT	"text/plain; charset=utf-8"

struct http {
	struct MHD_Daemon	*mhd;
	struct collect		*collect;	/* not owned */
	int			 fd;
};

const char *const http_syscalls[] = {
	"accept4", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	"eventfd2", "recvfrom", "sendto", "sendmsg", "writev", "shutdown",
	"setsockopt", "getsockopt", "fcntl", "poll", "close",
	NULL
};

static enum MHD_Result
http_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
    struct buf *b)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;

	/* microhttpd frees the rendered bytes once sent */
	resp = MHD_create_response_from_buffer(b->len, b->p,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		buf_free(b);
		return MHD_NO;
	}
	b->p = NULL;
	buf_free(b);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
http_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct buf	 b;

	buf_init(&b);
	buf_addstr(&b, text);
	if (b.oom) {
		buf_free(&b);
		return MHD_NO;
	}
	return http_send(conn, status, HTTP_CT_TEXT, &b);
}

static enum MHD_Result
http_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http	*h = cls;
	struct buf	 b;
	int		 all, metrics, health;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	metrics = strcmp(url, "/metrics") == 0;
	health = strcmp(url, "/health") == 0;
	if (!metrics && !health)
		return http_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return http_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	buf_init(&b);
	if (metrics) {
		if (collect_render(h->collect, &b, daemon_now_ms()) == -1) {
			buf_free(&b);
			return http_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "out of memory\n");
		}
		return http_send(conn, MHD_HTTP_OK, HTTP_CT_METRICS, &b);
	}
	if ((all = collect_health(h->collect, &b, daemon_now_ms())) == -1) {
		buf_free(&b);
		return http_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n");
	}
	return http_send(conn, all ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
	    HTTP_CT_JSON, &b);
}

static int
http_listen(const char *listen_addr, int *v6, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 host[CONFIG_STRLEN], port[16];
	int		 fd, on = 1, p, rc;

	if (config_hostport(listen_addr, host, sizeof(host), &p) == -1) {
		snprintf(err, errlen, "http_listen: bad address \"%s\"",
		    listen_addr);
		return -1;
	}
	snprintf(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "http_listen %s: %s", listen_addr,
		    gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 64) == -1) {
		snprintf(err, errlen, "http_listen %s: %s", listen_addr,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return fd;
}

struct http *
http_start(const char *listen_addr, struct collect *c, char *err,
    size_t errlen)
{
	struct http	*h;
	unsigned	 flags;
	int		 v6 = 0;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->collect = c;
	if ((h->fd = http_listen(listen_addr, &v6, err, errlen)) == -1) {
		free(h);
		return NULL;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	if (v6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_request, h,
	    MHD_OPTION_LISTEN_SOCKET, h->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "http_listen %s: microhttpd did not "
		    "start", listen_addr);
		close(h->fd);
		free(h);
		return NULL;
	}
	return h;
}

void
http_stop(struct http **hp)
{
	struct http	*h = *hp;

	if (h == NULL)
		return;
	/* MHD_stop_daemon closes the listening socket it was given */
	MHD_stop_daemon(h->mhd);
	free(h);
	*hp = NULL;
}
