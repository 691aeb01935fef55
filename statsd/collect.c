/*
 * collect: the metric series statsd holds and their Prometheus rendering,
 * see collect.h for the invariants.
 *
 * Series live in one array of max_series entries, found through a chained
 * hash on (publisher, sample name).  A series belongs to one publisher
 * (daemon + node); rendering sorts references to all series by (family,
 * daemon, labels) and sums runs of equal ones, which groups every family
 * in one block as the exposition format requires and adds up the nodes
 * of one daemon.
 *
 * A counter's exported value is offset + last.  On a publisher restart
 * (pid or `started` changed) offset += last and last = 0 for each of its
 * counters; a counter that shrinks without a restart (a reset we did not
 * see) is treated the same way.  Gauges are exported only while their
 * publisher is up and only if its latest message carried them: a gauge of
 * a dead node is stale, a counter of a dead node still counts.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/ipc.h"
#include "statsd/collect.h"
#include "statsd/metrics.h"

#define COLLECT_HASH	8192	/* buckets, a power of two */
#define COLLECT_NODELEN	128

#define COLLECT_NAME(e, s)	s,
const char *const collect_drop_names[COLLECT_DROP_COUNT] = {
	COLLECT_DROPS(COLLECT_NAME)
};
const char *const collect_daemon_names[COLLECT_DAEMON_COUNT] = {
	COLLECT_DAEMONS(COLLECT_NAME)
};

struct pub {
	enum collect_daemon	 daemon;
	char			 node[COLLECT_NODELEN];
	uint64_t		 pid;
	uint64_t		 started;	/* unix s, as published */
	uint64_t		 heard_ms;	/* monotonic */
	uint64_t		 gen;		/* stats messages applied */
	int			 stats;		/* has sent a stats message */
};

struct series {
	char		 key[COLLECT_KEYLEN];	/* family{labels} */
	size_t		 keylen;
	size_t		 famlen;
	int		 pub;		/* index in pubs */
	int		 counter;
	uint64_t	 last;		/* last published value */
	uint64_t	 offset;	/* counters: sum before restarts */
	uint64_t	 gen;		/* pub's gen when last published */
	struct series	*hnext;
};

struct collect {
	pthread_mutex_t	 mtx;
	int		 down_after_ms;
	uint64_t	 started_ms;
	size_t		 max_series;
	size_t		 nseries;
	struct series	*series;		/* max_series entries */
	struct series	*hash[COLLECT_HASH];
	struct pub	 pubs[COLLECT_MAX_PUBS];
	int		 npubs;
	uint64_t	 drops[COLLECT_DROP_COUNT];
	uint64_t	 messages[COLLECT_DAEMON_COUNT];
	char		 droplabel[COLLECT_DROP_COUNT][48];
};

/* One line of the exposition before summing. */
struct row {
	const char	*fam;
	size_t		 famlen;
	const char	*daemon;	/* NULL: no daemon label */
	const char	*labels;	/* inside the braces, without them */
	size_t		 labelslen;
	uint64_t	 v;
};

struct collect *
collect_new(int down_after_ms, size_t max_series, uint64_t now_ms)
{
	struct collect	*c;
	int		 i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->max_series = max_series ? max_series : COLLECT_MAX_SERIES;
	if ((c->series = calloc(c->max_series, sizeof(*c->series))) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mtx, NULL);
	c->down_after_ms = down_after_ms;
	c->started_ms = now_ms;
	for (i = 0; i < COLLECT_DROP_COUNT; i++)
		snprintf(c->droplabel[i], sizeof(c->droplabel[i]),
		    "reason=\"%s\"", collect_drop_names[i]);
	return c;
}

void
collect_destroy(struct collect **cp)
{
	struct collect	*c = *cp;

	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mtx);
	free(c->series);
	free(c);
	*cp = NULL;
}

void
collect_set_down_after(struct collect *c, int down_after_ms)
{
	pthread_mutex_lock(&c->mtx);
	c->down_after_ms = down_after_ms;
	pthread_mutex_unlock(&c->mtx);
}

