/*
 * test_keyd_kek: keyd's key-wrapping key and wrapped SRTP keys
 * (keyd/kek.c).  A blob opens to the key it sealed, for every suite and
 * session parameter; a changed byte anywhere, another binding (call, leg,
 * media, dir, including shifts between the fields), another KEK, version
 * or length are refused.  The KEK file is created 0600 with 32 bytes and
 * read back the same at the next start; a short, long or group/world
 * accessible file is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "libcommon/buf.h"
#include "libcommon/sdes.h"
#include "keyd/kek.h"

static char	 tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-keyd-kek-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
path_in(char *p, size_t len, const char *name)
{
	snprintf(p, len, "%s/%s", tmpdir, name);
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int	 fd;

	(void)unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static const struct keyd_kek_bind bind0 = { "call-1@host", "A", 1, "out" };

static void
wrap(const struct keyd_kek *k, const struct keyd_kek_bind *b,
    const struct sdes_crypto *c, struct buf *out)
{
	buf_init(out);
	assert_int_equal(keyd_kek_wrap(k, b, c, out), 0);
}

static int
opens(const struct keyd_kek *k, const struct keyd_kek_bind *b,
    const struct buf *blob)
{
	struct sdes_crypto	 c;
	char			 why[160];
	int			 rc;

	rc = keyd_kek_unwrap(k, b, (const uint8_t *)blob->p, blob->len, &c,
	    why, sizeof(why));
	if (rc == -1) {
		assert_true(why[0] != '\0');
		assert_int_equal(c.key_len, 0);
	}
	sdes_crypto_wipe(&c);
	return rc == 0;
}

static void
test_roundtrip(void **state)
{
	struct keyd_kek		 k;
	struct sdes_crypto	 c, back;
	struct buf		 b, b2;
	char			 why[160];
	unsigned		 s, p;

	(void)state;
	assert_int_equal(keyd_kek_generate(&k), 0);
	assert_int_equal(strlen(k.idhex), 8);
	for (s = 0; s < SDES_NSUITES; s++)
		for (p = 0; p <= SDES_P_ALL; p++) {
			assert_int_equal(sdes_keygen(&c, (enum sdes_suite)s,
			    7), 0);
			sdes_set_params(&c, p);
			wrap(&k, &bind0, &c, &b);
			assert_int_equal(b.p[0], KEYD_KEK_VERSION);
			assert_memory_equal(b.p + 1, k.id, KEYD_KEK_IDLEN);
			assert_null(memmem(b.p, b.len, c.key, 8));
			assert_int_equal(keyd_kek_unwrap(&k, &bind0,
			    (const uint8_t *)b.p, b.len, &back, why,
			    sizeof(why)), 0);
			assert_int_equal(back.suite, c.suite);
			assert_int_equal(back.key_len, c.key_len);
			assert_memory_equal(back.key, c.key, c.key_len);
			assert_int_equal(sdes_params(&back), p);
			/* a new nonce each time: the same key wraps
			 * differently */
			wrap(&k, &bind0, &c, &b2);
			assert_int_equal(b2.len, b.len);
			assert_memory_not_equal(b.p, b2.p, b.len);
			assert_true(opens(&k, &bind0, &b2));
			sdes_crypto_wipe(&c);
			sdes_crypto_wipe(&back);
			buf_free(&b);
			buf_free(&b2);
		}
	keyd_kek_wipe(&k);
}

static void
test_refused(void **state)
{
	static const struct keyd_kek_bind other[] = {
		{ "call-2@host", "A", 1, "out" },	/* call */
		{ "call-1@host", "B", 1, "out" },	/* leg */
		{ "call-1@host", "A", 2, "out" },	/* media */
		{ "call-1@host", "A", 257, "out" },	/* media's 2nd byte */
		{ "call-1@host", "A", 1, "in" },	/* dir */
		{ "call-1@hostA", "", 1, "out" },	/* leg into call */
		{ "call-1@hos", "tA", 1, "out" },	/* call into leg */
	};
	struct keyd_kek		 k, k2;
	struct sdes_crypto	 c;
	struct buf		 b, t;
	size_t			 i;

	(void)state;
	assert_int_equal(keyd_kek_generate(&k), 0);
	assert_int_equal(keyd_kek_generate(&k2), 0);
	assert_int_equal(sdes_keygen(&c, SDES_AES_CM_128_HMAC_SHA1_80, 1), 0);
	wrap(&k, &bind0, &c, &b);
	assert_true(opens(&k, &bind0, &b));

	/* bound to the call, leg, media and dir */
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_false(opens(&k, &other[i], &b));

	/* any byte changed: version, kek id, nonce, ciphertext, tag */
	buf_init(&t);
	for (i = 0; i < b.len; i++) {
		buf_reset(&t);
		assert_int_equal(buf_add(&t, b.p, b.len), 0);
		t.p[i] ^= 0x01;
		assert_false(opens(&k, &bind0, &t));
	}
	/* truncated, extended, empty */
	for (i = 0; i < b.len; i++) {
		buf_reset(&t);
		assert_int_equal(buf_add(&t, b.p, i), 0);
		assert_false(opens(&k, &bind0, &t));
	}
	buf_reset(&t);
	assert_int_equal(buf_add(&t, b.p, b.len), 0);
	assert_int_equal(buf_addc(&t, 0), 0);
	assert_false(opens(&k, &bind0, &t));

	/* another KEK; even one that claims our id */
	assert_false(opens(&k2, &bind0, &b));
	memcpy(k2.id, k.id, sizeof(k.id));
	assert_false(opens(&k2, &bind0, &b));

	buf_free(&t);
	buf_free(&b);
	sdes_crypto_wipe(&c);
	keyd_kek_wipe(&k);
	keyd_kek_wipe(&k2);
}

