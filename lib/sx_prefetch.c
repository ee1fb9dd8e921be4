#include "sx_prefetch.h"
#include "sx_imgsize.h"
#include "sx_json.h"
#include "sx_proto.h"
#include "sx_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <jv.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A record held in the window until every record before it is written. */
enum {
    S_LINE,     /* `line`, written as it is */
    S_FLYING,   /* `rec` is an item whose file is downloading */
    S_ITEM,     /* `rec` is an item to write (as data) */
    S_CONTROL   /* `rec` is a control record to write */
};

typedef struct slot {
    int state;
    char *line;           /* S_LINE: owned */
    size_t len;
    jv rec;               /* S_FLYING, S_ITEM, S_CONTROL: owned */
    int fd;               /* S_FLYING: the spooled file */
    char name[40];        /* its name in the spool directory */
    char *file;           /* S_FLYING: the name error records give (owned) */
    sx_prefetch *p;
} slot;

struct sx_prefetch {
    const sx_prefetch_opts *o;
    int dirfd;
    sx_dl *dl;
    sx_writer *out;
    slot *ring;
    size_t cap, head, used;
    uint64_t seq;             /* spooled files named so far */
    uint64_t written, downloaded, failed;
    int seen_first;           /* a record was read: meta is settled */
    jv end_extra;             /* numeric fields of the upstream ends */
    const char *input;
    uint64_t lineno;
    sx_buf text, guard;
    int fatal;
    int closed;               /* the output's reader left (EPIPE) */
    char error[512];
    uint64_t error_line;
    volatile sig_atomic_t writing;   /* in an sx_writer call */
    volatile sig_atomic_t purged;
};

static void fail(sx_prefetch *p, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(sx_prefetch *p, uint64_t line, const char *fmt, ...)
{
    if (p->fatal)
        return;
    p->fatal = 1;
    p->error_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
}

/* ---- output ---- */

static void out_failed(sx_prefetch *p)
{
    if (errno == EPIPE)
        p->closed = 1;
    else
        fail(p, 0, "cannot write the output: %s", strerror(errno));
}

static void put_line(sx_prefetch *p, const char *line, size_t len)
{
    if (p->fatal || p->closed)
        return;
    p->writing = 1;
    int rc = sx_writer_line(p->out, line, len);
    p->writing = 0;
    if (rc < 0)
        out_failed(p);
}

/* A control record. @rec consumed */
static void put_control(sx_prefetch *p, jv rec)
{
    if (p->fatal || p->closed) {
        jv_free(rec);
        return;
    }
    p->writing = 1;
    int rc = sx_writer_jv(p->out, rec);
    p->writing = 0;
    if (rc < 0)
        out_failed(p);
}

/* An item, as data whatever its keys (sx_data_guard()). @item borrowed */
static void put_item(sx_prefetch *p, jv item)
{
    p->text.len = 0;
    if (sx_json_dump(&p->text, item) < 0) {
        fail(p, 0, "out of memory");
        return;
    }
    int g = sx_data_guard(p->text.p, p->text.len, &p->guard);
    if (g < 0 || g == 2) { /* an item has an id: never only "sx" */
        fail(p, 0, "out of memory");
        return;
    }
    const sx_buf *b = g == 1 ? &p->guard : &p->text;
    put_line(p, b->p, b->len);
}

static void flush_out(sx_prefetch *p)
{
    if (p->fatal || p->closed)
        return;
    p->writing = 1;
    int rc = sx_writer_flush(p->out);
    p->writing = 0;
    if (rc < 0)
        out_failed(p);
}

/* ---- the window ---- */

static slot *slot_at(sx_prefetch *p, size_t i) { return &p->ring[(p->head + i) % p->cap]; }

static slot *push(sx_prefetch *p, int state)
{
    slot *s = slot_at(p, p->used++);
    memset(s, 0, sizeof *s);
    s->state = state;
    s->rec = jv_invalid();
    s->fd = -1;
    s->p = p;
    return s;
}

static void slot_clear(slot *s)
{
    free(s->line);
    s->line = NULL;
    jv_free(s->rec);
    s->rec = jv_invalid();
    free(s->file);
    s->file = NULL;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* Writes the records at the head of the window that are ready. */
static void write_ready(sx_prefetch *p)
{
    while (p->used && !p->fatal && !p->closed) {
        slot *s = slot_at(p, 0);
        if (s->state == S_FLYING)
            return;
        if (s->state == S_LINE) {
            if (sx_proto_kind(s->line, s->len) == SX_DATA)
                p->written++;
            put_line(p, s->line, s->len);
        } else if (s->state == S_ITEM) {
            p->written++;
            put_item(p, s->rec);
        } else {
            put_control(p, s->rec);
            s->rec = jv_invalid();
        }
        slot_clear(s);
        p->head = (p->head + 1) % p->cap;
        p->used--;
    }
}

/* ---- items ---- */

/* The extension of a file name or URL path (".jpg"), letters and digits
 * only, or "". */
static void extension(const char *name, size_t n, char out[12])
{
    out[0] = 0;
    const char *end = name + n, *base = name;
    for (const char *q = name; q < end; q++)
        if (*q == '/')
            base = q + 1;
    const char *dot = NULL;
    for (const char *q = base; q < end; q++)
        if (*q == '.')
            dot = q;
    if (!dot || dot == base || end - dot - 1 < 1 || end - dot - 1 > 10)
        return;
    for (const char *q = dot + 1; q < end; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))
            return;
    memcpy(out, dot, (size_t)(end - dot));
    out[end - dot] = 0;
}

/* The path of a URL (after scheme and host, before ? and #). */
static void url_path(const char *url, const char **path, size_t *n)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t k = strcspn(p, "/?#");
    p += k;
    *path = p;
    *n = *p == '/' ? strcspn(p, "?#") : 0;
}

