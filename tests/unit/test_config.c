/*
 * Unit tests for libcommon/config: defaults, parsing, rejection of unknown
 * options and bad values, host:port splitting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "libcommon/config.h"

static char *
write_tmp(const char *text)
{
	static char	 path[64];
	FILE		*fp;
	int		 fd;

	strcpy(path, "/tmp/rtpsec-test-config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
test_defaults(void **state)
{
	struct config	 cfg;
	char		 err[256];

	(void)state;
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	assert_string_equal(cfg.ng_listen, "127.0.0.1:22222");
	assert_string_equal(cfg.interface, "127.0.0.1");
	assert_int_equal(cfg.port_min, 30000);
	assert_int_equal(cfg.port_max, 40000);
	assert_int_equal(cfg.media_timeout, 60);
	assert_string_equal(cfg.http_listen, "127.0.0.1:9922");
	assert_string_equal(cfg.relayd_ctl, "ipc://relayd.sock");
	assert_int_equal(cfg.ng_tcp, 1);
	assert_true(cfg.run_dir[0] == '/');
}

static void
test_file(void **state)
{
	struct config	 cfg;
	char		 err[256];
	char		*p;

	(void)state;
	p = write_tmp("; a comment\n[common]\nnode_id = n7\nrun_dir=/tmp/x\n"
	    "[relayd]\nport_min = 41000\nport_max=41999\nmedia_timeout=5\n"
	    "[ctld]\nng_tcp = no\n");
	assert_int_equal(config_load(&cfg, p, err, sizeof(err)), 0);
	assert_string_equal(cfg.node_id, "n7");
	assert_string_equal(cfg.run_dir, "/tmp/x");
	assert_int_equal(cfg.port_min, 41000);
	assert_int_equal(cfg.media_timeout, 5);
	assert_int_equal(cfg.ng_tcp, 0);
	assert_string_equal(cfg.path, p);
	unlink(p);
}

static void
test_rejects(void **state)
{
	static const char *const bad[] = {
		"[relayd]\nport_min = abc\n",		/* not a number */
		"[relayd]\nno_such_option = 1\n",	/* unknown option */
		"[nosuch]\nuser = x\n",			/* unknown section */
		"[ctld]\nng_tcp = maybe\n",		/* not a boolean */
		"[relayd]\nport_min = 40000\nport_max = 30000\n", /* range */
		"[relayd]\nmedia_timeout = 0\n",	/* out of range */
		"[relayd\nport_min = 1\n",		/* syntax */
		"[ctld]\nsdes_suites = AES_CM_128_HMAC_SHA1_80 F8_128_HMAC_SHA1_80\n",
		"[ctld]\nsdes_suites = AEAD_AES_128_GCM,AEAD_AES_128_GCM\n",
	};
	struct config	 cfg;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *p = write_tmp(bad[i]);
		err[0] = '\0';
		assert_int_equal(config_load(&cfg, p, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		unlink(p);
	}
	assert_int_equal(config_load(&cfg, "/nonexistent/rtpsec.conf", err,
	    sizeof(err)), -1);
}

static void
test_hostport(void **state)
{
	char	 host[64];
	int	 port;

	(void)state;
	assert_int_equal(config_hostport("127.0.0.1:22222", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 22222);
	assert_int_equal(config_hostport("[::1]:9922", host, sizeof(host),
	    &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9922);
	assert_int_equal(config_hostport("nocolon", host, sizeof(host),
	    &port), -1);
	assert_int_equal(config_hostport("h:99999", host, sizeof(host),
	    &port), -1);
	assert_int_equal(config_hostport(":80", host, sizeof(host), &port), -1);
	assert_int_equal(config_hostport("[::1:80", host, sizeof(host),
	    &port), -1);
}

/* etc/rtpsec.conf documents every option with its default: it must parse
 * and give exactly the built-in configuration. */
static void
test_example_file(void **state)
{
	struct config	 a, b;
	char		 err[256];

	(void)state;
	assert_int_equal(config_load(&a, NULL, err, sizeof(err)), 0);
	if (config_load(&b, "etc/rtpsec.conf", err, sizeof(err)) == -1)
		fail_msg("etc/rtpsec.conf: %s", err);
	memset(b.path, 0, sizeof(b.path));
	assert_memory_equal(&a, &b, sizeof(a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_example_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
