/* test_save_stream.c : the manifest kept on disk only (sx_manifest.h,
 * "Memory"): questions answered by reading it back, the streamed rollback
 * (with the filter as it is and shrunk to 64 bits, where every path is a
 * false positive to settle), sx_manifest_open()'s checks; and the Bloom
 * filter itself. */
#include "sx_bloom.h"
#include "sx_manifest.h"
#include "sx_safefs.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static int rootfd(void) { return open(root, O_RDONLY | O_DIRECTORY); }

static int exists(int fd, const char *path)
{
    struct stat st;
    return fstatat(fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void touch(int fd, const char *path, const char *text)
{
    int f = openat(fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (f >= 0) {
        if (write(f, text, strlen(text)) < 0)
            CHECK(0);
        close(f);
    }
}

static const char *sha0 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct dirs {
    char seen[8][32];
    int n;
};

static int each(void *ctx, const char *dir)
{
    struct dirs *d = ctx;
    if (d->n < 8)
        snprintf(d->seen[d->n], sizeof d->seen[0], "%s", dir);
    d->n++;
    return 0;
}

/* An export as sx-save records it: files in place, one dropped (its item
 * failed) where a user then put a file of their own, one still under its
 * temporary name, directories one of which holds a user's file. */
static sx_manifest *write_export(int fd)
{
    char err[256];
    sx_manifest *m = sx_manifest_create(fd, 0, err, sizeof err);
    CHECK(m != NULL);
    CHECK(sx_manifest_find(m, "x") == NULL && sx_manifest_count(m) == 0);
    CHECK(sx_manifest_dir(m, "d") == 0 && mkdirat(fd, "d", 0777) == 0);
    CHECK(sx_manifest_dir(m, "e") == 0 && mkdirat(fd, "e", 0777) == 0);
    char path[64], tmp[64];
    for (int i = 0; i < 50; i++) {
        snprintf(path, sizeof path, "d/%d", i);
        snprintf(tmp, sizeof tmp, "d/.%d.sx-%06x", i, i);
        CHECK(sx_manifest_file(m, path, tmp) == 0);
        touch(fd, path, "x");
        CHECK(sx_manifest_done(m, path, 1, sha0) == 0);
    }
    CHECK(sx_manifest_file(m, "d/gone", "d/.gone.sx-00000a") == 0);
    CHECK(sx_manifest_drop(m, "d/gone") == 0);
    touch(fd, "d/gone", "user");   /* not the export's any more */
    CHECK(sx_manifest_file(m, "e/half", "e/.half.sx-00000b") == 0);
    touch(fd, "e/.half.sx-00000b", "half");
    touch(fd, "e/user", "user");
    CHECK(sx_manifest_sync(m) == 0);
    return m;
}

static void check_rolled_back(int fd, size_t removed)
{
    char path[64];
    int left = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(path, sizeof path, "d/%d", i);
        left += exists(fd, path);
    }
    CHECK(left == 0);
    CHECK(exists(fd, "d/gone") && exists(fd, "e/user"));
    CHECK(!exists(fd, "e/.half.sx-00000b") && !exists(fd, SX_MANIFEST_NAME));
    CHECK(exists(fd, "d") && exists(fd, "e"));   /* they hold users' files */
    CHECK(removed == 50);
    unlinkat(fd, "d/gone", 0);
    unlinkat(fd, "e/user", 0);
    unlinkat(fd, "d", AT_REMOVEDIR);
    unlinkat(fd, "e", AT_REMOVEDIR);
}

static void test_streamed_rollback(void)
{
    int fd = rootfd();
    char err[256];
    sx_manifest *m = write_export(fd);
    CHECK(sx_manifest_run_has(m, "d/7") == 1 && sx_manifest_run_has(m, "d/gone") == 1);
    CHECK(sx_manifest_run_has(m, "d/50") == 0 && sx_manifest_run_has(m, "d") == 0);
    struct dirs d = {0};
    CHECK(sx_manifest_each_dir(m, each, &d) == 0 && d.n == 2 && !strcmp(d.seen[0], "d") && !strcmp(d.seen[1], "e"));
    size_t removed = 0;
    CHECK(sx_manifest_rollback(m, fd, &removed, err, sizeof err) == 0);
    sx_manifest_free(m);
    check_rolled_back(fd, removed);
    close(fd);
}

/* After a crash: sx_manifest_open() checks and --rollback reads it back;
 * a path written again by a --resume run is removed once. */
static void test_open_and_rollback(void)
{
    int fd = rootfd();
    char err[256];
    sx_manifest *m = write_export(fd);
    CHECK(sx_manifest_resume(m) == 0);
    CHECK(sx_manifest_file(m, "d/3", "d/.3.sx-0000ff") == 0);   /* written again */
    CHECK(sx_manifest_done(m, "d/3", 1, sha0) == 0);
    sx_manifest_free(m);   /* the crash */
    m = sx_manifest_open(fd, err, sizeof err);
    if (!m) {
        printf("#   %s\n", err);
        CHECK(0);
        close(fd);
        return;
    }
    CHECK(!sx_manifest_committed(m) && !sx_manifest_created_root(m));
    size_t removed = 0;
    CHECK(sx_manifest_rollback(m, fd, &removed, err, sizeof err) == 0);
    sx_manifest_free(m);
    check_rolled_back(fd, removed);
    close(fd);
}

static void test_bloom(void)
{
    sx_bloom *b = sx_bloom_new(1 << 16);
    char s[32];
    int misses = 0, false_yes = 0;
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(s, sizeof s, "p/%d", i);
        sx_bloom_add(b, s, (size_t)n);
    }
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(s, sizeof s, "p/%d", i);
        misses += !sx_bloom_maybe(b, s, (size_t)n);
        n = snprintf(s, sizeof s, "q/%d", i);
        false_yes += sx_bloom_maybe(b, s, (size_t)n);
    }
    CHECK(misses == 0);
    CHECK(false_yes < 50);   /* (1 - e^(-7*5000/2^19))^7: about 1e-8 each */
    CHECK(sx_bloom_bytes(b) == 1 << 16);
    sx_bloom_free(b);
    b = sx_bloom_new(8);     /* 64 bits: full after a few strings */
    for (int i = 0; i < 100; i++) {
        int n = snprintf(s, sizeof s, "p/%d", i);
        sx_bloom_add(b, s, (size_t)n);
    }
    CHECK(sx_bloom_maybe(b, "never added", 11));
    sx_bloom_free(b);
}

int main(void)
{
    snprintf(root, sizeof root, "%s/sx-test-stream-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root))
        return 1;
    RUN(test_bloom);
    RUN(test_streamed_rollback);
    RUN(test_open_and_rollback);
    setenv("SX_BLOOM_BYTES", "8", 1);   /* every path a candidate */
    RUN(test_streamed_rollback);
    RUN(test_open_and_rollback);
    rmdir(root);
    return UNIT_DONE();
}
