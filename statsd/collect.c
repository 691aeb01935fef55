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
 *
 * Persistence (statsd/persist.c does the Redis I/O): a publisher known
 * from the saved state but not heard yet has its identity and counters as
 * saved, so its first message goes through the same restart check.  Each
 * counter also keeps `saving` (its value in the save in flight) and
 * `shown` (its value in the last save Redis confirmed); while persisting,
 * shown is what is exported, so no scrape shows a value a restarted
 * statsd could not resume from.  statsd's own counters work the same way
 * (own, own_saving, own_shown).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "statsd/collect.h"
#include "statsd/metrics.h"

#define COLLECT_HASH	8192	/* buckets, a power of two */
#define COLLECT_NODELEN	128

/* statsd's own counters, in one array so that they are saved and
 * restored like a publisher's (see collect_save()) */
#define OWN_DROP(why)		(why)
#define OWN_MSG(d)		(COLLECT_DROP_COUNT + (d))
#define OWN_REDIS		(COLLECT_DROP_COUNT + COLLECT_DAEMON_COUNT)
#define COLLECT_OWN_COUNT	(OWN_REDIS + 1)

#define SAVE_VERSION		1

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
	uint64_t		 pid0;		/* first heard since statsd */
	uint64_t		 started0;	/* started, see pub_merge() */
	uint64_t		 heard_ms;	/* monotonic */
	uint64_t		 gen;		/* stats messages applied */
	int			 stats;		/* has sent a stats message */
	int			 known;		/* pid, started: heard or saved */
	int			 dirty;		/* changed since the last save */
};

struct series {
	char		 key[COLLECT_KEYLEN];	/* family{labels} */
	size_t		 keylen;
	size_t		 famlen;
	int		 pub;		/* index in pubs */
	int		 counter;
	uint64_t	 last;		/* last published value */
	uint64_t	 offset;	/* counters: sum before restarts */
	uint64_t	 saving;	/* offset + last in the save in flight */
	uint64_t	 shown;		/* offset + last Redis holds */
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
	/* statsd's own counters: live, as saved (being saved), as shown */
	uint64_t	 own[COLLECT_OWN_COUNT];
	uint64_t	 own_saving[COLLECT_OWN_COUNT];
	uint64_t	 own_shown[COLLECT_OWN_COUNT];
	int		 persisting;	/* Redis up and saved state loaded */
	int		 restored;	/* saved state loaded */
	int		 expect;	/* collect_expect_restore() called */
	int		 giveup;	/* no saved state in time: live values */
	int		 urgent;	/* an offset changed: save now */
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
	c->own[OWN_DROP(why)]++;
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
	c->pubs[pub].dirty = 1;
	c->urgent = 1;
}

/* Finds or adds the series key of pub; NULL when the store is full (the
 * drop is counted) or key is not one we export. */
