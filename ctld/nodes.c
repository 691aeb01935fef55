/*
 * nodes: see nodes.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/nodes.h"
#include "ctld/relay.h"

struct node {
	char			 id[NODES_IDLEN];
	char			 ctl[CONFIG_STRLEN];
	char			 pub[CONFIG_STRLEN];
	struct relay		*relay;		/* the calls' requests */
	struct ipc_client	*mon;		/* pings */
	uint64_t		 ping_id;	/* outstanding, 0 none */
	uint64_t		 ping_sent_ms;
	uint64_t		 last_ok_ms;	/* last ping answered */
	uint64_t		 waiting_ms;	/* first ping unanswered, 0 none */
	uint64_t		 adopt_at_ms;	/* next adoption attempt */
	uint64_t		 grace_ms;	/* silent till then: busy */
	int			 dead;
	int			 adopted;	/* its calls moved away */
	uint64_t		 packets, bytes, errors;	/* PUB stats */
};

struct nodes {
	struct node	 v[NODES_MAX];
	size_t		 n;
	size_t		 rr;
	uint64_t	 dead_ms;
	uint64_t	 next_ping_ms;
	uint64_t	 now_ms;	/* last nodes_tick() */
	uint64_t	 takeovers;
};

static int
nodes_add(struct nodes *ns, const struct node_addr *a, int timeout_ms,
    uint64_t now_ms)
{
	struct node	*n = &ns->v[ns->n];

	memcpy(n->id, a->id, sizeof(n->id));
	memcpy(n->ctl, a->ctl, sizeof(n->ctl));
	memcpy(n->pub, a->pub, sizeof(n->pub));
	if ((n->relay = relay_new(n->ctl, timeout_ms)) == NULL ||
	    (n->mon = ipc_client_new(n->ctl)) == NULL)
		return -1;
	n->last_ok_ms = now_ms;
	ns->n++;
	return 0;
}

struct nodes *
nodes_new(const struct config *cfg, uint64_t now_ms, char *err, size_t errlen)
{
	struct nodes		*ns;
	struct node_addr	 a[NODES_MAX];
	int			 n, i;

	/* the list keyd reads too (libcommon/nodes.h) */
	if ((n = nodes_parse(cfg, a, err, errlen)) == -1)
		return NULL;
	if ((ns = calloc(1, sizeof(*ns))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ns->dead_ms = cfg->relay_dead_ms > 0 ? (uint64_t)cfg->relay_dead_ms :
	    3000;
	/* shorter, a relayd restarting (restore and keyd wait included)
	 * is taken for dead and its calls moved away under its feet */
	if (n > 1 && ns->dead_ms < NODES_DEAD_MIN_MS)
		log_warnx("relay_dead_ms %llu is shorter than a relayd restart "
		    "may take (use at least %d: its restore waits up to 2 s "
		    "for keyd): a restarting node may be taken for dead",
		    (unsigned long long)ns->dead_ms, NODES_DEAD_MIN_MS);
	for (i = 0; i < n; i++)
		if (nodes_add(ns, &a[i], cfg->ipc_timeout_ms, now_ms) == -1) {
			snprintf(err, errlen, "relay node %s: cannot set up the "
			    "relayd client for %s", a[i].id, a[i].ctl);
			nodes_destroy(&ns);
			return NULL;
		}
	return ns;
}

void
nodes_destroy(struct nodes **nsp)
{
	struct nodes	*ns = *nsp;
	size_t		 i;

	if (ns == NULL)
		return;
	/* a half-added node has its clients too */
	for (i = 0; i < NODES_MAX; i++) {
		relay_destroy(&ns->v[i].relay);
		ipc_client_destroy(&ns->v[i].mon);
	}
	free(ns);
	*nsp = NULL;
}

void
nodes_set_timeout(struct nodes *ns, int timeout_ms)
{
	size_t	 i;

	for (i = 0; i < ns->n; i++)
		relay_set_timeout(ns->v[i].relay, timeout_ms);
}

size_t
nodes_count(const struct nodes *ns)
{
	return ns->n;
}

size_t
nodes_find(const struct nodes *ns, const char *id, int *known)
{
	size_t	 i;

	if (known != NULL)
		*known = 1;
	if (id == NULL || *id == '\0')
		return 0;
	for (i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i].id, id) == 0)
			return i;
	if (known != NULL)
		*known = 0;
	return 0;
}

