/*
 * nodes: the relay nodes of [ctld] relay_nodes, parsed.  ctld drives them
 * (ctld/nodes.c) and keyd installs a call's SDES keys in the node that
 * holds it (keyd/sdes.c); both read the list here, so that they agree on
 * every node's id and endpoints.
 *
 * The list is space- (or tab-) separated "id=ctl_endpoint,pub_endpoint";
 * the pub endpoint is everything after the first comma.  Empty: the one
 * node [common] node_id at relayd_ctl and relayd_pub.  Ids are distinct,
 * at most NODES_IDLEN - 1 bytes; at most NODES_MAX nodes.
 */
#ifndef RTPSEC_NODES_H
#define RTPSEC_NODES_H

#include <stddef.h>

#include "libcommon/config.h"

#define NODES_MAX	16
#define NODES_IDLEN	64

struct node_addr {
	char	 id[NODES_IDLEN];
	char	 ctl[CONFIG_STRLEN];	/* its relayd's ROUTER */
	char	 pub[CONFIG_STRLEN];	/* its relayd's PUB */
};

/* cfg's relay nodes into v[0..NODES_MAX): returns how many (at least
 * one), or -1 with the reason in err. */
int	nodes_parse(const struct config *cfg, struct node_addr *v, char *err,
	    size_t errlen);

#endif
