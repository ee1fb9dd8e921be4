/* Unit tests of the stream reader and writer (lib/sx_stream.h). */
#include "sx_proto.h"
#include "sx_stream.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

static char tmpl[64];

static char *write_tmp(const void *p, size_t n)
{
    strcpy(tmpl, "/tmp/sx-unit.XXXXXX");
    int fd = mkstemp(tmpl);
    if (fd < 0 || write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
    return tmpl;
}

/* Reads every record of a file into one string joined by '|'. */
static int read_all(const char *path, int flags, char *out, size_t cap, sx_reader **keep)
{
    char *paths[1] = {(char *)path};
    sx_reader *r = sx_reader_open(paths, 1, flags);
    const char *line;
    size_t len;
    int k;
    out[0] = 0;
    while ((k = sx_reader_next(r, &line, &len)) == 1) {
        if (out[0])
            strncat(out, "|", cap - strlen(out) - 1);
        strncat(out, line, len < cap - strlen(out) - 1 ? len : cap - strlen(out) - 1);
    }
    if (keep)
        *keep = r;
    else
        sx_reader_free(r);
    return k;
}

static void test_lines_crlf_bom_blank(void)
{
    const char in[] = "\xEF\xBB\xBF{\"a\":1}\r\n\n  \r\n{\"b\":2}\n{\"c\":3}";
    char *p = write_tmp(in, sizeof in - 1);
    char out[256];
    sx_reader *r;
    CHECK(read_all(p, 0, out, sizeof out, &r) == 0);
    CHECK(strcmp(out, "{\"a\":1}|{\"b\":2}|{\"c\":3}") == 0);
    CHECK(sx_reader_lineno(r) == 5);
    CHECK(!sx_reader_complete(r));
    sx_reader_free(r);
    unlink(p);
}

static void test_raw_keeps_bytes(void)
{
    const char in[] = "{\"a\":1}\r\n\n{\"sx\":\"end\",\"count\":1}\n";
    char *p = write_tmp(in, sizeof in - 1);
    char out[256];
    sx_reader *r;
    CHECK(read_all(p, SX_READ_RAW, out, sizeof out, &r) == 0);
    CHECK(strcmp(out, "{\"a\":1}\r\n|\n|{\"sx\":\"end\",\"count\":1}\n") == 0);
    CHECK(sx_reader_complete(r));
    sx_reader_free(r);
    unlink(p);
}

static void test_long_line(void)
{
    size_t n = 5u << 20;
    char *big = malloc(n + 16);
    big[0] = '{';
    big[1] = '"';
    memset(big + 2, 'x', n);
    memcpy(big + 2 + n, "\":1}\n{}\n", 8);
    char *p = write_tmp(big, n + 10);
    char *paths[1] = {p};
    sx_reader *r = sx_reader_open(paths, 1, 0);
    const char *line;
    size_t len;
    CHECK(sx_reader_next(r, &line, &len) == 1);
    CHECK(len == n + 6);
    CHECK(sx_reader_next(r, &line, &len) == 1 && len == 2);
    CHECK(sx_reader_next(r, &line, &len) == 0);
    sx_reader_free(r);
    free(big);
    unlink(p);
}

static void test_zstd_roundtrip_and_truncation(void)
{
    const char in[] = "{\"a\":1}\n{\"sx\":\"end\",\"count\":1}\n";
    size_t cap = ZSTD_compressBound(sizeof in);
    char *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, in, sizeof in - 1, 3);
    CHECK(!ZSTD_isError(zn));
    char out[256];
    sx_reader *r;
    char *p = write_tmp(z, zn);
    CHECK(read_all(p, 0, out, sizeof out, &r) == 0);
    CHECK(strcmp(out, "{\"a\":1}|{\"sx\":\"end\",\"count\":1}") == 0);
    CHECK(sx_reader_complete(r));
    sx_reader_free(r);
    unlink(p);
    p = write_tmp(z, zn - 3);
    CHECK(read_all(p, 0, out, sizeof out, &r) == -1);
    CHECK(strstr(sx_reader_error(r), "truncated") != NULL);
    sx_reader_free(r);
    unlink(p);
    z[zn / 2] ^= 0x55;
    z[zn / 2 + 1] ^= 0x55;
    p = write_tmp(z, zn);
    int k = read_all(p, 0, out, sizeof out, &r);
    CHECK(k == -1 || strcmp(out, "{\"a\":1}|{\"sx\":\"end\",\"count\":1}") != 0);
    sx_reader_free(r);
    unlink(p);
    free(z);
}

static void test_writer_zstd(void)
{
    char path[] = "/tmp/sx-unit-w.XXXXXX.zst";
    int fd = mkstemps(path, 4);
    close(fd);
    sx_writer *w = sx_writer_open(path, 0);
    CHECK(w != NULL);
    for (int i = 0; i < 100000; i++)
        CHECK(sx_writer_jv(w, sx_rec_end((uint64_t)i)) == 0);
    CHECK(sx_writer_close(w) == 0);
    char *paths[1] = {path};
    sx_reader *r = sx_reader_open(paths, 1, 0);
    const char *line;
    size_t len;
    int n = 0, k;
    while ((k = sx_reader_next(r, &line, &len)) == 1)
        n++;
    CHECK(k == 0 && n == 100000);
    CHECK(sx_reader_complete(r));
    sx_reader_free(r);
    unlink(path);
}

