#include "sx_stream.h"
#include "sx_errbuf.h"
#include "sx_json.h"
#include "sx_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define READ_CHUNK (1u << 20)     /* bytes asked of read() or zstd at once */
#define ZIN_SIZE (128u << 10)     /* compressed bytes buffered */
#define WRITE_BUF (1u << 20)

struct sx_reader {
    char *const *paths;
    int npaths, next_path, flags;
    int fd;                      /* -1: no file open */
    const char *name;
    /* decoded bytes: [start, end) not yet handed out; scan: where to look
     * for the next '\n' (everything in [start, scan) has none) */
    char *buf;
    size_t cap, start, end, scan;
    size_t max_line;             /* longest line handed out, '\n' excluded */
    int file_eof;                /* no more decoded bytes in this file */
    uint64_t lineno;
    /* raw input ahead of decoding */
    unsigned char *zin;
    size_t zin_pos, zin_len;
    int raw_eof, is_zstd;
    size_t zret;                 /* last ZSTD_decompressStream() hint */
    int zfull;                   /* last call filled its output */
    ZSTD_DStream *zd;
    int bad_env;                 /* SX_MAX_LINE was not a size: err says so */
    /* protocol tracking */
    int last_was_end, any_record, cut;
    int any_control; /* a control record was read, in any file */
    uint64_t records;
    const char *cut_name;
    char err[256];
};

static int fail(sx_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return -1;
}

sx_reader *sx_reader_open(char *const *paths, int npaths, int flags)
{
    sx_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->paths = paths;
    r->npaths = npaths;
    r->flags = flags;
    r->fd = -1;
    r->name = "<stdin>";
    r->cap = READ_CHUNK * 2;
    r->buf = malloc(r->cap);
    r->zin = malloc(ZIN_SIZE);
    if (!r->buf || !r->zin) {
        sx_reader_free(r);
        return NULL;
    }
    r->file_eof = 1; /* forces the first file open */
    r->max_line = SX_LINE_MAX_DEFAULT;
    const char *env = getenv("SX_MAX_LINE");
    if (env && sx_parse_size(env, &r->max_line) < 0) {
        /* reported by the first sx_reader_next(): the library never prints */
        char q[120];
        fail(r, "SX_MAX_LINE: %s is not a size (bytes, or with a K, M or G suffix)",
             sx_quote(env, strlen(env), 40, q, sizeof q));
        r->bad_env = 1;
    }
    return r;
}

void sx_reader_set_max_line(sx_reader *r, size_t max)
{
    r->max_line = max ? max : 1;
    r->bad_env = 0;
}

int sx_parse_size(const char *s, size_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    }
    /* bounded well below SIZE_MAX: the buffer holds a line and a read */
    if (errno || *end || v == 0 || v > (1ull << 50) >> shift)
        return -1;
    *out = (size_t)(v << shift);
    return 0;
}

static ssize_t read_full(int fd, void *p, size_t n)
{
    for (;;) {
        ssize_t k = read(fd, p, n);
        if (k >= 0 || errno != EINTR)
            return k;
    }
}

/* Opens the next input; @return 1 opened, 0 none left, -1 error. */
static int open_next(sx_reader *r)
{
    if (r->fd > 0)
        close(r->fd);
    r->fd = -1;
    int total = r->npaths ? r->npaths : 1;
    if (r->next_path >= total)
        return 0;
    const char *p = r->npaths ? r->paths[r->next_path] : "-";
    r->next_path++;
    if (strcmp(p, "-") == 0) {
        r->fd = 0;
        r->name = "<stdin>";
    } else {
        r->name = p;
        r->fd = open(p, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0)
            return fail(r, "cannot open: %s", strerror(errno));
    }
    r->lineno = 0;
    r->start = r->end = r->scan = 0;
    r->file_eof = 0;
    r->raw_eof = 0;
    r->zin_pos = r->zin_len = 0;
    r->last_was_end = 0;
    r->any_record = 0;
    r->zret = 0;
    r->zfull = 0;
    /* sniff the magic: up to 4 bytes */
    while (r->zin_len < 4 && !r->raw_eof) {
        ssize_t k = read_full(r->fd, r->zin + r->zin_len, ZIN_SIZE - r->zin_len);
        if (k < 0)
            return fail(r, "read error: %s", strerror(errno));
        if (k == 0)
            r->raw_eof = 1;
        r->zin_len += (size_t)k;
    }
    static const unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    r->is_zstd = r->zin_len >= 4 && memcmp(r->zin, magic, 4) == 0;
    if (r->is_zstd) {
        if (!r->zd && !(r->zd = ZSTD_createDStream()))
            return fail(r, "out of memory");
        ZSTD_initDStream(r->zd);
    }
    return 1;
}

