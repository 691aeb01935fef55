/*
 * config: INI parsing with inih into struct config, see config.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "libcommon/config.h"
#include "libcommon/sdes.h"

enum opt_type { T_STR, T_INT, T_BOOL };

struct opt {
	const char	*section;
	const char	*name;
	enum opt_type	 type;
	const char	*def;
	size_t		 off;
};

#define CONFIG_OPT(sec, n, type, d, help)	\
	{ #sec, #n, T_##type, d, offsetof(struct config, n) },
static const struct opt opts[] = {
	CONFIG_OPTIONS(CONFIG_OPT)
};
#define NOPTS	(sizeof(opts) / sizeof(opts[0]))

struct ctx {
	struct config	*cfg;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static int
set_value(struct config *cfg, const struct opt *o, const char *v,
    char *err, size_t errlen)
{
	char	*end;
	long	 l;

	switch (o->type) {
	case T_STR:
		if (strlen(v) >= CONFIG_STRLEN) {
			snprintf(err, errlen, "%s.%s: value too long",
			    o->section, o->name);
			return -1;
		}
		strcpy((char *)cfg + o->off, v);
		return 0;
	case T_INT:
		errno = 0;
		l = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || l < INT_MIN ||
		    l > INT_MAX) {
			snprintf(err, errlen, "%s.%s: not an integer: %s",
			    o->section, o->name, v);
			return -1;
		}
		*(int *)((char *)cfg + o->off) = (int)l;
		return 0;
	case T_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") ||
		    !strcmp(v, "on") || !strcmp(v, "1"))
			*(int *)((char *)cfg + o->off) = 1;
		else if (!strcmp(v, "no") || !strcmp(v, "false") ||
		    !strcmp(v, "off") || !strcmp(v, "0"))
			*(int *)((char *)cfg + o->off) = 0;
		else {
			snprintf(err, errlen, "%s.%s: not a boolean: %s",
			    o->section, o->name, v);
			return -1;
		}
		return 0;
	}
	return -1;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct ctx	*c = user;
	size_t		 i;

	if (c->failed)
		return 0;
	for (i = 0; i < NOPTS; i++) {
		if (strcmp(opts[i].section, section) ||
		    strcmp(opts[i].name, name))
			continue;
		if (set_value(c->cfg, &opts[i], value, c->err, c->errlen) == -1) {
			c->failed = 1;
			return 0;
		}
		return 1;
	}
	snprintf(c->err, c->errlen, "unknown option [%s] %s", section, name);
	c->failed = 1;
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE	*fp = NULL;
	int	 r;

	if (path != NULL && (fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = config_load_fp(cfg, fp, path, err, errlen);
	if (fp != NULL)
		fclose(fp);
	return r;
}

int
config_load_fp(struct config *cfg, FILE *fp, const char *path, char *err,
    size_t errlen)
{
	struct ctx	 c = { cfg, err, errlen, 0 };
	size_t		 i;
	int		 r;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NOPTS; i++)
		if (set_value(cfg, &opts[i], opts[i].def, err, errlen) == -1)
			return -1;
	if (fp != NULL) {
		if (path == NULL || strlen(path) >= sizeof(cfg->path)) {
			snprintf(err, errlen, "config path too long");
			return -1;
		}
		strcpy(cfg->path, path);
		r = ini_parse_file(fp, handler, &c);
		if (r == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (c.failed) {
			if (r > 0) {
				char	tmp[256];
				snprintf(tmp, sizeof(tmp), "%s:%d: %s", path,
				    r, err);
				snprintf(err, errlen, "%s", tmp);
			}
			return -1;
		}
		if (r != 0) {
			snprintf(err, errlen, "%s:%d: syntax error", path, r);
			return -1;
		}
	}
	if (cfg->run_dir[0] == '\0') {
		if (geteuid() == 0)
			snprintf(cfg->run_dir, sizeof(cfg->run_dir),
			    "/run/rtpsec");
		else
			snprintf(cfg->run_dir, sizeof(cfg->run_dir),
			    "/tmp/rtpsec-%u", (unsigned)geteuid());
	}
	if (cfg->port_min < 1024 || cfg->port_max > 65535 ||
	    cfg->port_min + 3 > cfg->port_max) {
		snprintf(err, errlen, "relayd.port_min/port_max: bad range "
		    "%d-%d", cfg->port_min, cfg->port_max);
		return -1;
	}
	if (sdes_suite_list(cfg->sdes_suites, NULL, err, errlen) == -1)
		return -1;
	if (strcmp(cfg->io_engine, "auto") != 0 &&
	    strcmp(cfg->io_engine, "io_uring") != 0 &&
	    strcmp(cfg->io_engine, "epoll") != 0) {
		snprintf(err, errlen, "relayd.io_engine: %s is not auto, "
		    "io_uring or epoll", cfg->io_engine);
		return -1;
	}
	if (cfg->media_timeout < 1 || cfg->workers < 0 ||
	    cfg->workers > 64 || cfg->stats_interval_ms < 10 ||
	    cfg->ipc_timeout_ms < 1 || cfg->delete_delay < 0 ||
	    cfg->call_ttl < 1 || cfg->max_sessions < 0) {
		snprintf(err, errlen, "a numeric option is out of range");
		return -1;
	}
	return 0;
}

void
config_dump(const struct config *cfg, FILE *fp)
{
	const char	*sec = "";
	size_t		 i;

	for (i = 0; i < NOPTS; i++) {
		const char *p = (const char *)cfg + opts[i].off;
		if (strcmp(sec, opts[i].section)) {
			sec = opts[i].section;
			fprintf(fp, "%s[%s]\n", i ? "\n" : "", sec);
		}
		switch (opts[i].type) {
		case T_STR:
			fprintf(fp, "%s = %s\n", opts[i].name, p);
			break;
		case T_INT:
			fprintf(fp, "%s = %d\n", opts[i].name, *(const int *)p);
			break;
		case T_BOOL:
			fprintf(fp, "%s = %s\n", opts[i].name,
			    *(const int *)p ? "yes" : "no");
			break;
		}
	}
}

int
config_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char	*colon, *h = s;
	size_t		 hl;
	char		*end;
	long		 p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return -1;
		h = s + 1;
		hl = rb - h;
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hl = colon - s;
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end != '\0' || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}