void
collect_count_drop(struct collect *c, enum collect_drop why)
{
	pthread_mutex_lock(&c->mtx);
	c->drops[why]++;
	pthread_mutex_unlock(&c->mtx);
}

/* ---- sample names ------------------------------------------------------ */

static int
is_alpha_(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    ch == '_';
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

size_t
collect_key_check(const char *s, size_t len)
{
	size_t	 i = 0, famlen, lstart;

	if (len == 0 || len >= COLLECT_KEYLEN)
		return 0;
	if (!is_alpha_(s[0]) && s[0] != ':')
		return 0;
	while (i < len && (is_alpha_(s[i]) || is_digit(s[i]) || s[i] == ':'))
		i++;
	famlen = i;
	/* our namespace only; the names statsd exports itself are its own */
	if (famlen <= 7 || memcmp(s, "rtpsec_", 7) != 0)
		return 0;
	if ((famlen == 16 && memcmp(s, "rtpsec_daemon_up", 16) == 0) ||
	    (famlen > 14 && memcmp(s, "rtpsec_statsd_", 14) == 0))
		return 0;
	if (i == len)
		return famlen;
	if (s[i++] != '{')
		return 0;
	for (;;) {
		/* label name */
		lstart = i;
		if (i >= len || !is_alpha_(s[i]))
			return 0;
		while (i < len && (is_alpha_(s[i]) || is_digit(s[i])))
			i++;
		if ((i - lstart == 6 && memcmp(s + lstart, "daemon", 6) == 0) ||
		    (i - lstart >= 2 && s[lstart] == '_' &&
		    s[lstart + 1] == '_'))
			return 0;
		if (i + 1 >= len || s[i] != '=' || s[i + 1] != '"')
			return 0;
		i += 2;
		/* label value: escapes \\ \" \n only, no control bytes */
		for (;;) {
			if (i >= len)
				return 0;
			if (s[i] == '"')
				break;
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return 0;
			if (s[i] == '\\') {
				if (i + 1 >= len || (s[i + 1] != '\\' &&
				    s[i + 1] != '"' && s[i + 1] != 'n'))
					return 0;
				i++;
			}
			i++;
		}
		i++;	/* the closing quote */
		if (i >= len)
			return 0;
		if (s[i] == '}')
			return i + 1 == len ? famlen : 0;
		if (s[i++] != ',')
			return 0;
	}
}

/* ---- the store --------------------------------------------------------- */

static unsigned
series_hash(int pub, const char *key, size_t len)
{
	uint32_t	 h = 2166136261u ^ (uint32_t)pub;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h & (COLLECT_HASH - 1);
}

static struct series *
series_find(struct collect *c, int pub, const char *key, size_t len,
    unsigned *bucket)
{
	struct series	*s;

	*bucket = series_hash(pub, key, len);
	for (s = c->hash[*bucket]; s != NULL; s = s->hnext)
		if (s->pub == pub && s->keylen == len &&
		    memcmp(s->key, key, len) == 0)
			return s;
	return NULL;
}

static int
pub_find(struct collect *c, enum collect_daemon d, const char *node,
    int create)
{
	int	 i;

	for (i = 0; i < c->npubs; i++)
		if (c->pubs[i].daemon == d &&
		    strcmp(c->pubs[i].node, node) == 0)
			return i;
	if (!create || c->npubs == COLLECT_MAX_PUBS)
		return -1;
	i = c->npubs++;
	memset(&c->pubs[i], 0, sizeof(c->pubs[i]));
	c->pubs[i].daemon = d;
	snprintf(c->pubs[i].node, sizeof(c->pubs[i].node), "%s", node);
	return i;
}

static int
pub_up(const struct collect *c, const struct pub *p, uint64_t now_ms)
{
	return p->stats && now_ms >= p->heard_ms &&
	    now_ms - p->heard_ms <= (uint64_t)c->down_after_ms;
}

static int
daemon_up(const struct collect *c, enum collect_daemon d, uint64_t now_ms)
{
	int	 i;

	for (i = 0; i < c->npubs; i++)
		if (c->pubs[i].daemon == d && pub_up(c, &c->pubs[i], now_ms))
			return 1;
	return 0;
}

/* A publisher came back with another pid or start time: carry its
 * counters over, forget its gauges. */
static void
pub_restarted(struct collect *c, int pub)
{
	size_t	 i;

	for (i = 0; i < c->nseries; i++) {
		struct series	*s = &c->series[i];

		if (s->pub != pub)
			continue;
		if (s->counter)
			s->offset += s->last;
		s->last = 0;
		s->gen = 0;
	}
}

static void
sample_apply(struct collect *c, int pub, const char *key, size_t len,
    uint64_t v)
{
	struct series	*s;
	size_t		 famlen;
	unsigned	 b;

	if ((famlen = collect_key_check(key, len)) == 0) {
		c->drops[COLLECT_DROP_BAD_METRIC]++;
		return;
	}
	if ((s = series_find(c, pub, key, len, &b)) == NULL) {
		if (c->nseries == c->max_series) {
			c->drops[COLLECT_DROP_SERIES_LIMIT]++;
			return;
		}
		s = &c->series[c->nseries++];
		memcpy(s->key, key, len);
		s->key[len] = '\0';
		s->keylen = len;
		s->famlen = famlen;
		s->pub = pub;
		s->counter = metrics_is_counter(key, famlen);
		s->hnext = c->hash[b];
		c->hash[b] = s;
	} else if (s->gen == c->pubs[pub].gen) {
		/* the same name twice in one message */
		c->drops[COLLECT_DROP_BAD_METRIC]++;
		return;
	}
	if (s->counter && v < s->last)
		s->offset += s->last;	/* a reset we did not see */
	s->last = v;
	s->gen = c->pubs[pub].gen;
}

/* Checks what a node name must be to be re-emitted in JSON unescaped. */
static int
node_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e ||
		    *s == '"' || *s == '\\')
			return 0;
	return 1;
}

