/*
 * mediaprobe: continuous bidirectional RTP/SRTP for many streams at once,
 * measuring what the relay lets through (the fault tests,
 * tests/integration/test_fault_*.py, with the libsrtp2 the build links).
 *
 *   mediaprobe [-d SECONDS] [-i INTERVAL_MS] [-g GAP_MS] [-e] SPECFILE|-
 *
 * SPECFILE ("-": standard input, read to its end) has one stream per line
 * ('#' starts a comment):
 *
 *   ID LADDR:LPORT DADDR:DPORT TXSUITE TXKEY RXSUITE RXKEY SSRC SEQ
 *
 * ID names the stream in the results (no white space); the stream binds
 * LADDR:LPORT, sends every INTERVAL_MS (default 20) one RTP packet (PT 8,
 * 160 bytes of payload: "MPRB", the stream's index, the send time, padding)
 * to DADDR:DPORT ("-": send nothing), protected with TXSUITE and TXKEY
 * (RFC 4568 suite name, base64 key||salt; "-" "-": plain RTP), SSRC SSRC
 * (decimal or 0x hex), sequence numbers from SEQ (65000 makes the rollover
 * counter change after 536 packets).  Whatever arrives on the socket is
 * unprotected with RXSUITE and RXKEY ("-" "-": taken as plain RTP).
 *
 * It runs for SECONDS (default 30), or until SIGTERM or SIGINT, or with -e
 * until standard input reaches its end.  Once every socket is bound it
 * prints {"event":"start","unix_ms":T} (T: the real time of its time 0,
 * which every *_ms below counts from); at the end one JSON line per stream:
 *
 *   id, sent, send_errors, received (authenticated or plain),
 *   auth_failed, auth_fail_ms (the times of the first 64 failures),
 *   lost (holes in the received extended sequence numbers), late (older
 *   than the highest seen: reordered or replayed), ssrc_changes,
 *   holes ([time_ms, packets missing], the first 1024),
 *   first_rx_ms, last_rx_ms (-1: nothing received), max_gap_ms (largest
 *   interval between consecutive received packets), gaps ([start_ms,
 *   len_ms] for every such interval over GAP_MS, default 100, the first
 *   1024),
 *   tail_gap_ms (end minus the last reception), max_latency_ms (send
 *   time in the payload of a stream of this probe to reception),
 *   rx_seq_min, rx_seq_max (extended sequence numbers received)
 *
 * and last {"event":"end","duration_ms":D}.  Exit 0, or 2 for bad
 * arguments or set-up errors.  One process, poll(), loopback or not.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <srtp2/srtp.h>

#define MAX_STREAMS	1024
#define MAX_LIST	1024
#define MAX_AUTHLOG	64
#define PAYLOAD		160

struct stream {
	char			 id[64];
	int			 fd;
	int			 send;
	struct sockaddr_in	 dst;
	srtp_t			 tx, rx;
	unsigned char		 ktx[64], krx[64];
	uint32_t		 ssrc, ts;
	uint16_t		 seq;

	long			 sent, send_err, received, auth_failed;
	long			 late, ssrc_changes, lost;
	long			 auth_ms[MAX_AUTHLOG];
	int			 nauth;
	long			 holes[MAX_LIST][2];
	int			 nholes;
	long			 gaps[MAX_LIST][2];
	int			 ngaps;
	long			 first_rx, last_rx, max_gap, max_lat;
	int			 have_seq;
	uint32_t		 rx_ssrc;
	int64_t			 ext_min, ext_max;
};

static struct stream	*streams;
static int		 nstreams;
static volatile sig_atomic_t stop;
static long		 gap_ms = 100;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static long long
unix_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000LL;
}

static int
policy_for(const char *suite, srtp_policy_t *p)
{
	if (strcmp(suite, "AES_CM_128_HMAC_SHA1_80") == 0) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
	} else if (strcmp(suite, "AES_CM_128_HMAC_SHA1_32") == 0) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
	} else if (strcmp(suite, "AES_256_CM_HMAC_SHA1_80") == 0) {
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtcp);
	} else if (strcmp(suite, "AES_256_CM_HMAC_SHA1_32") == 0) {
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtcp);
	} else if (strcmp(suite, "AEAD_AES_128_GCM") == 0) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
	} else if (strcmp(suite, "AEAD_AES_256_GCM") == 0) {
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
	} else
		return -1;
	return 0;
}

/* base64 (padded or not) into out; returns the length or -1. */
static int
b64(const char *s, unsigned char *out, size_t outlen)
{
	unsigned char	 buf[128], tmp[96];
	size_t		 len = strlen(s), pad = 0;
	int		 n;

	if (len + 3 >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	while (len % 4 != 0)
		buf[len++] = '=';
	while (pad < len && buf[len - 1 - pad] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(tmp, buf, (int)len)) < 0 ||
	    (size_t)n < pad || (size_t)n - pad > outlen)
		return -1;
	n -= (int)pad;
	memcpy(out, tmp, (size_t)n);
	return n;
}

