/*
 * offer: what an offer or answer asks for, read from the ng dict once
 * (ng-protocol.md section 5).  Strings point into the request; lengths
 * are checked against the call model's bounds here, so nothing later
 * trusts them blindly.  Unknown keys and flags are ignored.
 */
#ifndef CTLD_OFFER_H
#define CTLD_OFFER_H

#include <stddef.h>

#include "libcommon/ngval.h"
#include "libcommon/sdp.h"
#include "ctld/sdes_neg.h"
#include "ctld/sdp_rewrite.h"

struct offer_req {
	const char	*callid, *from, *to, *via, *sdp;
	size_t		 callid_len, from_len, to_len, via_len, sdp_len;
	const char	*label, *set_label;	/* label/from-label, set-label/to-label */
	size_t		 label_len, set_label_len;
	char		 media_addr[SDP_ADDRLEN];	/* media-address */
	char		 sip_addr[SDP_ADDRLEN];	/* received-from, with SIP-source-address */
	char		 dir[2][32];		/* direction */
	int		 load_limit;		/* supports: load limit */
	struct sdp_rewrite rw;			/* replace, ICE, rtcp flags */
	struct sdes_neg_opts sdes;		/* transport-protocol, SDES */
};

/* Fills o from an offer (answer = 0) or answer dict; returns NULL, or the
 * ng error-reason for a missing or unusable key. */
const char	*offer_parse(const struct ngval *, int answer, struct offer_req *);

#endif
