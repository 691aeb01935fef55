/*
 * daemon: common start-up of the rtpsec daemons, see daemon.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "libcommon/daemon.h"
#include "libcommon/log.h"

volatile sig_atomic_t daemon_quit;
volatile sig_atomic_t daemon_reload;

/* the configuration file's directory, open across chroot for SIGHUP */
static int	conf_dirfd = -1;
static char	conf_name[256];

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		daemon_reload = 1;
	else
		daemon_quit = 1;
}

static void __attribute__((noreturn))
usage(const char *name)
{
	fprintf(stderr, "usage: %s [-dn] [-f file]\n"
	    "  -f file  configuration file (default: none, built-in defaults)\n"
	    "  -n       check the configuration, print it and exit\n"
	    "  -d       debug logging\n", name);
	exit(2);
}

void
daemon_start(int argc, char **argv, const char *name, struct config *cfg)
{
	const char		*path = NULL;
	char			 err[512];
	int			 ch, check = 0, debug = 0;
	struct sigaction	 sa;

	while ((ch = getopt(argc, argv, "df:hn")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		default:
			usage(name);
		}
	}
	if (optind != argc)
		usage(name);

	log_init(name, debug, 0);
	if (config_load(cfg, path, err, sizeof(err)) == -1) {
		if (check) {
			fprintf(stderr, "%s: %s\n", name, err);
			exit(1);
		}
		fatalx("configuration: %s", err);
	}
	if (check) {
		config_dump(cfg, stdout);
		fprintf(stderr, "%s: configuration OK\n", name);
		exit(0);
	}
	log_init(name, debug || cfg->debug, cfg->syslog);

	if (mkdir(cfg->run_dir, 0750) == -1 && errno != EEXIST)
		fatal("mkdir %s", cfg->run_dir);
	if (geteuid() == 0) {
		/* the run directory (the daemons' chroot) is reachable by
		 * root and the run user's group only: the sockets in it
		 * need no other protection */
		const struct passwd *pw = getpwnam(cfg->user);
		if (pw == NULL)
			fatalx("user \"%s\" does not exist: create it "
			    "(tools/deps.sh does) or set [common] user",
			    cfg->user);
		if (chown(cfg->run_dir, 0, pw->pw_gid) == -1 ||
		    chmod(cfg->run_dir, 0750) == -1)
			fatal("cannot set owner and mode of %s", cfg->run_dir);
	}
	/* SIGHUP re-reads the file after chroot and chdir: keep its
	 * directory open and reopen the file by name relative to it, so an
	 * edited or replaced file is seen */
	if (cfg->path[0] != '\0') {
		char	 dir[sizeof(cfg->path)], *slash;

		snprintf(dir, sizeof(dir), "%s", cfg->path);
		if ((slash = strrchr(dir, '/')) == NULL) {
			snprintf(conf_name, sizeof(conf_name), "%s", dir);
			snprintf(dir, sizeof(dir), ".");
		} else {
			snprintf(conf_name, sizeof(conf_name), "%s", slash + 1);
			slash[slash == dir ? 1 : 0] = '\0';
		}
		if ((conf_dirfd = open(dir, O_PATH | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			log_warn("%s: SIGHUP will not reload", dir);
	}
	if (chdir(cfg->run_dir) == -1)
		fatal("chdir %s", cfg->run_dir);

	/* czmq must not install its own handlers: we drain on SIGTERM */
	zsys_handler_set(NULL);
	zsys_set_logstream(NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	log_info("starting (config %s, run_dir %s, node %s)",
	    cfg->path[0] ? cfg->path : "built-in", cfg->run_dir, cfg->node_id);
}

int
daemon_reload_config(struct config *cfg)
{
	struct config	 n;
	char		 err[512];
	FILE		*fp;
	int		 fd = -1, r;

	daemon_reload = 0;
	if (cfg->path[0] == '\0') {
		log_info("SIGHUP: no configuration file, nothing to reload");
		return 0;
	}
	if (conf_dirfd == -1 ||
	    (fd = openat(conf_dirfd, conf_name, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (fp = fdopen(fd, "r")) == NULL) {
		log_warn("SIGHUP: cannot open %s; keeping the old "
		    "configuration", cfg->path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	r = config_load_fp(&n, fp, cfg->path, err, sizeof(err));
	fclose(fp);
	if (r == -1) {
		log_warnx("SIGHUP: keeping the old configuration: %s", err);
		return -1;
	}
	/* sockets and the run directory are bound at start-up; the rest
	 * takes effect now */
	memcpy(n.run_dir, cfg->run_dir, sizeof(n.run_dir));
	*cfg = n;
	log_setdebug(cfg->debug);
	log_info("SIGHUP: configuration reloaded from %s", cfg->path);
	return 0;
}

uint64_t
daemon_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
daemon_wall_s(void)
{
	return (uint64_t)time(NULL);
}
