/*
 * buf: a growable byte buffer for building replies, SDP bodies and encodings.
 *
 * A buffer that failed to grow is marked (b->oom) and ignores further writes,
 * so a builder can append freely and check once at the end.  The bytes are
 * always NUL-terminated (not counted in len) for the convenience of callers
 * that print them.  A buffer marked with buf_secret() never leaves a copy
 * behind when it grows: the old memory is wiped before it is freed, so
 * buf_wipe() at the end reaches every byte it ever held.
 */
#ifndef RTPSEC_BUF_H
#define RTPSEC_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char	*p;	/* owned; NULL until the first write */
	size_t	 len;
	size_t	 cap;
	int	 oom;
	int	 secret;	/* buf_secret(): wipe on grow */
};

void	buf_init(struct buf *);
void	buf_free(struct buf *);		/* frees p and re-inits */
void	buf_wipe(struct buf *);		/* explicit_bzero, then buf_free */
void	buf_secret(struct buf *);	/* from now on, wipe old memory on grow */
void	buf_reset(struct buf *);	/* len = 0, keeps the memory */
int	buf_add(struct buf *, const void *, size_t);
int	buf_addstr(struct buf *, const char *);
int	buf_addc(struct buf *, char);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