/* A line of exactly the bound passes; one byte more is an error, in both
 * modes, with the lines before it handed out. */
static void test_line_limit(void)
{
    const char in[] = "{\"a\":1}\n0123456789\n01234567890\n{}\n";
    char *p = write_tmp(in, sizeof in - 1);
    for (int flags = 0; flags <= SX_READ_RAW; flags += SX_READ_RAW) {
        char *paths[1] = {p};
        sx_reader *r = sx_reader_open(paths, 1, flags);
        sx_reader_set_max_line(r, 10);
        const char *line;
        size_t len;
        CHECK(sx_reader_next(r, &line, &len) == 1);
        CHECK(sx_reader_next(r, &line, &len) == 1 && memcmp(line, "0123456789", 10) == 0);
        CHECK(sx_reader_next(r, &line, &len) == -1);
        CHECK(sx_reader_lineno(r) + 1 == 3);
        CHECK(strstr(sx_reader_error(r), "line longer than 10 bytes") != NULL);
        sx_reader_free(r);
    }
    unlink(p);
}

/* 64 MiB of one line in a few KiB of zstd stops at the bound. */
static void test_zstd_bomb_bounded(void)
{
    size_t n = 64u << 20;
    char *big = malloc(n);
    memset(big, 'x', n);
    size_t cap = ZSTD_compressBound(n);
    char *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, big, n, 3);
    CHECK(!ZSTD_isError(zn) && zn < 64u << 10);
    free(big);
    char *p = write_tmp(z, zn);
    free(z);
    char *paths[1] = {p};
    sx_reader *r = sx_reader_open(paths, 1, 0);
    sx_reader_set_max_line(r, 1u << 20);
    const char *line;
    size_t len;
    CHECK(sx_reader_next(r, &line, &len) == -1);
    CHECK(strstr(sx_reader_error(r), "line longer than 1048576 bytes") != NULL);
    sx_reader_free(r);
    unlink(p);
}

static void test_max_line_from_env(void)
{
    const char in[] = "{\"a\":\"0123456789012345678901234567890123456789\"}\n";
    char *p = write_tmp(in, sizeof in - 1);
    char *paths[1] = {p};
    const char *line;
    size_t len;
    setenv("SX_MAX_LINE", "1K", 1);
    sx_reader *r = sx_reader_open(paths, 1, 0);
    CHECK(sx_reader_next(r, &line, &len) == 1);
    sx_reader_free(r);
    setenv("SX_MAX_LINE", "20", 1);
    r = sx_reader_open(paths, 1, 0);
    CHECK(sx_reader_next(r, &line, &len) == -1 && strstr(sx_reader_error(r), "longer than 20 bytes"));
    sx_reader_free(r);
    setenv("SX_MAX_LINE", "lots", 1);
    r = sx_reader_open(paths, 1, 0);
    CHECK(sx_reader_next(r, &line, &len) == -1 && strstr(sx_reader_error(r), "SX_MAX_LINE: 'lots' is not a size"));
    sx_reader_free(r);
    unsetenv("SX_MAX_LINE");
    size_t v = 0;
    CHECK(sx_parse_size("512M", &v) == 0 && v == (size_t)512 << 20);
    CHECK(sx_parse_size("0", &v) < 0 && sx_parse_size("-1", &v) < 0 && sx_parse_size("1T", &v) < 0 &&
          sx_parse_size("99999999999999999999", &v) < 0 && sx_parse_size("", &v) < 0);
    unlink(p);
}

static void test_kinds(void)
{
    CHECK(sx_proto_kind("{\"sx\":\"end\",\"count\":1}", 23) == SX_END);
    CHECK(sx_proto_kind("{\"sx\":\"file\"}", 13) == SX_FILE);
    CHECK(sx_proto_kind("{\"sx\":\"zzz\"}", 12) == SX_CTL_OTHER);
    CHECK(sx_proto_kind("{\"sx\": \"end\"}", 13) == SX_DATA);
    CHECK(sx_proto_kind("{\"id\":1}", 8) == SX_DATA);
    jv v = sx_parse_object("[1]", 3);
    CHECK(!jv_is_valid(v));
    jv m = jv_invalid_get_msg(v);
    CHECK(strstr(jv_string_value(m), "not a JSON object") != NULL);
    jv_free(m);
    v = sx_parse_object("{\"a\":", 5);
    CHECK(!jv_is_valid(v));
    jv_free(v);
}

int main(void)
{
    RUN(test_lines_crlf_bom_blank);
    RUN(test_raw_keeps_bytes);
    RUN(test_long_line);
    RUN(test_zstd_roundtrip_and_truncation);
    RUN(test_writer_zstd);
    RUN(test_line_limit);
    RUN(test_zstd_bomb_bounded);
    RUN(test_max_line_from_env);
    RUN(test_kinds);
    return UNIT_DONE();
}