static enum collect_drop
message_apply(struct collect *c, enum collect_daemon d, const struct ipc_r *r,
    uint64_t now_ms)
{
	const msgpack_object	*metrics;
	const char		*name;
	char			 node[COLLECT_NODELEN];
	size_t			 namelen;
	uint64_t		 pid, started;
	uint32_t		 i;
	int			 p;

	if (r->is_reply || (r->op != IPC_OP_STATS && r->op != IPC_OP_EVENT))
		return COLLECT_DROP_UNKNOWN_OP;
	if (ipc_get_str(r->root, "daemon", &name, &namelen) == -1 ||
	    ipc_get_strz(r->root, "node", node, sizeof(node)) == -1 ||
	    node[0] == '\0' || !node_ok(node))
		return COLLECT_DROP_BAD_FIELD;
	if (strlen(collect_daemon_names[d]) != namelen ||
	    memcmp(collect_daemon_names[d], name, namelen) != 0)
		return COLLECT_DROP_WRONG_DAEMON;
	if (r->op == IPC_OP_EVENT) {
		/* an event is a sign of life of a known publisher */
		if ((p = pub_find(c, d, node, 0)) != -1)
			c->pubs[p].heard_ms = now_ms;
		c->messages[d]++;
		return COLLECT_DROP_COUNT;
	}
	if (ipc_get_uint(r->root, "pid", &pid) == -1 ||
	    ipc_get_uint(r->root, "started", &started) == -1 ||
	    (metrics = ipc_get_map(r->root, "metrics")) == NULL)
		return COLLECT_DROP_BAD_FIELD;
	if ((p = pub_find(c, d, node, 1)) == -1)
		return COLLECT_DROP_PUBLISHER_LIMIT;
	if (c->pubs[p].stats && (c->pubs[p].pid != pid ||
	    c->pubs[p].started != started))
		pub_restarted(c, p);
	c->pubs[p].pid = pid;
	c->pubs[p].started = started;
	c->pubs[p].stats = 1;
	c->pubs[p].heard_ms = now_ms;
	c->pubs[p].gen++;
	for (i = 0; i < metrics->via.map.size; i++) {
		const msgpack_object_kv	*kv = &metrics->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			c->drops[COLLECT_DROP_BAD_METRIC]++;
			continue;
		}
		sample_apply(c, p, kv->key.via.str.ptr, kv->key.via.str.size,
		    kv->val.via.u64);
	}
	c->messages[d]++;
	return COLLECT_DROP_COUNT;
}