static struct series *
series_get(struct collect *c, int pub, const char *key, size_t len)
{
	struct series	*s;
	size_t		 famlen;
	unsigned	 b;

	if ((famlen = collect_key_check(key, len)) == 0) {
		c->own[OWN_DROP(COLLECT_DROP_BAD_METRIC)]++;
		return NULL;
	}
	if ((s = series_find(c, pub, key, len, &b)) != NULL)
		return s;
	if (c->nseries == c->max_series) {
		c->own[OWN_DROP(COLLECT_DROP_SERIES_LIMIT)]++;
		return NULL;
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
	return s;
}

static void
sample_apply(struct collect *c, int pub, const char *key, size_t len,
    uint64_t v)
{
	struct series	*s;
	size_t		 before = c->nseries;

	if ((s = series_get(c, pub, key, len)) == NULL)
		return;
	if (c->nseries == before && s->gen == c->pubs[pub].gen) {
		/* the same name twice in one message */
		c->own[OWN_DROP(COLLECT_DROP_BAD_METRIC)]++;
		return;
	}
	if (s->counter && v < s->last) {
		/* a reset we did not see: the offset must reach Redis before
		 * a statsd restart would read the old one */
		s->offset += s->last;
		c->urgent = 1;
	}
	if (s->counter && (v != s->last || c->nseries != before))
		c->pubs[pub].dirty = 1;
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
		c->own[OWN_MSG(d)]++;
		return COLLECT_DROP_COUNT;
	}
	if (ipc_get_uint(r->root, "pid", &pid) == -1 ||
	    ipc_get_uint(r->root, "started", &started) == -1 ||
	    (metrics = ipc_get_map(r->root, "metrics")) == NULL)
		return COLLECT_DROP_BAD_FIELD;
	if ((p = pub_find(c, d, node, 1)) == -1)
		return COLLECT_DROP_PUBLISHER_LIMIT;
	/* known: heard before, or its state restored from Redis */
	if (c->pubs[p].known && (c->pubs[p].pid != pid ||
	    c->pubs[p].started != started))
		pub_restarted(c, p);
	if (!c->pubs[p].stats) {
		c->pubs[p].pid0 = pid;
		c->pubs[p].started0 = started;
	}
	c->pubs[p].pid = pid;
	c->pubs[p].started = started;
	c->pubs[p].known = 1;
	c->pubs[p].stats = 1;
	c->pubs[p].heard_ms = now_ms;
	c->pubs[p].gen++;
	for (i = 0; i < metrics->via.map.size; i++) {
		const msgpack_object_kv	*kv = &metrics->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			c->own[OWN_DROP(COLLECT_DROP_BAD_METRIC)]++;
			continue;
		}
		sample_apply(c, p, kv->key.via.str.ptr, kv->key.via.str.size,
		    kv->val.via.u64);
	}
	c->own[OWN_MSG(d)]++;
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
		c->own[OWN_DROP(why)]++;
	pthread_mutex_unlock(&c->mtx);
	return why == COLLECT_DROP_COUNT ? 0 : -1;
}

/* ---- rendering --------------------------------------------------------- */

/*
 * One of statsd's own counters as exported.  Nothing outside statsd
 * counts them, so a restart can only resume from what was saved: while
 * persisting, a scrape sees them as of the last save Redis confirmed
 * (at most a second old), never a value a restart could lose.
 */
static uint64_t
own_value(const struct collect *c, int i)
{
	return c->persisting ? c->own_shown[i] : c->own[i];
}

/*
 * A publisher's counter as exported.  While persisting, as of the last
 * save Redis confirmed too: a new statsd resumes a publisher it has not
 * heard yet from the saved values, so a scrape must never have seen more
 * than those.  Exported values lag by one save period for it.
 */
static uint64_t
counter_value(const struct collect *c, const struct series *s)
{
	return c->persisting ? s->shown : s->offset + s->last;
}

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
	int		 d, up, hide;

	pthread_mutex_lock(&c->mtx);
	/*
	 * Until the saved totals are loaded, counters are left out rather
	 * than shown from zero: Prometheus takes a missing series as stale,
	 * a lower value as a reset (and the totals merged in later as a
	 * burst of traffic).  Past COLLECT_GIVEUP_MS without Redis they are
	 * shown live, and a late load no longer merges (collect_restore).
	 */
	if (c->expect && !c->restored && !c->giveup &&
	    now_ms - c->started_ms >= COLLECT_GIVEUP_MS) {
		c->giveup = 1;
		log_warnx("no saved counters from Redis after %d s: counting "
		    "from the daemons' values (a reset for Prometheus)",
		    COLLECT_GIVEUP_MS / 1000);
	}
	hide = c->expect && !c->restored && !c->giveup;
	rows = calloc(c->nseries + 2 * COLLECT_DAEMON_COUNT +
	    COLLECT_OWN_COUNT + 8, sizeof(*rows));
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
		if (s->counter && hide)
			continue;
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
		r->v = s->counter ? counter_value(c, s) : s->last;
	}
	for (d = 0; d < COLLECT_DAEMON_COUNT; d++) {
		up = daemon_up(c, (enum collect_daemon)d, now_ms);
		row_add(rows, &n, "rtpsec_daemon_up", collect_daemon_names[d],
		    NULL, up);
		if (!hide)
			row_add(rows, &n, "rtpsec_statsd_messages_total",
			    collect_daemon_names[d], NULL,
			    own_value(c, OWN_MSG(d)));
	}
	row_add(rows, &n, "rtpsec_daemon_up", "statsd", NULL, 1);
	for (i = 0; !hide && i < COLLECT_DROP_COUNT; i++)
		row_add(rows, &n, "rtpsec_ipc_dropped_total", "statsd",
		    c->droplabel[i], own_value(c, OWN_DROP(i)));
	if (!hide)
		row_add(rows, &n, "rtpsec_redis_errors_total", "statsd", NULL,
		    own_value(c, OWN_REDIS));
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
	uint64_t heard = UINT64_MAX;
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
			    "\"pid\":%llu,\"last_heard_ms\":",
			    first ? "" : ",", p->node,
			    pub_up(c, p, now_ms) ? "true" : "false",
			    (unsigned long long)p->pid);
			/* restored from Redis, not heard since statsd
			 * started */
			if (!p->stats)
				buf_addstr(b, "null}");
			else
				buf_printf(b, "%llu}", (unsigned long long)
				    (now_ms - p->heard_ms));
			first = 0;
			if (p->stats && (heard == UINT64_MAX ||
			    now_ms - p->heard_ms < heard))
				heard = now_ms - p->heard_ms;
		}
		/* the daemon's freshest node */
		if (heard == UINT64_MAX)
			buf_addstr(b, "],\"last_heard_ms\":null},");
		else
			buf_printf(b, "],\"last_heard_ms\":%llu},",
			    (unsigned long long)heard);
		heard = UINT64_MAX;
	}
	buf_printf(b, "\"statsd\":{\"up\":true,\"uptime\":%llu,"
	    "\"persisting\":%s,\"restored\":%s}},\"status\":\"%s\"}\n",
	    (unsigned long long)(now_ms - c->started_ms) / 1000,
	    c->persisting ? "true" : "false", c->restored ? "true" : "false",
	    all ? "up" : "down");
	pthread_mutex_unlock(&c->mtx);
	if (b->oom)
		return -1;
	return all;
}

