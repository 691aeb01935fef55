/*
 * nodes: [ctld] relay_nodes, see nodes.h.
 */
#include <stdio.h>
#include <string.h>

#include "libcommon/nodes.h"

/* Copies the three fields into a; -1 when one is empty or too long. */
static int
nodes_set(struct node_addr *a, const char *id, size_t idlen,
    const char *ctl, size_t ctllen, const char *pub, size_t publen)
{
	if (idlen == 0 || idlen >= sizeof(a->id) || ctllen == 0 ||
	    ctllen >= sizeof(a->ctl) || publen == 0 ||
	    publen >= sizeof(a->pub))
		return -1;
	memset(a, 0, sizeof(*a));
	memcpy(a->id, id, idlen);
	memcpy(a->ctl, ctl, ctllen);
	memcpy(a->pub, pub, publen);
	return 0;
}

int
nodes_parse(const struct config *cfg, struct node_addr *v, char *err,
    size_t errlen)
{
	const char	*p = cfg->relay_nodes, *e, *eq, *comma;
	size_t		 n = 0, i, j;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		e = p + strcspn(p, " \t");
		if (n == NODES_MAX ||
		    (eq = memchr(p, '=', (size_t)(e - p))) == NULL ||
		    (comma = memchr(eq, ',', (size_t)(e - eq))) == NULL ||
		    nodes_set(&v[n], p, (size_t)(eq - p), eq + 1,
		    (size_t)(comma - eq - 1), comma + 1,
		    (size_t)(e - comma - 1)) == -1) {
			snprintf(err, errlen, "relay_nodes: bad node \"%.*s\" "
			    "(id=ctl_endpoint,pub_endpoint, at most %d)",
			    (int)(e - p), p, NODES_MAX);
			return -1;
		}
		n++;
		p = e;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(v[i].id, v[j].id) == 0) {
				snprintf(err, errlen, "relay_nodes: node %s "
				    "twice", v[i].id);
				return -1;
			}
	if (n == 0) {
		if (nodes_set(&v[0], cfg->node_id, strlen(cfg->node_id),
		    cfg->relayd_ctl, strlen(cfg->relayd_ctl), cfg->relayd_pub,
		    strlen(cfg->relayd_pub)) == -1) {
			snprintf(err, errlen, "the default relay node: node_id "
			    "\"%s\" (at most %d bytes), relayd_ctl or relayd_pub "
			    "empty or too long", cfg->node_id, NODES_IDLEN - 1);
			return -1;
		}
		n = 1;
	}
	return (int)n;
}
