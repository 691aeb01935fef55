/*
 * call: ctld's model of the calls it controls, rtpengine's way.
 *
 * A call (SIP call-id) has parties ("monologues"): one per tag.  The
 * offerer is named by from-tag in both offer and answer; the callee side
 * is created at offer time as "<untagged N>" (one per via-branch: serial
 * forking) and gets its tag from the answer's to-tag.  Each party owns one
 * relayd leg (leg ids "L1", "L2", ...; never SIP tags, which are unknown at
 * offer time): packets from the party arrive on its leg's ports, so the SDP
 * sent *to* a party carries the ports of that party's leg.
 *
 * Parties are never removed from the array while the call lives (peer
 * indices stay valid): a deleted branch is marked gone.  All strings are
 * NUL-terminated and bounded; ctld checks lengths before copying in.
 */
#ifndef CTLD_CALL_H
#define CTLD_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "libcommon/sdp.h"

#define CALL_IDLEN	256
#define CALL_TAGLEN	128
#define CALL_LEGLEN	12	/* "L" + a 32-bit number */
#define CALL_MAX_PARTIES 32

/*
 * Memory: a call holds only what it uses (about 0.6 kB for a plain
 * two-party call with one media; it was 19 kB with fixed arrays).
 * Parties and media are arrays grown by need; every string field is a
 * shared, reference-counted copy (call_str_set()): the same relay address,
 * media type, protocol, codec or SIP address in a thousand calls is held
 * once.  String fields are never NULL ("" when unset) and are written only
 * through call_str_set().
 */
struct media {
	const char	*type;		/* "audio" */
	const char	*proto;		/* "RTP/AVP" */
	const char	*codec;		/* negotiated, "" until answered */
	const char	*addr;		/* advertised endpoint, "" unknown */
	/* SDES-SRTP towards this party (docs/srtp.md); never a key */
	const char	*suite;		/* suite in force with it, "" unknown */
	uint32_t	 tag;		/* its a=crypto tag for that suite */
	uint16_t	 rtp, rtcp;	/* advertised ports, 0 = none */
	uint16_t	 local_rtp, local_rtcp;	/* this party's relay ports */
	uint16_t	 sdes_params;	/* SDES_P_* of that line (RFC 4568
					 * 6.3 session parameters) */
	uint8_t		 family;	/* 4 or 6 */
	uint8_t		 dir;		/* enum sdp_dir */
	uint8_t		 srtp;		/* this party's side speaks SDES-SRTP */
};

struct party {
	const char	*tag;		/* "" while untagged */
	const char	*label;
	const char	*via_branch;
	const char	*laddr;		/* relay address (leg_alloc) */
	const char	*direction[2];	/* ng "direction", stored */
	struct media	*media;		/* owned, nmedia entries */
	uint64_t	 created;	/* unix s */
	uint64_t	 delete_at_ms;	/* branch delete pending, 0 none */
	unsigned	 untagged;	/* N of "<untagged N>", 0 if never */
	int		 peer;		/* party index, -1 none */
	uint32_t	 nmedia;
	char		 leg[CALL_LEGLEN];	/* relayd leg id */
	uint8_t		 lfamily;
	uint8_t		 have_sdp;	/* its own SDP was seen */
	uint8_t		 gone;		/* branch deleted */
};

struct call {
	uint64_t	 created;	/* unix s */
	uint64_t	 created_us;
	uint64_t	 last_signal;	/* unix s */
	uint64_t	 delete_at_ms;	/* monotonic; 0 = live */
	uint64_t	 seen;		/* reconcile round it was last seen */
	uint64_t	 saved_ms;	/* monotonic; last TTL refresh, 0 never */
	const char	*relay_node;	/* relay node holding its media ("":
					 * the first), nodes.h */
	struct party	*party;		/* owned, nparty entries (cap pcap);
					 * may move when a party is added */
	uint32_t	 nparty, pcap;
	unsigned	 next_untagged;
	unsigned	 next_leg;
	uint8_t		 srtp;		/* keyd has held key sets for it */
	uint8_t		 dirty;		/* record to be written (session.c) */
	uint8_t		 keep;		/* calls_remove() unlinks, not frees */
	struct call	*hnext;		/* hash chain */
	struct call	*prev, *next;	/* creation order */
	struct call	*dnext;		/* dirty list (session.c) */
	char		 id[];		/* sized to the call-id */
};

/* Sets *field to a shared copy of s (len bytes; "" when len is 0 or s
 * NULL), releasing what it held.  0, or -1 (out of memory: *field "").
 * call_str_setz() takes a NUL-terminated string. */
int		 call_str_set(const char **field, const char *s, size_t len);
int		 call_str_setz(const char **field, const char *s);
/* Releases a string field (sets it to ""). */
void		 call_str_clear(const char **field);
/* Distinct strings held (for tests and debugging). */
size_t		 call_str_count(void);

/* A call not in any table (record_decode()); NULL on a bad id or memory. */
struct call	*call_alloc(const char *id, size_t len);
void		 call_destroy(struct call **);

struct calls;

struct calls	*calls_new(void);
void		 calls_destroy(struct calls **);
size_t		 calls_count(const struct calls *);
/* Live (not pending deletion) calls. */
size_t		 calls_active(const struct calls *);
struct call	*calls_find(struct calls *, const char *id, size_t len);
/* A new empty call (id must fit CALL_IDLEN-1); NULL on failure. */
struct call	*calls_add(struct calls *, const char *id, size_t len);
/* Adds a call made by call_alloc(); the table owns it. */
void		 calls_insert(struct calls *, struct call *);
/* Unlinks the call and frees it (unless call->keep: the caller then owns
 * it and frees it with call_destroy()); *cp is NULLed. */
void		 calls_remove(struct calls *, struct call **);
/* Iteration in creation order: first, then c->next. */
struct call	*calls_first(struct calls *);

/* The live party with this tag, -1 if none. */
int		 call_party_by_tag(const struct call *, const char *, size_t);
/* A new party (untagged when tag is NULL); -1 when full.  The party
 * array may move: pointers into it taken before are stale. */
int		 call_party_add(struct call *, const char *tag, size_t len,
		    uint64_t now);
/* Party whose leg id is leg, -1 if none. */
int		 call_party_by_leg(const struct call *, const char *, size_t);
/* 1 when some media of the party speaks SDES-SRTP (keyd holds key sets
 * for it); call_has_srtp: the call ever asked keyd for keys. */
int		 party_has_srtp(const struct party *);
int		 call_has_srtp(const struct call *);
/* Resizes a party's media array (new entries zeroed); 0 or -1. */
int		 party_set_nmedia(struct party *, size_t);
/* The key rtpengine shows for a party: its tag or "<untagged N>". */
void		 party_key(const struct party *, char *, size_t);
/* 1 when a string of len bytes fits a field of size (with its NUL) and
 * holds no NUL byte. */
int		 call_str_fits(const char *, size_t len, size_t size);
void		 call_strlcpy(char *dst, size_t size, const char *, size_t);

#endif