/* ---- saving and restoring (statsd/persist.c) ---------------------------- */

/* The name of own counter i in a saved blob. */
static void
own_name(int i, char *dst, size_t len)
{
	if (i == OWN_REDIS)
		snprintf(dst, len, "redis_errors");
	else if (i >= OWN_MSG(0))
		snprintf(dst, len, "messages/%s",
		    collect_daemon_names[i - OWN_MSG(0)]);
	else
		snprintf(dst, len, "dropped/%s", collect_drop_names[i]);
}

static void
pack_head(msgpack_packer *pk, const char *daemon, const char *node,
    uint64_t pid, uint64_t started)
{
	msgpack_pack_map(pk, 6);
	ipc_pack_str(pk, "v");
	msgpack_pack_uint64(pk, SAVE_VERSION);
	ipc_pack_str(pk, "daemon");
	ipc_pack_str(pk, daemon);
	ipc_pack_str(pk, "node");
	ipc_pack_str(pk, node);
	ipc_pack_str(pk, "pid");
	msgpack_pack_uint64(pk, pid);
	ipc_pack_str(pk, "started");
	msgpack_pack_uint64(pk, started);
	ipc_pack_str(pk, "counters");
}

static void
pack_counter(msgpack_packer *pk, const char *key, size_t len,
    uint64_t offset, uint64_t last)
{
	ipc_pack_strn(pk, key, len);
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, offset);
	msgpack_pack_uint64(pk, last);
}