/* Decodes up to n bytes into dst. @return bytes, 0 at end of file, -1 error */
static ssize_t decode(sx_reader *r, char *dst, size_t n)
{
    if (!r->is_zstd) {
        if (r->zin_pos < r->zin_len) {
            size_t k = r->zin_len - r->zin_pos;
            if (k > n)
                k = n;
            memcpy(dst, r->zin + r->zin_pos, k);
            r->zin_pos += k;
            return (ssize_t)k;
        }
        if (r->raw_eof)
            return 0;
        ssize_t k = read_full(r->fd, dst, n);
        if (k < 0)
            return fail(r, "read error: %s", strerror(errno));
        if (k == 0)
            r->raw_eof = 1;
        return k;
    }
    for (;;) {
        if (r->zin_pos == r->zin_len && !r->raw_eof && !r->zfull) {
            ssize_t k = read_full(r->fd, r->zin, ZIN_SIZE);
            if (k < 0)
                return fail(r, "read error: %s", strerror(errno));
            r->zin_pos = 0;
            r->zin_len = (size_t)k;
            if (k == 0)
                r->raw_eof = 1;
        }
        if (r->zin_pos == r->zin_len && r->raw_eof && !r->zfull) {
            if (r->zret != 0)
                return fail(r, "truncated zstd frame");
            return 0;
        }
        ZSTD_inBuffer in = {r->zin, r->zin_len, r->zin_pos};
        ZSTD_outBuffer out = {dst, n, 0};
        size_t ret = ZSTD_decompressStream(r->zd, &out, &in);
        if (ZSTD_isError(ret))
            return fail(r, "corrupt zstd data: %s", ZSTD_getErrorName(ret));
        r->zin_pos = in.pos;
        r->zret = ret;
        r->zfull = out.pos == out.size;
        if (out.pos > 0)
            return (ssize_t)out.pos;
    }
}

/* Makes room for at least READ_CHUNK more bytes after end; the buffer
 * never grows past what a line of max_line bytes and one read need. */
static int make_room(sx_reader *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->scan -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end < READ_CHUNK) {
        size_t ncap = r->cap * 2, limit = r->max_line + READ_CHUNK + 1;
        if (ncap > limit)
            ncap = limit; /* more than cap: end <= max_line here */
        char *nb = realloc(r->buf, ncap);
        if (!nb)
            return fail(r, "out of memory (line of %zu bytes)", r->end);
        r->buf = nb;
        r->cap = ncap;
    }
    return 0;
}

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

static void note_record(sx_reader *r, const char *p, size_t n)
{
    r->any_record = 1;
    r->records++;
    sx_kind k = sx_proto_kind(p, n);
    r->last_was_end = k == SX_END;
    r->any_control |= k != SX_DATA;
}

/* At the end of a file: remember whether it was complete. */
static void end_of_file(sx_reader *r)
{
    if (r->any_record && !r->last_was_end && !r->cut) {
        r->cut = 1;
        r->cut_name = r->name;
    }
}

/* A line of more than max_line bytes: an error however long it goes on. */
static int too_long(sx_reader *r)
{
    return fail(r, "line longer than %zu bytes (the limit; SX_MAX_LINE=SIZE sets another)", r->max_line);
}