const char *
nodes_id(const struct nodes *ns, size_t i)
{
	return ns->v[i].id;
}

const char *
nodes_pub(const struct nodes *ns, size_t i)
{
	return ns->v[i].pub;
}

struct relay *
nodes_relay(struct nodes *ns, size_t i)
{
	return ns->v[i].relay;
}

int
nodes_alive(const struct nodes *ns, size_t i)
{
	return !ns->v[i].dead;
}

int
nodes_answering(const struct nodes *ns, size_t i)
{
	const struct node	*n = &ns->v[i];

	/* a healthy node's latest ping is at most one round old */
	return !n->dead && (n->waiting_ms == 0 || n->waiting_ms >= ns->now_ms ||
	    ns->now_ms - n->waiting_ms < 2 * NODES_PING_MS);
}

int
nodes_silent(const struct nodes *ns, size_t i)
{
	const struct node	*n = &ns->v[i];

	return n->dead || (n->waiting_ms != 0 && n->waiting_ms < ns->now_ms &&
	    ns->now_ms - n->waiting_ms >= NODES_SILENT_MS);
}

void
nodes_stalled(struct nodes *ns, uint64_t ms)
{
	size_t	 i;

	for (i = 0; i < ns->n; i++)
		if (ns->v[i].waiting_ms != 0)
			ns->v[i].waiting_ms += ms;
	/* the next nodes_tick() must not count the same stall again */
	ns->now_ms += ms;
}

void
nodes_grace(struct nodes *ns, size_t i, uint64_t until_ms)
{
	if (until_ms > ns->v[i].grace_ms)
		ns->v[i].grace_ms = until_ms;
}

size_t
nodes_pick(struct nodes *ns)
{
	size_t	 k, i;
	int	 pass;

	/* a node that answers its pings, else one not yet dead */
	for (pass = 0; pass < 2; pass++)
		for (k = 0; k < ns->n; k++) {
			i = (ns->rr + k) % ns->n;
			if (pass == 0 ? nodes_answering(ns, i) :
			    nodes_alive(ns, i)) {
				ns->rr = i + 1;
				return i;
			}
		}
	return 0;
}

/* Takes the reply to the outstanding ping, if it came. */
static void
nodes_collect(struct node *n, uint64_t now_ms)
{
	struct ipc_r	 r;
	char		 node[64];

	if (n->ping_id == 0)
		return;
	/* polled, never waited for: a reply that takes longer than a round
	 * is still taken at a later one (a wait that timed out would reset
	 * the socket, and the next ping could not go out until it
	 * reconnected: a busy node taken for a silent one) */
	if (ipc_client_poll(n->mon, n->ping_id, &r) == -1) {
		ipc_r_free(&r);
		return;
	}
	if (r.ok) {
		if (ipc_get_strz(r.root, "node", node, sizeof(node)) == 0 &&
		    strcmp(node, n->id) != 0)
			log_warnx("relay node %s answers as node %s: check "
			    "relay_nodes and its node_id", n->id, node);
		n->last_ok_ms = now_ms;
		n->waiting_ms = 0;
		if (n->dead)
			log_info("relay node %s is back", n->id);
		n->dead = 0;
		n->adopted = 0;
	}
	ipc_r_free(&r);
	n->ping_id = 0;
}

