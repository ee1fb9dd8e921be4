/* test_save_download.c : sx_download.h on file:// URLs: bytes and digest,
 * size and sha256 checks, missing files, refused schemes, many at once. */
#include "sx_download.h"
#include "sx_sha256.h"
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

typedef struct {
    int done, ok;
    int64_t size;
    char sha[65];
    char error[256];
} outcome;

static void on_done(void *ud, const sx_dl_result *r)
{
    (void)ud;
    outcome *o = r->user;
    o->done = 1;
    o->ok = r->ok;
    o->size = r->size;
    snprintf(o->sha, sizeof o->sha, "%s", r->sha256);
    snprintf(o->error, sizeof o->error, "%s", r->error);
}

static void make_file(const char *name, size_t n, char *url, size_t urllen, char sha[65])
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    sx_sha256 c;
    sx_sha256_init(&c);
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)(i * 7 + 3);
        fputc(b, f);
        sx_sha256_update(&c, &b, 1);
    }
    fclose(f);
    sx_sha256_hex(&c, sha);
    snprintf(url, urllen, "file://%s", path);
}

/* Downloads url into a new file; @return its descriptor (closed by caller). */
static int fetch(const char *url, int64_t size, const char *sha, outcome *o, int jobs)
{
    sx_dl_opts opts = sx_dl_opts_default();
    opts.jobs = jobs;
    opts.tries = 1;
    sx_dl *d = sx_dl_new(&opts);
    char out[512];
    snprintf(out, sizeof out, "%s/out-XXXXXX", dir);
    int fd = mkstemp(out);
    unlink(out);
    memset(o, 0, sizeof *o);
    CHECK(sx_dl_add(d, url, fd, size, sha, o) == 0);
    for (int i = 0; i < 100 && sx_dl_pending(d); i++)
        CHECK(sx_dl_run(d, NULL, 0, 100, on_done, NULL) == 0);
    CHECK(o->done);
    sx_dl_free(d);
    return fd;
}

static void test_file_url(void)
{
    char url[600], sha[65];
    outcome o;
    make_file("a.bin", 300000, url, sizeof url, sha);
    int fd = fetch(url, 300000, sha, &o, 2);
    CHECK(o.ok && o.size == 300000 && !strcmp(o.sha, sha));
    CHECK(lseek(fd, 0, SEEK_END) == 300000);
    close(fd);
}

static void test_checks(void)
{
    char url[600], sha[65];
    outcome o;
    make_file("b.bin", 1000, url, sizeof url, sha);
    close(fetch(url, 999, NULL, &o, 1));
    CHECK(!o.ok && strstr(o.error, "larger than the expected 999"));
    close(fetch(url, 1001, NULL, &o, 1));
    CHECK(!o.ok && strstr(o.error, "got 1000 bytes, expected 1001"));
    char bad[65];
    memcpy(bad, sha, 65);
    bad[0] = bad[0] == '0' ? '1' : '0';
    close(fetch(url, -1, bad, &o, 1));
    CHECK(!o.ok && strstr(o.error, "sha256 mismatch"));
    char missing[600];
    snprintf(missing, sizeof missing, "file://%s/none", dir);
    close(fetch(missing, -1, NULL, &o, 1));
    CHECK(!o.ok && o.error[0]);
}

static void test_schemes(void)
{
    CHECK(sx_dl_url_ok("http://h/x") == NULL);
    CHECK(sx_dl_url_ok("HTTPS://h/x") == NULL);
    CHECK(sx_dl_url_ok("file:///x") == NULL);
    CHECK(sx_dl_url_ok("ftp://h/x") != NULL);
    CHECK(sx_dl_url_ok("gopher://h/x") != NULL);
    CHECK(sx_dl_url_ok("/etc/passwd") != NULL);
}

static void test_many(void)
{
    char url[600], sha[65];
    make_file("c.bin", 5000, url, sizeof url, sha);
    sx_dl_opts opts = sx_dl_opts_default();
    opts.jobs = 3;
    sx_dl *d = sx_dl_new(&opts);
    outcome o[20];
    int fds[20];
    memset(o, 0, sizeof o);
    for (int i = 0; i < 20; i++) {
        char out[512];
        snprintf(out, sizeof out, "%s/m-XXXXXX", dir);
        fds[i] = mkstemp(out);
        unlink(out);
        CHECK(sx_dl_add(d, url, fds[i], 5000, sha, &o[i]) == 0);
    }
    CHECK(sx_dl_pending(d) == 20);
    for (int i = 0; i < 500 && sx_dl_pending(d); i++)
        sx_dl_run(d, NULL, 0, 100, on_done, NULL);
    for (int i = 0; i < 20; i++) {
        CHECK(o[i].done && o[i].ok);
        close(fds[i]);
    }
    sx_dl_free(d);
}

static void test_free_unfinished(void)
{
    char url[600], sha[65];
    make_file("d.bin", 10, url, sizeof url, sha);
    sx_dl_opts opts = sx_dl_opts_default();
    sx_dl *d = sx_dl_new(&opts);
    int fd = open("/dev/null", O_WRONLY);
    outcome o;
    CHECK(sx_dl_add(d, url, fd, -1, NULL, &o) == 0);
    sx_dl_free(d);   /* aborts without callbacks, frees all */
    close(fd);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/sx-test-dl-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_file_url);
    RUN(test_checks);
    RUN(test_schemes);
    RUN(test_many);
    RUN(test_free_unfinished);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return UNIT_DONE();
}