/* The name an error record gives: file_name_original, else the URL's base
 * name. @return a copy (the caller frees it), or NULL out of memory. */
static char *file_name(jv files, const char *url)
{
    const char *orig = sx_get_str(files, "file_name_original");
    if (orig && *orig)
        return strdup(orig);
    const char *path;
    size_t n;
    url_path(url, &path, &n);
    const char *base = path;
    for (size_t i = 0; i < n; i++)
        if (path[i] == '/')
            base = path + i + 1;
    return strndup(base, (size_t)(path + n - base));
}

/* files.size and files.sha256, when the item gives them validly (a backend
 * that does not is no reason to fail the item). @files borrowed */
static void wanted(jv files, int64_t *size, char sha[65])
{
    double d = sx_get_num(files, "size", -1);
    *size = d >= 0 && d <= 9007199254740992.0 && d == floor(d) ? (int64_t)d : -1;
    sha[0] = 0;
    const char *h = sx_get_str(files, "sha256");
    if (h && strlen(h) == 64 && strspn(h, "0123456789abcdefABCDEF") == 64)
        memcpy(sha, h, 65);
}

/* An error record in place of the item. @id consumed */
static jv error_record(jv id, const char *file, const char *reason, const char *why)
{
    char msg[700];
    snprintf(msg, sizeof msg, "'%s': %s", file, why);
    jv r = sx_rec("error");
    r = jv_object_set(r, jv_string("item"), id);
    r = jv_object_set(r, jv_string("stage"), jv_string("sx-download"));
    r = jv_object_set(r, jv_string("category"), jv_string("original_file"));
    r = jv_object_set(r, jv_string("file"), jv_string(file));
    r = jv_object_set(r, jv_string("reason"), jv_string(reason));
    return jv_object_set(r, jv_string("message"), jv_string(msg));
}

static int positive(jv files, const char *key)
{
    return sx_get_num(files, key, 0) > 0;
}

