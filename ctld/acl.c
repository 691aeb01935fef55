/*
 * acl: CIDR allow-list matching for ng sources, see acl.h.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctld/acl.h"

#define ACL_MAX	64

struct acl_net {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	int		 bits;
};

struct acl {
	struct acl_net	 net[ACL_MAX];
	size_t		 n;
};

static int
acl_parse_one(const char *s, struct acl_net *n)
{
	char		 a[64], *slash, *end;
	long		 bits;
	int		 max;

	if (strlen(s) >= sizeof(a))
		return -1;
	strcpy(a, s);
	if ((slash = strchr(a, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, a, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, a, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else
		return -1;
	n->bits = max;
	if (slash != NULL) {
		bits = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || bits < 0 || bits > max)
			return -1;
		n->bits = (int)bits;
	}
	return 0;
}

struct acl *
acl_new(const char *list, char *err, size_t errlen)
{
	struct acl	*acl;
	char		 tok[128];
	const char	*p = list;
	size_t		 len;

	if ((acl = calloc(1, sizeof(*acl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (;;) {
		p += strspn(p, " ,\t");
		if (*p == '\0')
			break;
		len = strcspn(p, " ,\t");
		if (len >= sizeof(tok) || acl->n == ACL_MAX) {
			snprintf(err, errlen, "ng_allow: too long");
			goto fail;
		}
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (acl_parse_one(tok, &acl->net[acl->n]) == -1) {
			snprintf(err, errlen, "ng_allow: bad network \"%s\"",
			    tok);
			goto fail;
		}
		acl->n++;
		p += len;
	}
	return acl;
 fail:
	free(acl);
	return NULL;
}

void
acl_destroy(struct acl **ap)
{
	free(*ap);
	*ap = NULL;
}

size_t
acl_count(const struct acl *acl)
{
	return acl->n;
}

static int
acl_prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int	 full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

int
acl_match(const struct acl *acl, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const unsigned char	*a4 = NULL, *a6 = NULL;
	size_t			 i;

	if (sa->sa_family == AF_INET)
		a4 = (const unsigned char *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6) {
		a6 = (const unsigned char *)
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (memcmp(a6, mapped, sizeof(mapped)) == 0)
			a4 = a6 + 12;
	} else
		return 0;
	for (i = 0; i < acl->n; i++) {
		const struct acl_net	*n = &acl->net[i];

		if (n->family == AF_INET && a4 != NULL &&
		    acl_prefix_eq(n->addr, a4, n->bits))
			return 1;
		if (n->family == AF_INET6 && a6 != NULL &&
		    acl_prefix_eq(n->addr, a6, n->bits))
			return 1;
	}
	return 0;
}
