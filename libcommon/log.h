/*
 * log: the one logging family of every rtpsec daemon (OpenBSD style).
 *
 * Lines go to stderr (default; supervisord and systemd collect it) or to
 * syslog.  log_warn() appends strerror(errno).  fatal()/fatalx() log and
 * exit(1): for start-up only, never on a path that live calls depend on.
 * A line about a call starts with its call-id: log_info("[%s] ...", cid).
 * Secrets never reach a log line.
 */
#ifndef RTPSEC_LOG_H
#define RTPSEC_LOG_H

#include <stdarg.h>

void	log_init(const char *progname, int debug, int use_syslog);
void	log_setdebug(int);
int	log_getdebug(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
