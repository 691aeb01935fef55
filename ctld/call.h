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
#define CALL_LEGLEN	16
#define CALL_MAX_PARTIES 32

struct media {
	char		 type[16];	/* "audio" */
	char		 proto[32];	/* "RTP/AVP" */
	char		 codec[64];	/* negotiated, "" until answered */
	char		 addr[SDP_ADDRLEN];	/* advertised endpoint, "" unknown */
	int		 family;	/* 4 or 6 */
	unsigned	 rtp, rtcp;	/* advertised ports, 0 = none */
	unsigned	 local_rtp, local_rtcp;	/* this party's relay ports */
	int		 dir;		/* enum sdp_dir */
	/* SDES-SRTP towards this party (docs/srtp.md); never a key */
	int		 srtp;		/* this party's side speaks SDES-SRTP */
	char		 suite[32];	/* suite in force with it, "" unknown */
	unsigned	 tag;		/* its a=crypto tag for that suite */
	unsigned	 sdes_params;	/* SDES_P_* of that line (RFC 4568
					 * 6.3 session parameters) */
};

struct party {
	char		 tag[CALL_TAGLEN];	/* "" while untagged */
	unsigned	 untagged;	/* N of "<untagged N>", 0 if never */
	char		 label[CALL_TAGLEN];
	char		 via_branch[CALL_TAGLEN];
	char		 leg[CALL_LEGLEN];	/* relayd leg id */
	int		 peer;		/* party index, -1 none */
	uint64_t	 created;	/* unix s */
	int		 have_sdp;	/* its own SDP was seen */
	int		 gone;		/* branch deleted */
	uint64_t	 delete_at_ms;	/* branch delete pending, 0 none */
	char		 laddr[SDP_ADDRLEN];	/* relay address (leg_alloc) */
	int		 lfamily;
	char		 direction[2][32];	/* ng "direction", stored */
	size_t		 nmedia;
	struct media	*media;		/* owned, nmedia entries */
};

struct call {
	char		 id[CALL_IDLEN];
	uint64_t	 created;	/* unix s */
	uint64_t	 created_us;
	uint64_t	 last_signal;	/* unix s */
	uint64_t	 delete_at_ms;	/* monotonic; 0 = live */
	size_t		 nparty;
	struct party	 party[CALL_MAX_PARTIES];
	unsigned	 next_untagged;
	unsigned	 next_leg;
	int		 srtp;		/* keyd has held key sets for it */
	uint64_t	 seen;		/* reconcile round it was last seen */
	uint64_t	 saved_ms;	/* monotonic; last TTL refresh, 0 never */
	struct call	*hnext;		/* hash chain */
	struct call	*prev, *next;	/* creation order */
};

struct calls;

struct calls	*calls_new(void);
void		 calls_destroy(struct calls **);
size_t		 calls_count(const struct calls *);
/* Live (not pending deletion) calls. */
size_t		 calls_active(const struct calls *);
struct call	*calls_find(struct calls *, const char *id, size_t len);
/* A new empty call (id must fit CALL_IDLEN-1); NULL on failure. */
struct call	*calls_add(struct calls *, const char *id, size_t len);
void		 calls_remove(struct calls *, struct call **);
/* Iteration in creation order: first, then c->next. */
struct call	*calls_first(struct calls *);

/* The live party with this tag, -1 if none. */
int		 call_party_by_tag(const struct call *, const char *, size_t);
/* A new party (untagged when tag is NULL); -1 when full. */
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
