/*
 * rtp: RTP and RTCP header parsing with explicit lengths (RFC 3550 5.1,
 * 6.4; RFC 5761 4 for telling RTP from RTCP on one port; RFC 7983 for the
 * first-byte demultiplexing of STUN, DTLS and RTP/RTCP).
 *
 * Nothing here trusts a length it did not check: rtp_parse() verifies that
 * the CSRC list, the header extension and the padding fit in the packet and
 * leave a non-negative payload; rtcp_parse() walks a compound packet and
 * verifies every length field.
 */
#ifndef RTPSEC_RTP_H
#define RTPSEC_RTP_H

#include <stddef.h>
#include <stdint.h>

#define RTP_HDR_MIN	12
#define RTCP_HDR_MIN	8

/* RFC 7983 section 7: what the first byte says a packet is. */
enum rtp_demux {
	RTP_DEMUX_STUN,		/* 0..3 */
	RTP_DEMUX_DTLS,		/* 20..63 */
	RTP_DEMUX_RTP,		/* 128..191: RTP or RTCP */
	RTP_DEMUX_OTHER		/* ZRTP, TURN channel, garbage */
};

struct rtp_hdr {
	uint8_t		 pt;		/* payload type (7 bits) */
	uint8_t		 marker;
	uint16_t	 seq;
	uint32_t	 ts;
	uint32_t	 ssrc;
	uint8_t		 csrc_count;
	uint16_t	 ext_profile;	/* 0 if no extension */
	size_t		 ext_len;	/* extension bytes after its 4-byte header */
	size_t		 hdr_len;	/* header incl. CSRCs and extension */
	size_t		 payload_len;	/* excluding padding */
	uint8_t		 pad_len;
};

struct rtcp_info {
	uint32_t	 ssrc;		/* sender SSRC of the first packet */
	uint8_t		 first_pt;	/* 200 SR, 201 RR, ... */
	unsigned	 npackets;	/* packets in the compound */
	int		 has_sr;
	uint32_t	 sr_ntp_mid;	/* middle 32 bits of the SR NTP time (LSR) */
	uint32_t	 sr_rtp_ts;
	uint32_t	 sr_packets;
	uint32_t	 sr_octets;
};

enum rtp_demux	 rtp_demux(const uint8_t *, size_t);
/* 1 if an RTP/RTCP-range packet is RTCP by its second byte (RFC 5761 4:
 * payload types 64..95 with the marker bit, i.e. 192..223). */
int		 rtp_is_rtcp(const uint8_t *, size_t);
/* 0 and *h filled, or -1 (not version 2, truncated, bad padding or
 * extension length). */
int		 rtp_parse(const uint8_t *, size_t, struct rtp_hdr *h);
/* 0 and *info filled, or -1 (not version 2, a length field that does not
 * match, a first packet that is not SR or RR, trailing bytes). */
int		 rtcp_parse(const uint8_t *, size_t, struct rtcp_info *info);

#endif
