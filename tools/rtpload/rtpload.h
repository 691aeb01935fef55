/*
 * rtpload: a load generator and benchmark for RTP relays driven by the ng
 * protocol (rtpsec and rtpengine), see rtpload(1).
 *
 * Layout: main.c parses flags and runs the phases (setup, media windows,
 * saturate steps, delete) and prints the results; ng.c is the ng client
 * (bencode over UDP) and the SDP it sends and parses; media.c owns the K
 * UDP sockets, the sender and the receiver threads; proc.c samples the
 * relay's CPU and RSS from /proc.
 *
 * Streams: call i has stream 2i (caller -> callee, direction 0) and 2i+1
 * (callee -> caller, direction 1).  The caller leg lives on socket
 * (2i) % K, the callee leg on (2i+1) % K; the relay latches on source
 * address, so many legs share one socket and one sendmmsg reaches many
 * relay ports.
 *
 * Threads: the main thread sets calls up while no run is on (the
 * receiver ignores packets while rx_epoch is 0, under rx_lock) and reads
 * results only after the sender has been joined and, for the receiver,
 * under rx_lock.  Fields are annotated with their owner.
 */
#ifndef RTPLOAD_H
#define RTPLOAD_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>

#include <srtp2/srtp.h>

#define RL_MAGIC	0x524c4f44u	/* "RLOD" */
#define RL_RTP_HDR	12
#define RL_PAYLOAD	160
#define RL_PKT		(RL_RTP_HDR + RL_PAYLOAD)
#define RL_PKT_MAX	(RL_PKT + SRTP_MAX_TRAILER_LEN)
#define RL_BATCH	1024		/* packets queued per socket */
#define RL_CHUNK	32		/* stamped and sent together */
#define RL_RX_BATCH	64		/* recvmmsg */
#define RL_HIST_US	100000		/* 1 us buckets up to 100 ms */
#define RL_MAX_SOCKETS	256
#define RL_SSRC_BASE	0x52000000u

/* Payload layout after the RTP header (all big-endian). */
#define RL_OFF_MAGIC	0
#define RL_OFF_CALL	4
#define RL_OFF_DIR	8
#define RL_OFF_EPOCH	9
#define RL_OFF_SEQ	10
#define RL_OFF_TXNS	14

struct rl_opts {
	struct sockaddr_in	 ng;		/* -n */
	struct in_addr		 local;		/* -a */
	unsigned		 calls;		/* -c */
	double			 rate;		/* -r, per stream */
	double			 duration;	/* -d, seconds */
	double			 setup_rate;	/* --setup-rate, 0: sequential */
	unsigned		 nsock;		/* -k */
	int			 srtp;		/* -S */
	int			 saturate;
	int			 json;		/* -j */
	int			 quiet;		/* -q */
	int			 pids[64];	/* -p */
	unsigned		 npids;
};

/* One direction of one call.  RO after setup except where marked. */
struct rl_stream {
	struct sockaddr_in	 dst;		/* relay port it sends to */
	unsigned		 sock;		/* index of the sending socket */
	uint32_t		 ssrc;
	uint16_t		 seq;		/* sender only */
	uint32_t		 ts;		/* sender only */
	uint32_t		 pseq;		/* sender only: own sequence */
	uint64_t		 sent_win;	/* sender only */
	uint64_t		 rx_win;	/* receiver only, under rx.lock */
	uint32_t		 rx_max;	/* receiver only: duplicate check */
	uint64_t		 rx_bits;	/* receiver only */
	int			 rx_any;	/* receiver only */
};

struct rl_call {
	int		 up;		/* offer and answer succeeded */
	int		 offered;	/* the relay may hold it: delete it */
	srtp_t		 tx;		/* -S: caller's outbound (sender only) */
	srtp_t		 rx;		/* -S: relay's key (receiver only) */
};

/* Receiver statistics of one media window; under rx.lock. */
struct rl_rxstats {
	uint64_t	 delivered;	/* window packets */
	uint64_t	 bad;		/* malformed, unknown, duplicate */
	uint64_t	 srtp_fail;	/* unprotect failures */
	uint64_t	 other;		/* packets of another window */
	uint64_t	 overflow;	/* latency >= RL_HIST_US */
	uint64_t	 max_ns;
	uint32_t	*hist;		/* RL_HIST_US buckets, owned */
};

struct rl {
	struct rl_opts		 o;
	int			 sock[RL_MAX_SOCKETS];
	struct sockaddr_in	 sock_addr[RL_MAX_SOCKETS];	/* RO */
	unsigned		 nstreams;	/* 2 * calls */
	struct rl_stream	*st;		/* nstreams */
	struct rl_call		*call;		/* calls */
	uint32_t		*port_map;	/* relay port -> stream + 1 */
	unsigned		 gen;		/* calls set up again: call-ids */

	/* receiver */
	pthread_t		 rx_thread;
	pthread_mutex_t		 rx_lock;
	int			 rx_stop;	/* atomic */
	uint8_t			 rx_epoch;	/* under rx_lock */
	struct rl_rxstats	 rx;		/* under rx_lock */
};

/* One media run: warmup then a measured window, at rate per stream. */
struct rl_run {
	double		 rate;		/* per stream */
	double		 warmup;	/* seconds */
	double		 duration;	/* seconds */
	uint8_t		 epoch;		/* 1..255 */
	/* results */
	uint64_t	 expected;	/* packets due in the window */
	uint64_t	 sent;		/* window packets sent */
	uint64_t	 delivered;
	uint64_t	 late_ticks;
	uint64_t	 ticks;
	uint64_t	 send_errors;
	uint64_t	 skipped;	/* due but dropped: sender behind */
	uint64_t	 bad;
	uint64_t	 srtp_fail;
	unsigned	 silent;	/* streams that sent but got nothing */
	double		 loss_pct;
	double		 relay_cpu_s;
	double		 tool_cpu_pct;
	double		 wall_s;
	uint64_t	 lat_p50_us, lat_p99_us, lat_max_us;
	uint64_t	 lat_overflow;	/* packets >= RL_HIST_US late */
};

/* media.c */
int	 media_open(struct rl *, char *err, size_t errlen);
int	 media_rx_start(struct rl *);
void	 media_rx_stop(struct rl *);
/* Runs one warmup + window, sampling the relay's CPU; fills the results. */
int	 media_run(struct rl *, struct rl_run *);
void	 media_close(struct rl *);

/* ng.c: calls set up by offer + answer; latency samples in us. */
struct ng_client;
struct ng_client *ng_new(const struct sockaddr_in *, char *err, size_t);
void	 ng_destroy(struct ng_client **);
int	 ng_ping(struct ng_client *, char *err, size_t errlen);
/* Offer then answer for call i; *us is offer sent -> answer reply.
 * Returns 0, or -1 with err; a timeout (ng silent) also sets *timeout. */
int	 ng_call_setup(struct ng_client *, struct rl *, unsigned i,
	    uint64_t *us, int *timeout, char *err, size_t errlen);
int	 ng_call_delete(struct ng_client *, struct rl *, unsigned i,
	    uint64_t *us, int *timeout, char *err, size_t errlen);

/* proc.c */
/* CPU seconds (utime + stime) summed over the pids, -1 if none readable. */
double	 proc_cpu(const int *pids, unsigned n);
/* VmRSS in bytes summed over the pids, -1 if none readable. */
double	 proc_rss(const int *pids, unsigned n);
double	 proc_self_cpu(void);
uint64_t proc_now_mono(void);
uint64_t proc_now_real(void);

#endif
