/*
 * daemon: what every rtpsec daemon's main() does first and last.
 *
 * daemon_start() parses the common flags (-f FILE, -n, -d, -h), loads the
 * configuration (exits 0/1 after printing it with -n), starts logging,
 * creates run_dir and chdir()s there, hands signals to the daemon (SIGTERM
 * and SIGINT set daemon_quit, SIGHUP sets daemon_reload, SIGPIPE ignored;
 * czmq is told to keep out: zsys_handler_set(NULL)).  The main loop polls
 * with a timeout (<= 1 s) and checks the flags.
 *
 * daemon_confine() is privsep: see libcommon/privsep.h.
 */
#ifndef RTPSEC_DAEMON_H
#define RTPSEC_DAEMON_H

#include <signal.h>
#include <stdint.h>

#include "libcommon/config.h"

extern volatile sig_atomic_t daemon_quit;
extern volatile sig_atomic_t daemon_reload;

void	daemon_start(int argc, char **argv, const char *name,
	    struct config *cfg);
/* Re-reads cfg->path into *cfg; keeps the old values and returns -1 (logged)
 * if the file does not parse. */
int	daemon_reload_config(struct config *cfg);
/* Monotonic and wall clock helpers. */
uint64_t daemon_now_ms(void);		/* CLOCK_MONOTONIC */
uint64_t daemon_wall_s(void);		/* CLOCK_REALTIME seconds */

#endif
