/*
 * libFuzzer harness for libcommon/rtp: arbitrary datagrams through the
 * demultiplexer and both header parsers; a parsed header must describe a
 * region inside the packet.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "libcommon/rtp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtp_hdr	 h;
	struct rtcp_info info;

	(void)rtp_demux(data, size);
	if (rtp_parse(data, size, &h) == 0 &&
	    h.hdr_len + h.payload_len + h.pad_len != size)
		abort();
	if (rtcp_parse(data, size, &info) == 0 && info.npackets == 0)
		abort();
	(void)rtp_is_rtcp(data, size);
	return 0;
}
