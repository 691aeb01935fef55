/*
 * zmqsend: a test helper for tests/integration (no pyzmq on the test
 * hosts).  Connects a DEALER to ENDPOINT, sends one message whose frames
 * are the hex strings given (an empty string is an empty frame), waits
 * up to TIMEOUT_MS for one reply and prints each of its frames as one
 * line of hex.
 *
 *   zmqsend ENDPOINT TIMEOUT_MS < HEX lines (the frames of one message)
 *   zmqsend -m ENDPOINT TIMEOUT_MS < HEX lines (one single-frame message
 *       each, all sent before the first reply is read; prints one line
 *       per reply, as they come, until as many came or the timeout)
 *
 * Exit status: 0 a reply was printed, 1 no reply within the timeout,
 * 2 usage or ZeroMQ error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include <sys/stat.h>
#include <unistd.h>

#define ZMQSEND_MAXFRAMES	64

static int	unhex(const char *, unsigned char **, size_t *);
static int	many(const char *, int);

/* -p: one PUB message per line of standard input. */
static int
publish(const char *endpoint, int wait_ms)
{
	void		*ctx, *s;
	char		*line = NULL, *part, *save;
	size_t		 cap = 0, len;
	unsigned char	*buf;
	int		 linger = 2000, hwm = 100000;

	ctx = zmq_ctx_new();
	s = zmq_socket(ctx, ZMQ_PUB);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	if (zmq_bind(s, endpoint) == -1) {
		fprintf(stderr, "bind %s: %s\n", endpoint,
		    zmq_strerror(zmq_errno()));
		return 2;
	}
	/* the daemons run as their own user: let them connect */
	if (strncmp(endpoint, "ipc://", 6) == 0)
		(void)chmod(endpoint + 6, 0777);
	usleep((useconds_t)wait_ms * 1000);
	while (getline(&line, &cap, stdin) != -1) {
		line[strcspn(line, "\r\n")] = '\0';
		for (part = strtok_r(line, ",", &save); part != NULL;
		    part = strtok_r(NULL, ",", &save)) {
			if (unhex(part, &buf, &len) == -1) {
				fprintf(stderr, "bad hex\n");
				return 2;
			}
			zmq_send(s, buf, len, save != NULL && *save != '\0' ?
			    ZMQ_SNDMORE : 0);
			free(buf);
		}
	}
	free(line);
	usleep((useconds_t)wait_ms * 1000);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}

/* -m: one message per line, sent together; their replies printed. */
static int
many(const char *endpoint, int timeout)
{
	void		*ctx, *s;
	char		*line = NULL;
	size_t		 cap = 0, len, i;
	unsigned char	*buf;
	int		 linger = 0, sent = 0, got = 0;
	zmq_pollitem_t	 pi;

	ctx = zmq_ctx_new();
	s = zmq_socket(ctx, ZMQ_DEALER);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_connect(s, endpoint) == -1)
		return 2;
	while (getline(&line, &cap, stdin) != -1) {
		if (unhex(line, &buf, &len) == -1 ||
		    zmq_send(s, buf, len, 0) == -1)
			return 2;
		free(buf);
		sent++;
	}
	free(line);
	while (got < sent) {
		zmq_msg_t		 m;
		const unsigned char	*d;

		pi.socket = s;
		pi.fd = 0;
		pi.events = ZMQ_POLLIN;
		pi.revents = 0;
		if (zmq_poll(&pi, 1, timeout) <= 0)
			break;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) == -1)
			return 2;
		d = zmq_msg_data(&m);
		for (i = 0; i < zmq_msg_size(&m); i++)
			printf("%02x", d[i]);
		printf("\n");
		zmq_msg_close(&m);
		got++;
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	return got == sent ? 0 : 1;
}

static int
unhex(const char *s, unsigned char **out, size_t *outlen)
{
	size_t	 n = strcspn(s, "\r\n"), i;
	unsigned int b;

	if (n % 2 != 0)
		return -1;
	if ((*out = malloc(n / 2 + 1)) == NULL)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		(*out)[i] = (unsigned char)b;
	}
	*outlen = n / 2;
	return 0;
}

int
main(int argc, char **argv)
{
	void		*ctx, *s;
	unsigned char	*buf, *frame[ZMQSEND_MAXFRAMES];
	size_t		 len, i, flen[ZMQSEND_MAXFRAMES], cap = 0;
	char		*line = NULL;
	int		 a, n = 0, timeout, linger = 0, more;
	zmq_pollitem_t	 pi;

	if (argc == 4 && strcmp(argv[1], "-p") == 0)
		return publish(argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "-m") == 0)
		return many(argv[2], atoi(argv[3]));
	if (argc != 3) {
		fprintf(stderr, "usage: zmqsend [-p] ENDPOINT TIMEOUT_MS < hex\n");
		return 2;
	}
	while (n < ZMQSEND_MAXFRAMES && getline(&line, &cap, stdin) != -1) {
		if (unhex(line, &frame[n], &flen[n]) == -1) {
			fprintf(stderr, "bad hex in frame %d\n", n);
			return 2;
		}
		n++;
	}
	free(line);
	if (n == 0) {
		fprintf(stderr, "no frames on standard input\n");
		return 2;
	}
	timeout = atoi(argv[2]);
	ctx = zmq_ctx_new();
	s = zmq_socket(ctx, ZMQ_DEALER);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_connect(s, argv[1]) == -1) {
		fprintf(stderr, "connect %s: %s\n", argv[1],
		    zmq_strerror(zmq_errno()));
		return 2;
	}
	for (a = 0; a < n; a++) {
		buf = frame[a];
		len = flen[a];
		if (zmq_send(s, buf, len, a + 1 < n ? ZMQ_SNDMORE : 0) == -1) {
			fprintf(stderr, "send: %s\n", zmq_strerror(zmq_errno()));
			return 2;
		}
		free(buf);
	}
	pi.socket = s;
	pi.fd = 0;
	pi.events = ZMQ_POLLIN;
	pi.revents = 0;
	if (zmq_poll(&pi, 1, timeout) <= 0) {
		zmq_close(s);
		zmq_ctx_term(ctx);
		return 1;
	}
	do {
		zmq_msg_t	 m;
		size_t		 sz;
		const unsigned char *d;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) == -1)
			return 2;
		sz = zmq_msg_size(&m);
		d = zmq_msg_data(&m);
		for (i = 0; i < sz; i++)
			printf("%02x", d[i]);
		printf("\n");
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
	} while (more);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}