static void on_done(void *ud, const sx_dl_result *r)
{
    sx_prefetch *p = ud;
    slot *s = r->user;
    if (r->disk_errno) {
        fail(p, 0, "cannot write '%s/%s': %s", p->o->spool, s->name, strerror(r->disk_errno));
        return;
    }
    jv id = jv_object_get(jv_copy(s->rec), jv_string("id"));
    if (!r->ok) {
        close(s->fd);
        s->fd = -1;
        unlinkat(p->dirfd, s->name, 0);
        p->failed++;
        jv e = error_record(id, s->file, "download failed", r->error);
        slot_clear(s);
        s->rec = e;
        s->state = S_CONTROL;
        return;
    }
    jv_free(id);
    jv files = jv_object_get(jv_copy(s->rec), jv_string("files"));
    unsigned w, h;
    if ((!positive(files, "width") || !positive(files, "height")) && sx_imgsize_fd(s->fd, &w, &h) == 0) {
        files = jv_object_set(files, jv_string("width"), jv_number(w));
        files = jv_object_set(files, jv_string("height"), jv_number(h));
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", p->o->spool, s->name);
    files = jv_object_set(files, jv_string("path"), jv_string(path));
    s->rec = jv_object_set(s->rec, jv_string("files"), files);
    close(s->fd);
    s->fd = -1;
    p->downloaded++;
    s->state = S_ITEM;
}

/* Starts the download of an item into a new file of the spool.
 * @item consumed; @files, @url borrowed (live in item) */
static void start_download(sx_prefetch *p, jv item, jv files, const char *url)
{
    slot *s = push(p, S_FLYING);
    s->rec = item;
    s->file = file_name(files, url);
    if (!s->file) {
        fail(p, p->lineno, "out of memory");
        return;
    }
    char ext[12];
    const char *orig = sx_get_str(files, "file_name_original");
    if (orig)
        extension(orig, strlen(orig), ext);
    if (!orig || !ext[0]) {
        const char *path;
        size_t n;
        url_path(url, &path, &n);
        extension(path, n, ext);
    }
    snprintf(s->name, sizeof s->name, "%llu%s", (unsigned long long)++p->seq, ext);
    s->fd = openat(p->dirfd, s->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        fail(p, p->lineno, "cannot create '%s/%s': %s", p->o->spool, s->name, strerror(errno));
        return;
    }
    int64_t size;
    char sha[65];
    wanted(files, &size, sha);
    if (sx_dl_add(p->dl, url, s->fd, size, sha[0] ? sha : NULL, s) < 0)
        fail(p, p->lineno, "out of memory");
}

/* A data record. @line owned */
static void on_data(sx_prefetch *p, char *line, size_t len)
{
    jv v = sx_parse_object(line, len);
    if (!jv_is_valid(v)) {
        jv m = jv_invalid_get_msg(v);
        const char *msg = jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "invalid JSON";
        if (!strncmp(msg, "not a JSON object", 17)) {
            slot *s = push(p, S_LINE); /* JSON, but not an item: not ours to judge */
            s->line = line, s->len = len;
        } else if (p->o->keep_going) {
            char full[1200];
            snprintf(full, sizeof full, "%s:%llu: %s", p->input, (unsigned long long)p->lineno, msg);
            push(p, S_CONTROL)->rec = sx_rec_error(jv_null(), "sx-download", full);
            free(line);
        } else {
            fail(p, p->lineno, "%s", msg);
            free(line);
        }
        jv_free(m);
        return;
    }
    jv id = jv_object_get(jv_copy(v), jv_string("id"));
    jv data = jv_object_get(jv_copy(v), jv_string("data"));
    jv files = jv_object_get(jv_copy(v), jv_string("files"));
    jv url = jv_get_kind(files) == JV_KIND_OBJECT ? jv_object_get(jv_copy(files), jv_string("url")) : jv_invalid();
    int item = jv_is_valid(id) && jv_get_kind(id) != JV_KIND_NULL;
    int has_data = jv_is_valid(data) && jv_get_kind(data) != JV_KIND_NULL;
    if (!item || !has_data || jv_get_kind(url) != JV_KIND_STRING) {
        slot *s = push(p, S_LINE);
        s->line = line, s->len = len;
        jv_free(v);
    } else {
        free(line);
        const char *why = sx_dl_url_ok(jv_string_value(url));
        if (why) {
            char *name = file_name(files, jv_string_value(url));
            p->failed++;
            push(p, S_CONTROL)->rec = error_record(jv_copy(id), name ? name : "", "url refused", why);
            free(name);
            jv_free(v);
        } else {
            start_download(p, v, files, jv_string_value(url));
        }
    }
    jv_free(id);
    jv_free(data);
    jv_free(files);
    jv_free(url);
}

/* Numeric fields of an upstream end, other than count, summed over every
 * end read (inputs one after the other). @rec borrowed */
static void keep_end_fields(sx_prefetch *p, jv rec)
{
    jv_object_foreach(rec, k, v) {
        const char *key = jv_string_value(k);
        if (jv_get_kind(v) == JV_KIND_NUMBER && strcmp(key, "sx") && strcmp(key, "count")) {
            double had = sx_get_num(p->end_extra, key, 0);
            p->end_extra = jv_object_set(p->end_extra, jv_copy(k), jv_number(had + jv_number_value(v)));
        }
        jv_free(k);
        jv_free(v);
    }
}

static jv spool_meta(sx_prefetch *p, jv meta)
{
    return jv_object_set(meta, jv_string("spool"), jv_string(p->o->spool));
}

/* One input line. @line owned */
static void on_line(sx_prefetch *p, char *line, size_t len)
{
    sx_kind k = sx_proto_kind(line, len);
    if (!p->seen_first) {
        p->seen_first = 1;
        if (k != SX_META)
            push(p, S_CONTROL)->rec = spool_meta(p, sx_rec("meta"));
    }
    if (k == SX_DATA) {
        on_data(p, line, len);
        return;
    }
    if (k == SX_META || k == SX_END) {
        jv rec = sx_parse_object(line, len);
        free(line);
        if (!jv_is_valid(rec)) {
            jv m = jv_invalid_get_msg(rec);
            fail(p, p->lineno, "bad %s record: %s", k == SX_META ? "meta" : "end",
                 jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "invalid JSON");
            jv_free(m);
            return;
        }
        if (k == SX_META) {
            push(p, S_CONTROL)->rec = spool_meta(p, rec);
        } else {
            keep_end_fields(p, rec);
            jv_free(rec);
        }
        return;
    }
    slot *s = push(p, S_LINE);
    s->line = line, s->len = len;
}

/* ---- the run ---- */

sx_prefetch *sx_prefetch_new(const sx_prefetch_opts *o, char *err, size_t errlen)
{
    sx_prefetch *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->o = o;
    p->dirfd = -1;
    p->end_extra = jv_object();
    p->cap = (size_t)(o->window > 0 ? o->window : 1) + 1; /* + the meta sx-download adds */
    p->ring = calloc(p->cap, sizeof *p->ring);
    if (!p->ring) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < p->cap; i++) {
        p->ring[i].rec = jv_invalid();
        p->ring[i].fd = -1;
    }
    p->dirfd = open(o->spool, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (p->dirfd < 0) {
        snprintf(err, errlen, "cannot open the spool directory '%s': %s", o->spool, strerror(errno));
        goto fail;
    }
    if (!(p->dl = sx_dl_new(&o->dl))) {
        snprintf(err, errlen, "cannot start libcurl");
        goto fail;
    }
    return p;
fail:
    sx_prefetch_free(p);
    return NULL;
}

/* Removes the spool directory and every file in it with system calls only
 * (async-signal-safe: no malloc, no stdio). */
static void purge(sx_prefetch *p)
{
    if (p->purged)
        return;
    p->purged = 1;
    int fd = open(p->o->spool, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        static char buf[8192] __attribute__((aligned(8)));
        for (int pass = 0; pass < 2; pass++) { /* again: names removed move the rest */
            long n;
            lseek(fd, 0, SEEK_SET);
            while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
                for (long off = 0; off < n;) {
                    /* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
                    unsigned short reclen;
                    memcpy(&reclen, buf + off + 16, sizeof reclen);
                    const char *name = buf + off + 19;
                    if (strcmp(name, ".") && strcmp(name, ".."))
                        unlinkat(fd, name, 0);
                    off += reclen;
                }
            }
        }
        close(fd);
    }
    rmdir(p->o->spool);
}

int sx_prefetch_interrupt(sx_prefetch *p)
{
    if (!p || !p->writing)
        return 0;
    purge(p);
    return 1;
}

/* Aborts the downloads, closes their files, empties the window. */
static void drop_all(sx_prefetch *p)
{
    sx_dl_free(p->dl);
    p->dl = NULL;
    while (p->used) {
        slot_clear(slot_at(p, 0));
        p->head = (p->head + 1) % p->cap;
        p->used--;
    }
}

static void take_lines(sx_prefetch *p, sx_feed *feed, volatile sig_atomic_t *stop, int *eof)
{
    /* room for the line and for the meta the first one may bring */
    while (!*eof && !p->fatal && p->used + 2 <= p->cap && !(stop && *stop)) {
        sx_feed_line l;
        int r = sx_feed_next(feed, &l);
        if (r == 0)
            return;
        if (r < 0) {
            *eof = 1;
            return;
        }
        p->lineno = l.lineno;
        on_line(p, l.line, l.len);
    }
}

sx_prefetch_status sx_prefetch_run(sx_prefetch *p, sx_feed *feed, sx_reader *r, sx_writer *out,
                                   volatile sig_atomic_t *stop, const char *input)
{
    p->out = out;
    p->input = input;
    int eof = 0;
    for (;;) {
        take_lines(p, feed, stop, &eof);
        write_ready(p);
        if (p->fatal || p->closed || (stop && *stop))
            break;
        if (eof && !p->used)
            break;
        flush_out(p); /* before waiting: downstream sees what is done */
        int wake = !eof && p->used + 2 <= p->cap ? sx_feed_fd(feed) : -1;
        if (sx_dl_run(p->dl, &wake, 1, 1000, on_done, p) < 0)
            fail(p, 0, "libcurl failed");
        write_ready(p);
    }
    sx_prefetch_status st = SX_PREFETCH_FAILED;
    if (stop && *stop) {
        st = SX_PREFETCH_STOPPED;
    } else if (p->closed) {
        st = SX_PREFETCH_CLOSED;
    } else if (!p->fatal) {
        if (sx_feed_failed(feed)) {
            fail(p, sx_feed_lineno(feed), "%s", sx_feed_error(feed));
        } else if (!sx_reader_records(r)) {
            st = SX_PREFETCH_EMPTY;
        } else if (!sx_reader_complete(r)) {
            if (sx_reader_saw_control(r))
                fail(p, 0, "%s: input ended without an end record: the upstream was cut short",
                     sx_reader_cut_name(r));
            else
                fail(p, 0, "%s: " SX_PLAIN_ITEMS_HINT "; sx-download needs an sx stream (sx-fetch's), complete "
                     "with its end record", sx_reader_cut_name(r));
        } else {
            jv end = sx_rec_end(p->written);
            jv_object_foreach(p->end_extra, k, v) end = jv_object_set(end, k, v);
            put_control(p, end);
            flush_out(p);
            if (!p->fatal && !p->closed)
                return SX_PREFETCH_DONE;
            st = p->closed ? SX_PREFETCH_CLOSED : SX_PREFETCH_FAILED;
        }
    }
    drop_all(p);
    purge(p);
    return st;
}

const char *sx_prefetch_error(const sx_prefetch *p) { return p->error; }

uint64_t sx_prefetch_error_line(const sx_prefetch *p) { return p->error_line; }

void sx_prefetch_counts(const sx_prefetch *p, uint64_t *written, uint64_t *downloaded, uint64_t *failed)
{
    *written = p->written;
    *downloaded = p->downloaded;
    *failed = p->failed;
}

void sx_prefetch_free(sx_prefetch *p)
{
    if (!p)
        return;
    if (p->ring)
        drop_all(p);
    sx_dl_free(p->dl);
    free(p->ring);
    if (p->dirfd >= 0)
        close(p->dirfd);
    jv_free(p->end_extra);
    sx_buf_free(&p->text);
    sx_buf_free(&p->guard);
    free(p);
}