/* No temporary file is left next to the KEK. */
static void
assert_dir_holds(size_t expect)
{
	DIR		*d;
	struct dirent	*e;
	size_t		 n = 0;

	assert_non_null(d = opendir(tmpdir));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0) {
			assert_null(strstr(e->d_name, ".tmp."));
			n++;
		}
	closedir(d);
	assert_int_equal(n, expect);
}

static void
test_file_created_and_reused(void **state)
{
	struct keyd_kek		 k, k2, k3;
	struct sdes_crypto	 c;
	struct stat		 st;
	struct buf		 b;
	char			 path[128], err[512], cwd[512];

	(void)state;
	path_in(path, sizeof(path), "keyd.kek");
	assert_int_equal(keyd_kek_load(&k, path, err, sizeof(err)), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, KEYD_KEK_LEN);
	assert_dir_holds(1);

	/* the next start reads the same key */
	assert_int_equal(keyd_kek_load(&k2, path, err, sizeof(err)), 0);
	assert_string_equal(k2.idhex, k.idhex);
	assert_memory_equal(k2.key, k.key, KEYD_KEK_LEN);
	assert_int_equal(sdes_keygen(&c, SDES_AEAD_AES_256_GCM, 1), 0);
	wrap(&k, &bind0, &c, &b);
	assert_true(opens(&k2, &bind0, &b));

	/* relative to the working directory (run_dir in keyd) */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(keyd_kek_load(&k3, "keyd.kek", err, sizeof(err)), 0);
	assert_string_equal(k3.idhex, k.idhex);
	keyd_kek_wipe(&k3);
	assert_int_equal(keyd_kek_load(&k3, "other.kek", err, sizeof(err)), 1);
	assert_string_not_equal(k3.idhex, k.idhex);
	assert_false(opens(&k3, &bind0, &b));
	assert_int_equal(chdir(cwd), 0);
	assert_dir_holds(2);

	/* an unusable place to create it */
	path_in(path, sizeof(path), "no-such-dir/keyd.kek");
	assert_int_equal(keyd_kek_load(&k3, path, err, sizeof(err)), -1);
	assert_int_equal(keyd_kek_load(&k3, "", err, sizeof(err)), -1);

	buf_free(&b);
	sdes_crypto_wipe(&c);
	keyd_kek_wipe(&k);
	keyd_kek_wipe(&k2);
	keyd_kek_wipe(&k3);
	path_in(path, sizeof(path), "keyd.kek");
	unlink(path);
	path_in(path, sizeof(path), "other.kek");
	unlink(path);
}

static void
test_file_refused(void **state)
{
	static const struct {
		size_t	 len;
		mode_t	 mode;
		const char *says;
	} bad[] = {
		{ 16, 0600, "16 bytes" },
		{ 0, 0600, "0 bytes" },
		{ 33, 0600, "33 bytes" },
		{ 32, 0644, "group or others" },
		{ 32, 0640, "group or others" },
		{ 32, 0604, "group or others" },
		{ 32, 0620, "group or others" },
	};
	struct keyd_kek	 k;
	uint8_t		 data[64];
	char		 path[128], err[512];
	size_t		 i;

	(void)state;
	memset(data, 0xa5, sizeof(data));
	path_in(path, sizeof(path), "bad.kek");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, data, bad[i].len, bad[i].mode);
		memset(&k, 0x5a, sizeof(k));
		err[0] = '\0';
		assert_int_equal(keyd_kek_load(&k, path, err, sizeof(err)), -1);
		assert_non_null(strstr(err, bad[i].says));
		assert_non_null(strstr(err, path));
		/* nothing of the file is kept, or said */
		assert_null(memmem(&k, sizeof(k), data, 4));
		assert_null(strstr(err, "a5a5"));
	}
	/* the same bytes with the right mode and size are a KEK */
	write_file(path, data, 32, 0400);
	assert_int_equal(keyd_kek_load(&k, path, err, sizeof(err)), 0);
	assert_memory_equal(k.key, data, 32);
	keyd_kek_wipe(&k);
	unlink(path);
	/* a directory */
	path_in(path, sizeof(path), "dir.kek");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(keyd_kek_load(&k, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	rmdir(path);
	/* a symbolic link, even to a good KEK, is not followed */
	{
		char	 target[128];

		path_in(target, sizeof(target), "target.kek");
		write_file(target, data, 32, 0600);
		path_in(path, sizeof(path), "link.kek");
		assert_int_equal(symlink(target, path), 0);
		assert_int_equal(keyd_kek_load(&k, path, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, path));
		unlink(path);
		unlink(target);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_file_created_and_reused),
		cmocka_unit_test(test_file_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