int
collect_message(struct collect *c, enum collect_daemon d, const void *data,
    size_t len, uint64_t now_ms)
{
	struct ipc_r		 r;
	enum collect_drop	 why;

	pthread_mutex_lock(&c->mtx);
	if (ipc_r_parse(&r, data, len) == -1)
		why = COLLECT_DROP_MALFORMED;
	else
		why = message_apply(c, d, &r, now_ms);
	ipc_r_free(&r);
	if (why != COLLECT_DROP_COUNT)
		c->drops[why]++;
	pthread_mutex_unlock(&c->mtx);
	return why == COLLECT_DROP_COUNT ? 0 : -1;
}

/* ---- rendering --------------------------------------------------------- */

static int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	 n = memcmp(a, b, alen < blen ? alen : blen);

	if (n != 0)
		return n;
	return alen < blen ? -1 : alen > blen;
}

static int
row_cmp(const void *va, const void *vb)
{
	const struct row	*a = va, *b = vb;
	int			 n;

	if ((n = bytes_cmp(a->fam, a->famlen, b->fam, b->famlen)) != 0)
		return n;
	if (a->daemon != b->daemon) {
		if (a->daemon == NULL)
			return -1;
		if (b->daemon == NULL)
			return 1;
		if ((n = strcmp(a->daemon, b->daemon)) != 0)
			return n;
	}
	return bytes_cmp(a->labels, a->labelslen, b->labels, b->labelslen);
}

static void
row_add(struct row *rows, size_t *n, const char *fam, const char *daemon,
    const char *labels, uint64_t v)
{
	struct row	*r = &rows[(*n)++];

	r->fam = fam;
	r->famlen = strlen(fam);
	r->daemon = daemon;
	r->labels = labels != NULL ? labels : "";
	r->labelslen = strlen(r->labels);
	r->v = v;
}

static void
row_print(struct buf *b, const struct row *r, uint64_t v)
{
	buf_add(b, r->fam, r->famlen);
	if (r->daemon != NULL || r->labelslen > 0) {
		buf_addc(b, '{');
		if (r->daemon != NULL)
			buf_printf(b, "daemon=\"%s\"%s", r->daemon,
			    r->labelslen > 0 ? "," : "");
		buf_add(b, r->labels, r->labelslen);
		buf_addc(b, '}');
	}
	buf_printf(b, " %llu\n", (unsigned long long)v);
}