static void
nodes_ping(struct node *n, uint64_t now_ms)
{
	struct ipc_w	 w;
	char		 err[128];
	uint64_t	 id = ipc_client_next_id(n->mon);

	/* one ping at a time; another only when it went unanswered for a
	 * while (a restarted relayd never saw it) */
	if (n->ping_id != 0 && now_ms - n->ping_sent_ms < NODES_SILENT_MS / 2)
		return;
	/* silence counts from a ping that went unanswered, not from the
	 * last answer: a loop held up (a long adoption) misses no reply */
	if (n->waiting_ms == 0)
		n->waiting_ms = now_ms;
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_PING, id, 0);
	if (ipc_client_send(n->mon, &w, 0, err, sizeof(err)) == 0) {
		n->ping_id = id;
		n->ping_sent_ms = now_ms;
	}
	ipc_w_free(&w);
}

int
nodes_tick(struct nodes *ns, uint64_t now_ms)
{
	struct node	*n;
	uint64_t	 since;
	size_t		 i;
	int		 due = -1;

	/* a turn this long is ctld's stall (a request that waited), not
	 * the nodes' silence: the ping replies may sit unread */
	if (ns->now_ms != 0 && now_ms > ns->now_ms + NODES_STALL_MS)
		nodes_stalled(ns, now_ms - ns->now_ms - NODES_STALL_MS);
	ns->now_ms = now_ms;
	if (now_ms >= ns->next_ping_ms) {
		ns->next_ping_ms = now_ms + NODES_PING_MS;
		for (i = 0; i < ns->n; i++) {
			nodes_collect(&ns->v[i], now_ms);
			nodes_ping(&ns->v[i], now_ms);
		}
	}
	for (i = 0; i < ns->n; i++) {
		n = &ns->v[i];
		/* silence counts from the first unanswered ping, or from
		 * the end of a grace */
		since = n->waiting_ms > n->grace_ms ? n->waiting_ms :
		    n->grace_ms;
		if (!n->dead && n->waiting_ms != 0 && now_ms > since &&
		    now_ms - since >= ns->dead_ms) {
			n->dead = 1;
			n->adopt_at_ms = now_ms;
			log_warnx("relay node %s has not answered for %llu ms: "
			    "dead", n->id, (unsigned long long)(now_ms -
			    since));
		}
		if (n->dead && !n->adopted && now_ms >= n->adopt_at_ms &&
		    due == -1)
			due = (int)i;
	}
	return due;
}

void
nodes_adopted(struct nodes *ns, size_t i, int ok, uint64_t now_ms)
{
	if (ok) {
		ns->v[i].adopted = 1;
		ns->takeovers++;
	} else
		ns->v[i].adopt_at_ms = now_ms + ns->dead_ms;
}

uint64_t
nodes_takeovers(const struct nodes *ns)
{
	return ns->takeovers;
}

void
nodes_stats(struct nodes *ns, const char *id, uint64_t packets,
    uint64_t bytes, uint64_t errors, uint64_t *sp, uint64_t *sb, uint64_t *se)
{
	size_t	 i;
	int	 known;

	i = nodes_find(ns, id, &known);
	if (known) {
		ns->v[i].packets = packets;
		ns->v[i].bytes = bytes;
		ns->v[i].errors = errors;
	}
	*sp = *sb = *se = 0;
	for (i = 0; i < ns->n; i++) {
		*sp += ns->v[i].packets;
		*sb += ns->v[i].bytes;
		*se += ns->v[i].errors;
	}
}

struct relay *
ctld_relay(struct ctld *c, const struct call *call)
{
	if (c->nodes == NULL)
		return c->relay;
	return nodes_relay(c->nodes, nodes_find(c->nodes, call->relay_node,
	    NULL));
}

int
ctld_relay_answering(struct ctld *c, const struct call *call)
{
	size_t	 i;
	int	 known;

	if (c->nodes == NULL)
		return 1;
	i = nodes_find(c->nodes, call->relay_node, &known);
	return known && !nodes_silent(c->nodes, i);
}