int
collect_save(struct collect *c, int all, collect_save_fn fn, void *arg)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		 field[COLLECT_NODELEN + 16], name[64];
	size_t		 i;
	uint32_t	 n;
	int		 p, saved = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pthread_mutex_lock(&c->mtx);
	for (p = 0; p < c->npubs; p++) {
		struct pub	*pb = &c->pubs[p];

		if (!pb->known || (!all && !pb->dirty))
			continue;
		n = 0;
		for (i = 0; i < c->nseries; i++)
			if (c->series[i].pub == p && c->series[i].counter)
				n++;
		msgpack_sbuffer_clear(&sb);
		pack_head(&pk, collect_daemon_names[pb->daemon], pb->node,
		    pb->pid, pb->started);
		msgpack_pack_map(&pk, n);
		for (i = 0; i < c->nseries; i++) {
			const struct series *s = &c->series[i];

			if (s->pub == p && s->counter)
				pack_counter(&pk, s->key, s->keylen,
				    s->offset, s->last);
		}
		for (i = 0; i < c->nseries; i++)
			if (c->series[i].pub == p)
				c->series[i].saving = c->series[i].offset +
				    c->series[i].last;
		snprintf(field, sizeof(field), "%s/%s",
		    collect_daemon_names[pb->daemon], pb->node);
		fn(arg, field, sb.data, sb.size);
		pb->dirty = 0;
		saved++;
	}
	/* statsd's own counters, every time: they move with every message */
	msgpack_sbuffer_clear(&sb);
	pack_head(&pk, "statsd", "", 0, 0);
	msgpack_pack_map(&pk, COLLECT_OWN_COUNT);
	for (i = 0; i < COLLECT_OWN_COUNT; i++) {
		own_name((int)i, name, sizeof(name));
		pack_counter(&pk, name, strlen(name), 0, c->own[i]);
		c->own_saving[i] = c->own[i];
	}
	fn(arg, "statsd", sb.data, sb.size);
	c->urgent = 0;
	pthread_mutex_unlock(&c->mtx);
	msgpack_sbuffer_destroy(&sb);
	return saved + 1;
}

void
collect_saved(struct collect *c, int ok)
{
	size_t	 k;
	int	 i;

	pthread_mutex_lock(&c->mtx);
	if (ok) {
		for (i = 0; i < COLLECT_OWN_COUNT; i++)
			if (c->own_saving[i] > c->own_shown[i])
				c->own_shown[i] = c->own_saving[i];
		/* a publisher not saved this time is unchanged since it
		 * was: its saving value is still what Redis holds */
		for (k = 0; k < c->nseries; k++)
			if (c->series[k].saving > c->series[k].shown)
				c->series[k].shown = c->series[k].saving;
	} else
		for (i = 0; i < c->npubs; i++)
			c->pubs[i].dirty = 1;
	pthread_mutex_unlock(&c->mtx);
}

void
collect_expect_restore(struct collect *c)
{
	pthread_mutex_lock(&c->mtx);
	c->expect = 1;
	pthread_mutex_unlock(&c->mtx);
}

void
collect_set_persisting(struct collect *c, int on)
{
	size_t	 k;
	int	 i;

	pthread_mutex_lock(&c->mtx);
	if (on)
		c->restored = 1;
	/* from live values to saved ones: what was shown live is the floor */
	if (on && !c->persisting) {
		for (i = 0; i < COLLECT_OWN_COUNT; i++)
			if (c->own[i] > c->own_shown[i])
				c->own_shown[i] = c->own[i];
		for (k = 0; k < c->nseries; k++) {
			struct series *s = &c->series[k];

			if (s->offset + s->last > s->shown)
				s->shown = s->offset + s->last;
		}
	}
	c->persisting = on;
	pthread_mutex_unlock(&c->mtx);
}

int
collect_urgent(struct collect *c)
{
	int	 u;

	pthread_mutex_lock(&c->mtx);
	u = c->urgent;
	pthread_mutex_unlock(&c->mtx);
	return u;
}

void
collect_count_redis_error(struct collect *c)
{
	pthread_mutex_lock(&c->mtx);
	c->own[OWN_REDIS]++;
	pthread_mutex_unlock(&c->mtx);
}

/* Adds saved totals to statsd's own counters (its previous life's). */
static int
own_restore(struct collect *c, const msgpack_object *counters)
{
	char		 name[64];
	uint32_t	 i;
	int		 k;

	for (i = 0; i < counters->via.map.size; i++) {
		const msgpack_object_kv	*kv = &counters->via.map.ptr[i];
		const msgpack_object	*a = &kv->val;
		const char		*key;
		size_t			 len;
		uint64_t		 off, last;

		if (ipc_obj_str(&kv->key, &key, &len) == -1 ||
		    a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != 2 ||
		    ipc_obj_uint(&a->via.array.ptr[0], &off) == -1 ||
		    ipc_obj_uint(&a->via.array.ptr[1], &last) == -1)
			return -1;
		for (k = 0; k < COLLECT_OWN_COUNT; k++) {
			own_name(k, name, sizeof(name));
			if (strlen(name) == len && memcmp(name, key, len) == 0)
				break;
		}
		if (k == COLLECT_OWN_COUNT)
			continue;	/* a counter this version lacks */
		c->own[k] += off + last;
		/* saved, so safe to show */
		if (off + last > c->own_shown[k])
			c->own_shown[k] = off + last;
	}
	return 0;
}