/* NULL for "-": that direction is plain RTP. */
static srtp_t
session(const char *suite, const char *key, int inbound, unsigned char *k)
{
	srtp_policy_t	 p;
	srtp_t		 s;

	if (strcmp(suite, "-") == 0 || strcmp(key, "-") == 0)
		return NULL;
	memset(&p, 0, sizeof(p));
	if (policy_for(suite, &p) == -1 || b64(key, k, 64) <= 0) {
		fprintf(stderr, "mediaprobe: bad suite or key %s\n", suite);
		exit(2);
	}
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = k;
	/* a relay that restarts may resend a little behind; the window is
	 * the receiver's usual one */
	p.window_size = 1024;
	if (srtp_create(&s, &p) != srtp_err_status_ok) {
		fprintf(stderr, "mediaprobe: srtp_create failed\n");
		exit(2);
	}
	return s;
}

static int
parse_addr(const char *s, struct sockaddr_in *sa)
{
	char		 host[64];
	const char	*colon;
	char		*end;
	long		 port;

	if ((colon = strrchr(s, ':')) == NULL ||
	    (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void
add_stream(char **f, int lineno)
{
	struct stream		*s;
	struct sockaddr_in	 la;
	int			 one = 1;

	if (nstreams == MAX_STREAMS) {
		fprintf(stderr, "mediaprobe: more than %d streams\n",
		    MAX_STREAMS);
		exit(2);
	}
	s = &streams[nstreams];
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", f[0]);
	if (parse_addr(f[1], &la) == -1) {
		fprintf(stderr, "mediaprobe: line %d: bad local address %s\n",
		    lineno, f[1]);
		exit(2);
	}
	s->send = strcmp(f[2], "-") != 0;
	if (s->send && parse_addr(f[2], &s->dst) == -1) {
		fprintf(stderr, "mediaprobe: line %d: bad destination %s\n",
		    lineno, f[2]);
		exit(2);
	}
	s->tx = session(f[3], f[4], 0, s->ktx);
	s->rx = session(f[5], f[6], 1, s->krx);
	s->ssrc = (uint32_t)strtoul(f[7], NULL, 0);
	s->seq = (uint16_t)strtoul(f[8], NULL, 0);
	s->ts = (uint32_t)nstreams * 100000u;
	s->first_rx = s->last_rx = -1;
	if ((s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 ||
	    bind(s->fd, (struct sockaddr *)&la, sizeof(la)) == -1) {
		fprintf(stderr, "mediaprobe: line %d: bind %s: %s\n", lineno,
		    f[1], strerror(errno));
		exit(2);
	}
	nstreams++;
}

static void
read_spec(FILE *fp)
{
	char	 line[1024], *f[9], *p, *save;
	int	 lineno = 0, n;

	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		n = 0;
		for (p = strtok_r(line, " \t\r\n", &save); p != NULL && n < 9;
		    p = strtok_r(NULL, " \t\r\n", &save))
			f[n++] = p;
		if (n == 0)
			continue;
		if (n != 9 || p != NULL) {
			fprintf(stderr, "mediaprobe: line %d: want 9 fields\n",
			    lineno);
			exit(2);
		}
		add_stream(f, lineno);
	}
}

static void
send_one(struct stream *s, int idx, long long now_unix)
{
	unsigned char	 pkt[12 + PAYLOAD + SRTP_MAX_TRAILER_LEN + 16];
	int		 len = 12 + PAYLOAD, i;

	pkt[0] = 0x80;
	pkt[1] = 8;
	pkt[2] = s->seq >> 8;
	pkt[3] = s->seq & 0xff;
	pkt[4] = s->ts >> 24; pkt[5] = s->ts >> 16;
	pkt[6] = s->ts >> 8; pkt[7] = s->ts;
	pkt[8] = s->ssrc >> 24; pkt[9] = s->ssrc >> 16;
	pkt[10] = s->ssrc >> 8; pkt[11] = s->ssrc;
	memset(pkt + 12, 0x5a, PAYLOAD);
	memcpy(pkt + 12, "MPRB", 4);
	for (i = 0; i < 4; i++)
		pkt[16 + i] = (unsigned char)((uint32_t)idx >> (24 - 8 * i));
	for (i = 0; i < 8; i++)
		pkt[20 + i] = (unsigned char)((uint64_t)now_unix >>
		    (56 - 8 * i));
	s->seq++;
	s->ts += 160;
	if (s->tx != NULL && srtp_protect(s->tx, pkt, &len) !=
	    srtp_err_status_ok) {
		s->send_err++;
		return;
	}
	if (sendto(s->fd, pkt, (size_t)len, 0, (struct sockaddr *)&s->dst,
	    sizeof(s->dst)) == -1)
		s->send_err++;
	else
		s->sent++;
}

static void
receive(struct stream *s, long t, long long now_unix)
{
	unsigned char	 pkt[2048];
	ssize_t		 r;
	int		 len, i;
	uint32_t	 ssrc;
	uint16_t	 seq;
	int64_t		 ext;
	int16_t		 delta;
	long long	 sent_at;

	while ((r = recv(s->fd, pkt, sizeof(pkt), 0)) >= 0 || errno == EINTR ||
	    errno == ECONNREFUSED) {
		/* ICMP errors of earlier sends: not a packet */
		if (r < 0)
			continue;
		if (r < 12 || (pkt[0] & 0xc0) != 0x80)
			continue;
		len = (int)r;
		if (s->rx != NULL && srtp_unprotect(s->rx, pkt, &len) !=
		    srtp_err_status_ok) {
			if (s->nauth < MAX_AUTHLOG)
				s->auth_ms[s->nauth++] = t;
			s->auth_failed++;
			continue;
		}
		seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
		ssrc = (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 |
		    (uint32_t)pkt[10] << 8 | pkt[11];
		if (!s->have_seq || ssrc != s->rx_ssrc) {
			if (s->have_seq)
				s->ssrc_changes++;
			s->have_seq = 1;
			s->rx_ssrc = ssrc;
			ext = seq;
			s->ext_min = s->ext_max = ext;
		} else {
			delta = (int16_t)(seq - (uint16_t)s->ext_max);
			ext = s->ext_max + delta;
			if (ext > s->ext_max) {
				if (ext > s->ext_max + 1) {
					s->lost += ext - s->ext_max - 1;
					if (s->nholes < MAX_LIST) {
						s->holes[s->nholes][0] = t;
						s->holes[s->nholes++][1] =
						    (long)(ext - s->ext_max - 1);
					}
				}
				s->ext_max = ext;
			} else {
				s->late++;
				/* a late packet fills a hole, if it was one */
				if (s->lost > 0 && ext >= s->ext_min)
					s->lost--;
			}
			if (ext < s->ext_min)
				s->ext_min = ext;
		}
		if (len >= 12 + 28 && memcmp(pkt + 12, "MPRB", 4) == 0) {
			sent_at = 0;
			for (i = 0; i < 8; i++)
				sent_at = sent_at << 8 | pkt[20 + i];
			if (now_unix - sent_at > s->max_lat)
				s->max_lat = (long)(now_unix - sent_at);
		}
		if (s->last_rx >= 0) {
			if (t - s->last_rx > s->max_gap)
				s->max_gap = t - s->last_rx;
			if (t - s->last_rx > gap_ms && s->ngaps < MAX_LIST) {
				s->gaps[s->ngaps][0] = s->last_rx;
				s->gaps[s->ngaps++][1] = t - s->last_rx;
			}
		} else
			s->first_rx = t;
		s->last_rx = t;
		s->received++;
	}
}

static void
print_pairs(long (*v)[2], int n)
{
	int	 i;

	putchar('[');
	for (i = 0; i < n; i++)
		printf("%s[%ld,%ld]", i ? "," : "", v[i][0], v[i][1]);
	putchar(']');
}

static void
report(struct stream *s, long end)
{
	int	 i;

	printf("{\"id\":\"%s\",\"sent\":%ld,\"send_errors\":%ld,"
	    "\"received\":%ld,\"auth_failed\":%ld,\"auth_fail_ms\":[",
	    s->id, s->sent, s->send_err, s->received, s->auth_failed);
	for (i = 0; i < s->nauth; i++)
		printf("%s%ld", i ? "," : "", s->auth_ms[i]);
	printf("],\"lost\":%ld,\"late\":%ld,\"ssrc_changes\":%ld,\"holes\":",
	    s->lost, s->late, s->ssrc_changes);
	print_pairs(s->holes, s->nholes);
	printf(",\"first_rx_ms\":%ld,\"last_rx_ms\":%ld,\"max_gap_ms\":%ld,"
	    "\"gaps\":", s->first_rx, s->last_rx, s->max_gap);
	print_pairs(s->gaps, s->ngaps);
	printf(",\"tail_gap_ms\":%ld,\"max_latency_ms\":%ld,"
	    "\"rx_seq_min\":%lld,\"rx_seq_max\":%lld}\n",
	    s->last_rx >= 0 ? end - s->last_rx : end, s->max_lat,
	    s->have_seq ? (long long)s->ext_min : -1LL,
	    s->have_seq ? (long long)s->ext_max : -1LL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: mediaprobe [-d seconds] [-i interval_ms] "
	    "[-g gap_ms] [-e] specfile|-\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct pollfd		*pfd;
	struct sigaction	 sa;
	FILE			*fp;
	long			 t0, t, next, end, interval = 20;
	long long		 u0;
	double			 secs = 30;
	int			 c, i, watch_stdin = 0, timeout, n;

	while ((c = getopt(argc, argv, "d:i:g:e")) != -1) {
		switch (c) {
		case 'd':
			secs = atof(optarg);
			break;
		case 'i':
			interval = atol(optarg);
			break;
		case 'g':
			gap_ms = atol(optarg);
			break;
		case 'e':
			watch_stdin = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || interval < 1 || secs <= 0)
		usage();
	if (srtp_init() != srtp_err_status_ok)
		return 2;
	if ((streams = calloc(MAX_STREAMS, sizeof(*streams))) == NULL)
		return 2;
	if (strcmp(argv[optind], "-") == 0)
		fp = stdin;
	else if ((fp = fopen(argv[optind], "r")) == NULL) {
		perror(argv[optind]);
		return 2;
	}
	read_spec(fp);
	if (fp != stdin)
		fclose(fp);
	else
		watch_stdin = 0;
	if (nstreams == 0) {
		fprintf(stderr, "mediaprobe: no streams\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((pfd = calloc((size_t)nstreams + 1, sizeof(*pfd))) == NULL)
		return 2;
	for (i = 0; i < nstreams; i++) {
		pfd[i].fd = streams[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[nstreams].fd = watch_stdin ? STDIN_FILENO : -1;
	pfd[nstreams].events = POLLIN;

	t0 = mono_ms();
	u0 = unix_ms();
	end = (long)(secs * 1000);
	printf("{\"event\":\"start\",\"unix_ms\":%lld,\"streams\":%d}\n", u0,
	    nstreams);
	fflush(stdout);
	next = 0;
	while (!stop) {
		t = mono_ms() - t0;
		if (t >= end)
			break;
		if (t >= next) {
			for (i = 0; i < nstreams; i++)
				if (streams[i].send)
					send_one(&streams[i], i, u0 + t);
			/* late ticks are skipped, not sent in a burst */
			next += interval;
			if (next <= t)
				next = t - (t % interval) + interval;
		}
		timeout = (int)(next - t);
		if (timeout > end - t)
			timeout = (int)(end - t);
		if (timeout < 0)
			timeout = 0;
		n = poll(pfd, (nfds_t)nstreams + 1, timeout);
		if (n <= 0)
			continue;
		t = mono_ms() - t0;
		for (i = 0; i < nstreams; i++)
			if (pfd[i].revents & (POLLIN | POLLERR))
				receive(&streams[i], t, u0 + t);
		if (pfd[nstreams].revents & (POLLIN | POLLHUP)) {
			char	 buf[256];

			if (read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
				break;
		}
	}
	t = mono_ms() - t0;
	for (i = 0; i < nstreams; i++) {
		receive(&streams[i], t, u0 + t);
		report(&streams[i], t);
		if (streams[i].tx != NULL)
			srtp_dealloc(streams[i].tx);
		if (streams[i].rx != NULL)
			srtp_dealloc(streams[i].rx);
		close(streams[i].fd);
	}
	printf("{\"event\":\"end\",\"duration_ms\":%ld}\n", t);
	free(pfd);
	free(streams);
	return 0;
}