int sx_reader_next(sx_reader *r, const char **line, size_t *len)
{
    if (r->bad_env)
        return -1;
    for (;;) {
        if (r->file_eof) {
            if (r->fd >= 0 || r->next_path > 0)
                end_of_file(r);
            int k = open_next(r);
            if (k <= 0)
                return k;
        }
        char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
        size_t s = r->start, e;
        if (nl) {
            e = (size_t)(nl - r->buf) + 1;
            if (e - 1 - s > r->max_line)
                return too_long(r);
            r->start = r->scan = e;
        } else {
            if (r->end - r->start > r->max_line)
                return too_long(r);
            if (make_room(r) < 0)
                return -1;
            ssize_t k = decode(r, r->buf + r->end, r->cap - r->end);
            if (k < 0)
                return -1;
            if (k > 0) {
                r->scan = r->end;
                r->end += (size_t)k;
                continue;
            }
            r->file_eof = 1;
            if (r->start == r->end)
                continue;
            s = r->start;
            e = r->end; /* last line without '\n' */
            r->start = r->scan = r->end;
        }
        r->lineno++;
        const char *p = r->buf + s;
        size_t n = e - s;
        if (r->flags & SX_READ_RAW) {
            size_t b = 0;
            if (r->lineno == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
                b = 3;
            if (!is_blank(p + b, n - b - (p[n - 1] == '\n')))
                note_record(r, p + b, n - b);
            *line = p;
            *len = n;
            return 1;
        }
        if (n && p[n - 1] == '\n')
            n--;
        if (n && p[n - 1] == '\r')
            n--;
        if (r->lineno == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3;
            n -= 3;
        }
        if (is_blank(p, n))
            continue;
        note_record(r, p, n);
        *line = p;
        *len = n;
        return 1;
    }
}

/* The whole lines at the head of the buffer that are plain data records: a
 * line that begins with '{' but not with the control prefix. Only line
 * starts are looked at; memchr() finds the ends. @return their count. */
static uint64_t data_lines(sx_reader *r, size_t *upto)
{
    size_t s = r->start;
    uint64_t count = 0;
    while (r->end - s > SX_CTL_PREFIX_LEN && r->buf[s] == '{' &&
           memcmp(r->buf + s, SX_CTL_PREFIX, SX_CTL_PREFIX_LEN) != 0) {
        const char *nl = memchr(r->buf + s, '\n', r->end - s);
        if (!nl || (size_t)(nl - r->buf) - s > r->max_line)
            break; /* sx_reader_next() reads on, or says it is too long */
        s = (size_t)(nl - r->buf) + 1;
        count++;
    }
    *upto = s;
    return count;
}

int sx_reader_run(sx_reader *r, const char **p, size_t *n, uint64_t *records)
{
    *records = 0;
    if (!r->bad_env && !r->file_eof && (r->flags & SX_READ_RAW)) {
        size_t upto;
        uint64_t count = data_lines(r, &upto);
        if (count) {
            *p = r->buf + r->start;
            *n = upto - r->start;
            r->start = r->scan = upto;
            r->lineno += count;
            r->records += count;
            r->any_record = 1;
            r->last_was_end = 0;
            *records = count;
            return 1;
        }
    }
    int k = sx_reader_next(r, p, n);
    return k == 1 ? 2 : k;
}

const char *sx_reader_name(const sx_reader *r) { return r->name; }
uint64_t sx_reader_lineno(const sx_reader *r) { return r->lineno; }
const char *sx_reader_error(const sx_reader *r) { return r->err; }
int sx_reader_complete(const sx_reader *r) { return !r->cut; }
uint64_t sx_reader_records(const sx_reader *r) { return r->records; }
int sx_reader_saw_control(const sx_reader *r) { return r->any_control; }
size_t sx_reader_pending(const sx_reader *r) { return r->end - r->start; }

int sx_reader_wait(sx_reader *r, int timeout_ms)
{
    if (r->end > r->start || r->zin_pos < r->zin_len || r->fd < 0 || r->file_eof || r->raw_eof)
        return 1;
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    int k;
    do
        k = poll(&p, 1, timeout_ms);
    while (k < 0 && errno == EINTR);
    return k != 0;
}
const char *sx_reader_cut_name(const sx_reader *r) { return r->cut_name; }

void sx_reader_free(sx_reader *r)
{
    if (!r)
        return;
    if (r->fd > 0)
        close(r->fd);
    ZSTD_freeDStream(r->zd);
    free(r->buf);
    free(r->zin);
    free(r);
}

/* ---- writer ---- */

struct sx_writer {
    int fd, own_fd, failed, saved_errno;
    char *buf;
    size_t len;
    ZSTD_CCtx *zc;
    char *zout;
    size_t zout_cap;
    sx_buf scratch; /* text of the jv being written */
};

sx_writer *sx_writer_open(const char *path, int zstd)
{
    sx_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (!path || strcmp(path, "-") == 0) {
        w->fd = 1;
    } else {
        size_t n = strlen(path);
        if (n > 4 && strcmp(path + n - 4, ".zst") == 0)
            zstd = 1;
        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (w->fd < 0) {
            free(w);
            return NULL;
        }
        w->own_fd = 1;
    }
    w->buf = malloc(WRITE_BUF);
    if (zstd) {
        w->zc = ZSTD_createCCtx();
        w->zout_cap = ZSTD_CStreamOutSize();
        w->zout = malloc(w->zout_cap);
    }
    if (!w->buf || (zstd && (!w->zc || !w->zout))) {
        sx_writer_discard(w);
        errno = ENOMEM;
        return NULL;
    }
    return w;
}

static int write_fd(sx_writer *w, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            w->failed = 1;
            w->saved_errno = errno;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int push(sx_writer *w, const char *p, size_t n, ZSTD_EndDirective mode)
{
    if (!w->zc)
        return write_fd(w, p, n);
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {w->zout, w->zout_cap, 0};
        size_t left = ZSTD_compressStream2(w->zc, &out, &in, mode);
        if (ZSTD_isError(left)) {
            w->failed = 1;
            w->saved_errno = EIO;
            return -1;
        }
        if (write_fd(w, w->zout, out.pos) < 0)
            return -1;
        if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0)
            return 0;
    }
}