/*
 * Merges one publisher's saved state.  Not heard yet (statsd just
 * started): its identity and counters are taken as saved, and its first
 * message goes through the usual restart check.  Heard already (Redis
 * was down when statsd started): the saved totals go below what statsd
 * counted since; the saved last value is part of them unless it belongs
 * to the incarnation statsd first heard, which statsd counted from zero.
 */
static int
pub_merge(struct collect *c, int p, uint64_t pid, uint64_t started,
    const msgpack_object *counters)
{
	struct pub	*pb = &c->pubs[p];
	int		 heard = pb->stats;
	int		 first_same = heard && pb->pid0 == pid &&
			    pb->started0 == started;
	int		 cur_same = !heard || (pb->pid == pid &&
			    pb->started == started);
	uint32_t	 i;

	if (!heard) {
		pb->pid = pid;
		pb->started = started;
		pb->known = 1;
	}
	for (i = 0; i < counters->via.map.size; i++) {
		const msgpack_object_kv	*kv = &counters->via.map.ptr[i];
		const msgpack_object	*a = &kv->val;
		struct series		*s;
		const char		*key;
		size_t			 len, before = c->nseries;
		uint64_t		 off, last;

		if (ipc_obj_str(&kv->key, &key, &len) == -1 ||
		    a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != 2 ||
		    ipc_obj_uint(&a->via.array.ptr[0], &off) == -1 ||
		    ipc_obj_uint(&a->via.array.ptr[1], &last) == -1)
			return -1;
		if ((s = series_get(c, p, key, len)) == NULL || !s->counter)
			continue;
		if (c->nseries != before) {
			/* new here: as saved, or closed if its incarnation
			 * is gone */
			s->offset = cur_same ? off : off + last;
			s->last = cur_same ? last : 0;
			s->gen = 0;
			/* what Redis holds, so safe to show */
			s->saving = s->shown = off + last;
		} else
			s->offset += first_same ? off : off + last;
	}
	if (heard)
		pb->dirty = 1;
	return 0;
}

int
collect_restore(struct collect *c, const void *data, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*counters;
	const char		*name;
	char			 node[COLLECT_NODELEN];
	size_t			 namelen;
	uint64_t		 v, pid, started;
	int			 d, p, rc = -1;

	/* from Redis, so not trusted: msgpack-c would allocate what the
	 * counts claim before reading the entries */
	if (ipc_framing_ok(data, len) == -1)
		return -1;
	/* given up on it: live values were shown, merging now would show
	 * the old totals as new traffic */
	if (c->giveup)
		return 0;
	msgpack_unpacked_init(&u);
	pthread_mutex_lock(&c->mtx);
	if (msgpack_unpack_next(&u, data, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_MAP ||
	    ipc_get_uint(&u.data, "v", &v) == -1 || v != SAVE_VERSION ||
	    ipc_get_str(&u.data, "daemon", &name, &namelen) == -1 ||
	    ipc_get_strz(&u.data, "node", node, sizeof(node)) == -1 ||
	    ipc_get_uint(&u.data, "pid", &pid) == -1 ||
	    ipc_get_uint(&u.data, "started", &started) == -1 ||
	    (counters = ipc_get_map(&u.data, "counters")) == NULL)
		goto out;
	if (namelen == 6 && memcmp(name, "statsd", 6) == 0) {
		rc = own_restore(c, counters);
		goto out;
	}
	for (d = 0; d < COLLECT_DAEMON_COUNT; d++)
		if (strlen(collect_daemon_names[d]) == namelen &&
		    memcmp(collect_daemon_names[d], name, namelen) == 0)
			break;
	if (d == COLLECT_DAEMON_COUNT || node[0] == '\0' || !node_ok(node))
		goto out;
	if ((p = pub_find(c, (enum collect_daemon)d, node, 1)) == -1)
		goto out;
	rc = pub_merge(c, p, pid, started, counters);
 out:
	pthread_mutex_unlock(&c->mtx);
	msgpack_unpacked_destroy(&u);
	return rc;
}
