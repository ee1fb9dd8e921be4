/*
 * fuzz_stream.c : the stream reader (lib/sx_stream.h), plain and zstd.
 *
 * The first two bytes choose: bit 0 the raw mode (sx-progress), bit 1 zstd
 * (the rest compressed first; without it the rest is read as it is, which
 * may itself start with the zstd magic), bits 2-7 the line bound; the
 * second byte how many times the rest is repeated (1 to 4 times, or from
 * F0 on a power of 2 up to 3 MiB, so that lines cross the reader's 1 MiB
 * reads). Properties: no line is longer
 * than the bound; in raw mode the lines put together are the input; else
 * the lines are the input's lines without their CR, BOM and blank lines;
 * the reader stops with "line longer than" exactly at the first line over
 * the bound; whether the input was complete is whether its last record is
 * an end record; a compressed input reads as the plain one.
 */
#include "fuzz.h"
#include "sx_json.h"
#include "sx_proto.h"
#include "sx_stream.h"

#include <unistd.h>
#include <zstd.h>

typedef struct {
    const char *p;
    size_t n;
} span;

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

/* What the reader must hand out from text[0..n) in the mode given, as
 * spans, the records among them and whether the last one is an end record;
 * over: the index of the first line over `max`, or -1. */
typedef struct {
    size_t lines, records;
    int ends;
    long over;
} expect;

static expect expected(const char *text, size_t n, int raw, size_t max, span *out, size_t cap)
{
    expect x = {0, 0, 0, -1};
    size_t lineno = 0;
    for (size_t s = 0; s < n && x.lines < cap;) {
        const char *nl = memchr(text + s, '\n', n - s);
        size_t e = nl ? (size_t)(nl - text) + 1 : n, body = e - s - (nl ? 1 : 0);
        lineno++;
        if (body > max) {
            x.over = (long)x.lines;
            return x;
        }
        const char *p = text + s;
        size_t l = body;
        if (!raw && l && p[l - 1] == '\r')
            l--;
        if (lineno == 1 && l >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
            p += 3, l -= 3;
        if (!blank(p, l)) {
            x.records++;
            x.ends = sx_proto_kind(p, raw ? l + (nl ? 1 : 0) : l) == SX_END;
        }
        if (raw)
            out[x.lines++] = (span){text + s, e - s};
        else if (!blank(p, l))
            out[x.lines++] = (span){p, l};
        s = e;
    }
    return x;
}

#define MAX_LINES 4096
static span want[MAX_LINES];

static void read_all(const char *path, int flags, size_t max, const char *plain, size_t plain_len, int known)
{
    char *paths[1] = {(char *)path};
    sx_reader *r = sx_reader_open(paths, 1, flags);
    if (!r)
        abort();
    sx_reader_set_max_line(r, max);
    expect x = known ? expected(plain, plain_len, flags & SX_READ_RAW, max, want, MAX_LINES) : (expect){0, 0, 0, -1};
    const char *line;
    size_t len, got = 0;
    int k;
    while ((k = sx_reader_next(r, &line, &len)) == 1) {
        FUZZ_ASSERT(len <= max + ((flags & SX_READ_RAW) ? 1 : 0), "a line of %zu bytes past the bound %zu", len, max);
        if (known && got < MAX_LINES) {
            FUZZ_ASSERT(got < x.lines, "line %zu is one too many", got + 1);
            FUZZ_ASSERT(want[got].n == len && !memcmp(want[got].p, line, len), "line %zu differs: %s", got + 1,
                        fuzz_show(line, len));
        }
        got++;
    }
    if (known && x.lines < MAX_LINES) {
        if (x.over >= 0) {
            FUZZ_ASSERT(k == -1 && got == (size_t)x.over, "the line over the bound is not refused (%d after %zu)", k,
                        got);
            FUZZ_ASSERT(strstr(sx_reader_error(r), "line longer than"), "refused with: %s", sx_reader_error(r));
        } else {
            FUZZ_ASSERT(k == 0 && got == x.lines, "%zu lines of %zu, then %d: %s", got, x.lines, k,
                        sx_reader_error(r));
            FUZZ_ASSERT(sx_reader_records(r) == x.records, "%llu records counted, %zu there",
                        (unsigned long long)sx_reader_records(r), x.records);
            FUZZ_ASSERT(sx_reader_complete(r) == (x.records == 0 || x.ends), "complete: %d", sx_reader_complete(r));
        }
    }
    sx_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (64u << 10))
        return 0;
    int flags = data[0] & 1 ? SX_READ_RAW : 0, zstd = data[0] & 2;
    static const size_t bounds[] = {1, 2, 3, 7, 16, 100, 4096, 1u << 20, (1u << 20) + 5, 3u << 20};
    size_t max = bounds[(data[0] >> 2) % (sizeof bounds / sizeof *bounds)];
    const char *rest = (const char *)data + 2;
    size_t n = size - 2, reps = data[1] >= 0xF0 ? (size_t)1 << (data[1] & 15) : (size_t)(1 + (data[1] & 3));
    if (n == 0)
        reps = 1;
    else if (n * reps > (3u << 20))
        reps = (3u << 20) / n;
    sx_buf plain = {0};
    for (size_t i = 0; i < reps; i++)
        sx_buf_put(&plain, rest, n);
    const char *text = plain.p ? plain.p : "";
    size_t len = plain.len;
    char path[64];
    int fd;
    void *z = NULL;
    if (zstd) {
        size_t cap = ZSTD_compressBound(len);
        z = malloc(cap);
        size_t zn = ZSTD_compress(z, cap, text, len, 1);
        FUZZ_ASSERT(!ZSTD_isError(zn), "zstd: %s", ZSTD_getErrorName(zn));
        fd = fuzz_memfd(z, zn, path, sizeof path);
    } else {
        fd = fuzz_memfd(text, len, path, sizeof path);
    }
    if (fd < 0)
        abort();
    /* plain bytes that start with the zstd magic are read as zstd: no
     * expectation but no crash */
    int known = zstd || len < 4 || memcmp(text, "\x28\xB5\x2F\xFD", 4) != 0;
    read_all(path, flags, max, text, len, known);
    close(fd);
    free(z);
    sx_buf_free(&plain);
    return 0;
}