int
collect_render(struct collect *c, struct buf *b, uint64_t now_ms)
{
	struct row	*rows;
	size_t		 i, j, n = 0;
	uint64_t	 sum;
	int		 d, up;

	pthread_mutex_lock(&c->mtx);
	rows = calloc(c->nseries + 2 * COLLECT_DAEMON_COUNT +
	    COLLECT_DROP_COUNT + 8, sizeof(*rows));
	if (rows == NULL) {
		pthread_mutex_unlock(&c->mtx);
		return -1;
	}
	for (i = 0; i < c->nseries; i++) {
		const struct series	*s = &c->series[i];
		const struct pub	*p = &c->pubs[s->pub];
		struct row		*r;

		if (!s->counter && (s->gen != p->gen || !pub_up(c, p, now_ms)))
			continue;	/* stale gauge */
		r = &rows[n++];
		r->fam = s->key;
		r->famlen = s->famlen;
		r->daemon = collect_daemon_names[p->daemon];
		if (s->keylen > s->famlen) {
			r->labels = s->key + s->famlen + 1;
			r->labelslen = s->keylen - s->famlen - 2;
		} else {
			r->labels = "";
			r->labelslen = 0;
		}
		r->v = s->offset + s->last;
	}
	for (d = 0; d < COLLECT_DAEMON_COUNT; d++) {
		up = daemon_up(c, (enum collect_daemon)d, now_ms);
		row_add(rows, &n, "rtpsec_daemon_up", collect_daemon_names[d],
		    NULL, up);
		row_add(rows, &n, "rtpsec_statsd_messages_total",
		    collect_daemon_names[d], NULL, c->messages[d]);
	}
	row_add(rows, &n, "rtpsec_daemon_up", "statsd", NULL, 1);
	for (i = 0; i < COLLECT_DROP_COUNT; i++)
		row_add(rows, &n, "rtpsec_ipc_dropped_total", "statsd",
		    c->droplabel[i], c->drops[i]);
	row_add(rows, &n, "rtpsec_statsd_uptime_seconds", NULL, NULL,
	    (now_ms - c->started_ms) / 1000);
	row_add(rows, &n, "rtpsec_statsd_series", NULL, NULL, c->nseries);

	qsort(rows, n, sizeof(*rows), row_cmp);
	for (i = 0; i < n; i = j) {
		if (i == 0 || bytes_cmp(rows[i].fam, rows[i].famlen,
		    rows[i - 1].fam, rows[i - 1].famlen) != 0) {
			buf_addstr(b, "# HELP ");
			buf_add(b, rows[i].fam, rows[i].famlen);
			buf_printf(b, " %s\n# TYPE ",
			    metrics_help(rows[i].fam, rows[i].famlen));
			buf_add(b, rows[i].fam, rows[i].famlen);
			buf_printf(b, " %s\n", metrics_is_counter(rows[i].fam,
			    rows[i].famlen) ? "counter" : "gauge");
		}
		/* the nodes of one daemon add up */
		sum = 0;
		for (j = i; j < n && row_cmp(&rows[i], &rows[j]) == 0; j++)
			sum += rows[j].v;
		row_print(b, &rows[i], sum);
	}
	free(rows);
	pthread_mutex_unlock(&c->mtx);
	return b->oom ? -1 : 0;
}

int
collect_health(struct collect *c, struct buf *b, uint64_t now_ms)
{
	int	 d, i, up, all = 1, first;

	pthread_mutex_lock(&c->mtx);
	buf_addstr(b, "{\"daemons\":{");
	for (d = 0; d < COLLECT_DAEMON_COUNT; d++) {
		up = daemon_up(c, (enum collect_daemon)d, now_ms);
		all &= up;
		buf_printf(b, "\"%s\":{\"up\":%s,\"nodes\":[",
		    collect_daemon_names[d], up ? "true" : "false");
		first = 1;
		for (i = 0; i < c->npubs; i++) {
			const struct pub *p = &c->pubs[i];

			if (p->daemon != (enum collect_daemon)d)
				continue;
			buf_printf(b, "%s{\"node\":\"%s\",\"up\":%s,"
			    "\"pid\":%llu,\"last_heard_ms\":%llu}",
			    first ? "" : ",", p->node,
			    pub_up(c, p, now_ms) ? "true" : "false",
			    (unsigned long long)p->pid,
			    (unsigned long long)(now_ms - p->heard_ms));
			first = 0;
		}
		buf_addstr(b, "]},");
	}
	buf_printf(b, "\"statsd\":{\"up\":true,\"uptime\":%llu}},"
	    "\"status\":\"%s\"}\n",
	    (unsigned long long)(now_ms - c->started_ms) / 1000,
	    all ? "up" : "down");
	pthread_mutex_unlock(&c->mtx);
	if (b->oom)
		return -1;
	return all;
}