static int drain(sx_writer *w, ZSTD_EndDirective mode)
{
    if (w->failed) {
        errno = w->saved_errno;
        return -1;
    }
    int rc = push(w, w->buf, w->len, mode);
    w->len = 0;
    if (rc < 0)
        errno = w->saved_errno;
    return rc;
}

int sx_writer_write(sx_writer *w, const void *p, size_t n)
{
    if (w->failed) {
        errno = w->saved_errno;
        return -1;
    }
    if (w->len + n > WRITE_BUF || n >= WRITE_BUF / 4) {
        if (w->len && drain(w, ZSTD_e_continue) < 0)
            return -1;
        if (n >= WRITE_BUF / 4) { /* a large record or a run of lines: no copy */
            int rc = push(w, p, n, ZSTD_e_continue);
            if (rc < 0)
                errno = w->saved_errno;
            return rc;
        }
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

int sx_writer_line(sx_writer *w, const void *p, size_t n)
{
    if (sx_writer_write(w, p, n) < 0)
        return -1;
    return sx_writer_write(w, "\n", 1);
}

int sx_writer_jv(sx_writer *w, jv v)
{
    w->scratch.len = 0;
    int rc = sx_json_dump(&w->scratch, v);
    jv_free(v);
    if (rc < 0) {
        errno = ENOMEM;
        return -1;
    }
    return sx_writer_line(w, w->scratch.p, w->scratch.len);
}

int sx_writer_flush(sx_writer *w)
{
    return drain(w, ZSTD_e_flush);
}

int sx_writer_close(sx_writer *w)
{
    if (!w)
        return 0;
    int rc = drain(w, ZSTD_e_end);
    int e = errno;
    if (w->own_fd && close(w->fd) < 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    w->own_fd = 0;
    sx_writer_discard(w);
    errno = e;
    return rc;
}

void sx_writer_discard(sx_writer *w)
{
    if (!w)
        return;
    if (w->own_fd)
        close(w->fd);
    ZSTD_freeCCtx(w->zc);
    sx_buf_free(&w->scratch);
    free(w->zout);
    free(w->buf);
    free(w);
}
