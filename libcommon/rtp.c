/*
 * rtp: RTP/RTCP header parsing, see rtp.h.
 *
 * RFC 3550 A.2 gives the validity checks for a compound RTCP packet: version
 * 2 throughout, the first packet an SR or RR (padding bit clear on it), and
 * the lengths adding up to the datagram's length.
 */
#include <string.h>

#include "libcommon/rtp.h"

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

enum rtp_demux
rtp_demux(const uint8_t *p, size_t len)
{
	if (len == 0)
		return RTP_DEMUX_OTHER;
	if (p[0] <= 3)
		return RTP_DEMUX_STUN;
	if (p[0] >= 20 && p[0] <= 63)
		return RTP_DEMUX_DTLS;
	if (p[0] >= 128 && p[0] <= 191)
		return RTP_DEMUX_RTP;
	return RTP_DEMUX_OTHER;
}

int
rtp_is_rtcp(const uint8_t *p, size_t len)
{
	return len >= 2 && p[1] >= 192 && p[1] <= 223;
}

int
rtp_parse(const uint8_t *p, size_t len, struct rtp_hdr *h)
{
	size_t	 off;

	memset(h, 0, sizeof(*h));
	if (len < RTP_HDR_MIN || (p[0] >> 6) != 2)
		return -1;
	h->csrc_count = p[0] & 0x0f;
	h->marker = p[1] >> 7;
	h->pt = p[1] & 0x7f;
	h->seq = rd16(p + 2);
	h->ts = rd32(p + 4);
	h->ssrc = rd32(p + 8);
	off = RTP_HDR_MIN + 4 * (size_t)h->csrc_count;
	if (off > len)
		return -1;
	if (p[0] & 0x10) {		/* extension */
		if (off + 4 > len)
			return -1;
		h->ext_profile = rd16(p + off);
		h->ext_len = 4 * (size_t)rd16(p + off + 2);
		off += 4;
		if (h->ext_len > len - off)
			return -1;
		off += h->ext_len;
	}
	h->hdr_len = off;
	h->payload_len = len - off;
	if (p[0] & 0x20) {		/* padding: count in the last byte */
		if (h->payload_len == 0)
			return -1;
		h->pad_len = p[len - 1];
		if (h->pad_len == 0 || h->pad_len > h->payload_len)
			return -1;
		h->payload_len -= h->pad_len;
	}
	return 0;
}

int
rtcp_parse(const uint8_t *p, size_t len, struct rtcp_info *info)
{
	size_t	 off = 0;

	memset(info, 0, sizeof(*info));
	if (len < RTCP_HDR_MIN)
		return -1;
	/* first packet: SR or RR, no padding */
	if ((p[0] & 0xe0) != 0x80 || (p[1] != 200 && p[1] != 201))
		return -1;
	info->first_pt = p[1];
	info->ssrc = rd32(p + 4);
	while (off < len) {
		size_t	 plen;

		if (len - off < 4 || (p[off] >> 6) != 2)
			return -1;
		plen = 4 * ((size_t)rd16(p + off + 2) + 1);
		if (plen > len - off)
			return -1;
		if (p[off + 1] == 200 && !info->has_sr) {
			if (plen < 28)
				return -1;
			info->has_sr = 1;
			info->sr_ntp_mid = rd32(p + off + 10);
			info->sr_rtp_ts = rd32(p + off + 16);
			info->sr_packets = rd32(p + off + 20);
			info->sr_octets = rd32(p + off + 24);
		}
		info->npackets++;
		off += plen;
	}
	return 0;
}
