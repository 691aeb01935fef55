/*
 * acl: the ng source allow-list (ng_allow): networks in CIDR notation,
 * IPv4 and IPv6, separated by spaces or commas.  A bare address is a
 * host (/32 or /128).  An IPv4-mapped IPv6 source (::ffff:a.b.c.d) is
 * matched as IPv4.
 */
#ifndef CTLD_ACL_H
#define CTLD_ACL_H

#include <sys/socket.h>

#include <stddef.h>

struct acl;

/* NULL with a reason in err when the list does not parse. */
struct acl	*acl_new(const char *list, char *err, size_t errlen);
void		 acl_destroy(struct acl **);
/* 1 when sa is inside one of the networks. */
int		 acl_match(const struct acl *, const struct sockaddr *);
size_t		 acl_count(const struct acl *);

#endif
