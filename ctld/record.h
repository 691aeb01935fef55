/*
 * record: a call as stored in Redis (the `data` field of the call's hash,
 * docs/redis.md): one msgpack map, versioned (RECORD_VERSION), that
 * record_decode() reads back tolerantly: unknown keys are skipped, missing
 * ones keep their defaults, so older and newer writers interoperate.
 * No secrets are stored: for SDES-SRTP a media keeps only which side
 * speaks it, the suite and the tag (keyd's sdes_* ops are idempotent, so
 * a restarted ctld asks keyd again, which still holds the key sets);
 * relayd keeps its keys wrapped by keyd's KEK in its own records.
 */
#ifndef CTLD_RECORD_H
#define CTLD_RECORD_H

#include <stddef.h>

#include <msgpack.h>

#include "ctld/call.h"

/* 2: relay_node (several relay nodes); a version 1 record reads as a
 * call on the first node */
#define RECORD_VERSION	2

/* Appends the record of c to sb (msgpack_sbuffer_init'ed by the caller). */
void	record_encode(msgpack_sbuffer *, const struct call *, const char *node);
/* A call (from call_alloc(), in no table; the caller owns it) read from
 * a record, or NULL when the data is not a record or its call-id does
 * not fit.  A call that was pending deletion comes back with
 * delete_at_ms = 1: the reaper ends it at once. */
struct call	*record_decode(const void *, size_t);

#endif
