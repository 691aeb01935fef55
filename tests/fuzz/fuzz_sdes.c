/*
 * libFuzzer harness for libcommon/sdes: arbitrary bytes as the value of an
 * a=crypto attribute.  A rejected one must leave no key behind; an
 * accepted one must be within the limits sdes.h promises, must format,
 * and its formatted line must parse to the same attribute and format to
 * the same bytes again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/buf.h"
#include "libcommon/sdes.h"

static void
check_zero(const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct sdes_suite_info	*si;
	struct sdes_crypto		 c, again;
	struct buf			 b, b2;
	uint8_t				 mki[SDES_MAX_MKI_LEN];
	char				 err[64];
	int				 rc;

	/* a refusal must leave a NUL-terminated reason (a success need not
	 * touch err: fill it so that the check does not read stack garbage) */
	memset(err, 'x', sizeof(err));
	rc = sdes_parse((const char *)data, size, &c, err, sizeof(err));
	if (rc != 0 && memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (rc != 0) {
		if (rc != -1 && rc != SDES_UNKNOWN_SUITE &&
		    rc != SDES_UNSUPPORTED)
			abort();
		check_zero(c.key, sizeof(c.key));
		if (c.key_len != 0 || c.lifetime != 0 || c.mki_len != 0)
			abort();
		if (rc == SDES_UNKNOWN_SUITE && c.suite != SDES_NSUITES)
			abort();
		return 0;
	}
	if ((si = sdes_suite_info(c.suite)) == NULL ||
	    c.key_len != si->key_len + si->salt_len || c.tag > SDES_MAX_TAG ||
	    c.nkeys < 1 || c.nkeys > SDES_MAX_KEYS ||
	    c.lifetime > SDES_MAX_LIFETIME || c.mki_len > SDES_MAX_MKI_LEN ||
	    (c.mki_len > 0 && c.mki_len < 8 && c.mki >> (8 * c.mki_len)) ||
	    c.kdr < -1 || c.kdr > SDES_MAX_KDR ||
	    (c.wsh != 0 && c.wsh < SDES_MIN_WSH))
		abort();
	check_zero(c.key + c.key_len, sizeof(c.key) - c.key_len);
	if (sdes_mki_bytes(&c, mki, sizeof(mki)) != (int)c.mki_len)
		abort();

	buf_init(&b);
	buf_init(&b2);
	if (sdes_format(&b, &c) == -1 || b.len < 11 ||
	    memcmp(b.p, "a=crypto:", 9) != 0 ||
	    memcmp(b.p + b.len - 2, "\r\n", 2) != 0)
		abort();
	if (sdes_parse(b.p + 9, b.len - 11, &again, err, sizeof(err)) != 0 ||
	    again.tag != c.tag || again.suite != c.suite ||
	    memcmp(again.key, c.key, sizeof(c.key)) != 0 ||
	    again.lifetime != c.lifetime || again.mki != c.mki ||
	    again.mki_len != c.mki_len || again.nkeys != 1 ||
	    again.kdr != c.kdr || again.wsh != c.wsh ||
	    again.fec_order != c.fec_order || again.pad != c.pad ||
	    again.unencrypted_srtp != c.unencrypted_srtp ||
	    again.unencrypted_srtcp != c.unencrypted_srtcp ||
	    again.unauthenticated_srtp != c.unauthenticated_srtp)
		abort();
	if (sdes_format(&b2, &again) == -1 || b2.len != b.len ||
	    memcmp(b2.p, b.p, b.len) != 0)
		abort();
	buf_wipe(&b);
	buf_wipe(&b2);
	sdes_crypto_wipe(&c);
	sdes_crypto_wipe(&again);
	return 0;
}
