#include "sx_convert.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sx_fmt.h"
#include "sx_imgsize.h"
#include "sx_proto.h"
#include "sx_spool.h"

#define CHUNK (1 << 20)
#define BLOOM_BITS (1ULL << 26) /* 8 MiB */
#define BLOOM_K 6
#define NAME_MAX_BYTES 200

/* ---- image modes and splits ---- */

int sx_img_mode_parse(const char *s, sx_img_mode *m)
{
    static const char *const names[] = {"auto", "url", "copy", "link", "none"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *m = (sx_img_mode)i;
            return 0;
        }
    return -1;
}

#define MAX_SPLITS 16

struct sx_split {
    int n;
    char *name[MAX_SPLITS];
    double cum[MAX_SPLITS];
    uint64_t seed;
};

int sx_split_name_ok(const char *s)
{
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    return 1;
}

void sx_split_free(sx_split *sp)
{
    if (!sp)
        return;
    for (int i = 0; i < sp->n; i++)
        free(sp->name[i]);
    free(sp);
}

sx_split *sx_split_parse(const char *spec, uint64_t seed, char *err, size_t errlen)
{
    sx_split *sp = calloc(1, sizeof *sp);
    char *copy = strdup(spec);
    if (!sp || !copy) {
        snprintf(err, errlen, "out of memory");
        goto bad;
    }
    sp->seed = seed;
    double sum = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            snprintf(err, errlen, "'%s' is not NAME=WEIGHT", tok);
            goto bad;
        }
        *eq = 0;
        char *end;
        errno = 0;
        double wgt = strtod(eq + 1, &end);
        if (!sx_split_name_ok(tok)) {
            snprintf(err, errlen, "'%s' is not a split name ([A-Za-z0-9_.-])", tok);
            goto bad;
        }
        if (end == eq + 1 || *end || errno || !(wgt > 0) || !isfinite(wgt)) {
            snprintf(err, errlen, "'%s' is not a positive weight", eq + 1);
            goto bad;
        }
        for (int i = 0; i < sp->n; i++)
            if (strcmp(sp->name[i], tok) == 0) {
                snprintf(err, errlen, "split '%s' given twice", tok);
                goto bad;
            }
        if (sp->n == MAX_SPLITS) {
            snprintf(err, errlen, "more than %d splits", MAX_SPLITS);
            goto bad;
        }
        sp->name[sp->n] = strdup(tok);
        sum += wgt;
        sp->cum[sp->n++] = sum;
    }
    if (sp->n == 0) {
        snprintf(err, errlen, "no split given");
        goto bad;
    }
    for (int i = 0; i < sp->n; i++)
        sp->cum[i] /= sum;
    free(copy);
    return sp;
bad:
    free(copy);
    sx_split_free(sp);
    return NULL;
}

int sx_split_count(const sx_split *sp) { return sp ? sp->n : 0; }
const char *sx_split_name(const sx_split *sp, int i) { return sp->name[i]; }

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

const char *sx_split_pick(const sx_split *sp, const char *key, size_t len)
{
    uint64_t h = mix64(fnv(1469598103934665603ULL ^ mix64(sp->seed), key, len));
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
    for (int i = 0; i < sp->n - 1; i++)
        if (u < sp->cum[i])
            return sp->name[i];
    return sp->name[sp->n - 1];
}

/* ---- the driver ---- */

struct sx_conv {
    sx_conv_opts o;
    sx_conv_ops ops;
    sx_writer *w;
    sx_dm *dm;
    sx_strbuf rec, name, path, idjson;
    unsigned char *bloom;
    uint64_t total, items, ok, failed, bad_lines, files, ann_kept, ann_dropped, step;
    jv cur_id;                /* borrowed id of the item being converted */
    char msg[1024];
    const char *where;
    uint64_t line;
    int fatal, werr;
    sx_textout *open_text;    /* the one big file being written, if any */
};

static void fkeys_init(void);

struct sx_textout {
    sx_conv *cv;
    char *path;
    const char *category;
    sx_strbuf buf;
    int chunks;
    sx_spool *spool;          /* move mode */
};

sx_conv *sx_conv_new(const sx_conv_opts *o, const sx_conv_ops *ops, sx_writer *w)
{
    sx_conv *cv = calloc(1, sizeof *cv);
    if (!cv)
        return NULL;
    cv->o = *o;
    if (!cv->o.images_dir)
        cv->o.images_dir = "images";
    if (!cv->o.stage)
        cv->o.stage = "sx-convert";
    cv->ops = *ops;
    cv->w = w;
    cv->dm = sx_dm_new();
    cv->bloom = calloc(BLOOM_BITS / 8, 1);
    cv->cur_id = jv_null();
    fkeys_init();
    if (!cv->dm || !cv->bloom) {
        sx_conv_free(cv);
        return NULL;
    }
    return cv;
}

static void textout_free(sx_textout *t)
{
    if (!t)
        return;
    if (t->cv && t->cv->open_text == t)
        t->cv->open_text = NULL;
    sx_spool_free(t->spool);
    sx_sb_free(&t->buf);
    free(t->path);
    free(t);
}

void sx_conv_free(sx_conv *cv)
{
    if (!cv)
        return;
    textout_free(cv->open_text);
    sx_dm_free(cv->dm);
    sx_sb_free(&cv->rec);
    sx_sb_free(&cv->name);
    sx_sb_free(&cv->path);
    sx_sb_free(&cv->idjson);
    free(cv->bloom);
    free(cv);
}

const char *sx_conv_error(const sx_conv *cv, const char **where, uint64_t *line)
{
    *where = cv->where;
    *line = cv->line;
    return cv->msg;
}

uint64_t sx_conv_total(const sx_conv *cv) { return cv->total; }

int sx_conv_item_fail(sx_conv *cv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cv->msg, sizeof cv->msg, fmt, ap);
    va_end(ap);
    return 1;
}

int sx_conv_fatal(sx_conv *cv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cv->msg, sizeof cv->msg, fmt, ap);
    va_end(ap);
    cv->where = NULL;
    cv->fatal = 1;
    return -1;
}

void sx_conv_annotations(sx_conv *cv, uint64_t kept, uint64_t dropped)
{
    cv->ann_kept += kept;
    cv->ann_dropped += dropped;
}

/* Writes the record in cv->rec. */
static int emit(sx_conv *cv)
{
    if (cv->rec.failed) {
        errno = ENOMEM;
        return sx_conv_fatal(cv, "out of memory");
    }
    if (sx_writer_line(cv->w, cv->rec.p, cv->rec.len) < 0) {
        cv->werr = 1;
        return -1;
    }
    return 0;
}

static int emit_jv(sx_conv *cv, jv v)
{
    if (sx_writer_jv(cv->w, v) < 0) {
        cv->werr = 1;
        return -1;
    }
    return 0;
}

/* A JSON value, numbers and strings without going through jv_dump. */
static void put_json(sx_strbuf *b, jv v)
{
    if (jv_get_kind(v) == JV_KIND_STRING) {
        sx_sb_json_str(b, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
    } else if (jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) == floor(jv_number_value(v)) &&
               fabs(jv_number_value(v)) < 1e15) {
        sx_sb_i64(b, (long long)jv_number_value(v));
    } else if (jv_is_valid(v)) {
        jv s = jv_dump_string(jv_copy(v), 0);
        sx_sb_puts(b, jv_string_value(s));
        jv_free(s);
    } else {
        sx_sb_puts(b, "null");
    }
}

static int error_record(sx_conv *cv, jv id, const char *msg)
{
    sx_strbuf *b = &cv->rec;
    sx_sb_reset(b);
    sx_sb_puts(b, "{\"sx\":\"error\",\"item\":");
    put_json(b, id);
    sx_sb_puts(b, ",\"stage\":");
    sx_sb_json_cstr(b, cv->o.stage);
    sx_sb_puts(b, ",\"message\":");
    sx_sb_json_cstr(b, msg);
    sx_sb_putc(b, '}');
    return emit(cv);
}

int sx_conv_item_warn(sx_conv *cv, const char *fmt, ...)
{
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return error_record(cv, cv->cur_id, m);
}

/* The head of a file record, up to the content key. */
static void file_head(sx_conv *cv, const char *path, const char *item, const char *category)
{
    sx_strbuf *b = &cv->rec;
    sx_sb_reset(b);
    sx_sb_puts(b, "{\"sx\":\"file\",\"path\":");
    sx_sb_json_cstr(b, path);
    if (item) {
        sx_sb_puts(b, ",\"item\":");
        sx_sb_puts(b, item);
    }
    if (category) {
        sx_sb_puts(b, ",\"category\":");
        sx_sb_json_cstr(b, category);
    }
}

/* Longest prefix of p[0,n) not longer than max that ends on a UTF-8 boundary. */
static size_t utf8_cut(const char *p, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)p[k] & 0xC0) == 0x80)
        k--;
    return k ? k : max;
}

static int text_chunk(sx_conv *cv, const char *path, const char *item, const char *category, const char *p, size_t n,
                      int append)
{
    file_head(cv, path, item, category);
    sx_sb_puts(&cv->rec, ",\"text\":");
    sx_sb_json_str(&cv->rec, p, n);
    if (append)
        sx_sb_puts(&cv->rec, ",\"append\":true");
    sx_sb_putc(&cv->rec, '}');
    if (!append)
        cv->files++;
    return emit(cv);
}

int sx_conv_file_text(sx_conv *cv, const char *path, const char *item, const char *category, const char *p, size_t n)
{
    size_t off = 0;
    int first = 1;
    do {
        size_t k = utf8_cut(p + off, n - off, CHUNK);
        if (text_chunk(cv, path, item, category, p + off, k, !first) < 0)
            return -1;
        off += k;
        first = 0;
    } while (off < n);
    return 0;
}

sx_textout *sx_conv_text_begin(sx_conv *cv, const char *path, const char *category)
{
    sx_textout *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        sx_conv_fatal(cv, "out of memory");
        return NULL;
    }
    t->cv = cv;
    t->category = category;
    if (cv->o.move) {
        t->spool = sx_spool_new_named();
        if (!t->spool) {
            sx_conv_fatal(cv, "cannot create a temporary file: %s", strerror(errno));
            textout_free(t);
            return NULL;
        }
    }
    cv->open_text = t;
    return t;
}

static int textout_flush(sx_textout *t, int last)
{
    sx_conv *cv = t->cv;
    size_t off = 0;
    while (t->buf.len - off >= CHUNK || (last && (off < t->buf.len || t->chunks == 0))) {
        size_t k = utf8_cut(t->buf.p + off, t->buf.len - off, CHUNK);
        if (text_chunk(cv, t->path, NULL, t->category, t->buf.p + off, k, t->chunks > 0) < 0)
            return -1;
        t->chunks++;
        off += k;
    }
    memmove(t->buf.p, t->buf.p + off, t->buf.len - off);
    t->buf.len -= off;
    return 0;
}

int sx_textout_put(sx_textout *t, const void *p, size_t n)
{
    if (t->spool) {
        if (sx_spool_write(t->spool, p, n) < 0)
            return sx_conv_fatal(t->cv, "cannot write a temporary file: %s", strerror(errno));
        return 0;
    }
    sx_sb_put(&t->buf, p, n);
    if (t->buf.failed)
        return sx_conv_fatal(t->cv, "out of memory");
    return t->buf.len >= 2 * CHUNK ? textout_flush(t, 0) : 0;
}

void sx_textout_abort(sx_textout *t) { textout_free(t); }

int sx_textout_end(sx_textout *t)
{
    sx_conv *cv = t->cv;
    int rc = 0;
    if (t->spool) {
        if (sx_spool_finish(t->spool) < 0) {
            rc = sx_conv_fatal(cv, "cannot write a temporary file: %s", strerror(errno));
        } else {
            file_head(cv, t->path, NULL, t->category);
            sx_sb_puts(&cv->rec, ",\"src\":");
            sx_sb_json_cstr(&cv->rec, sx_spool_path(t->spool));
            sx_sb_puts(&cv->rec, ",\"move\":true,\"size\":");
            sx_sb_u64(&cv->rec, sx_spool_size(t->spool));
            sx_sb_putc(&cv->rec, '}');
            cv->files++;
            rc = emit(cv);
            if (rc == 0)
                sx_spool_keep(t->spool);
        }
    } else {
        rc = textout_flush(t, 1);
    }
    textout_free(t);
    return rc;
}

/* ---- field access with keys made once (no allocation per lookup) ---- */

enum { F_ID, F_DATA, F_FILES, F_SPLIT, F_URL, F_PATH, F_NAME, F_WIDTH, F_HEIGHT, F_SIZE, F_SHA, F_N };
static const char *const fnames[F_N] = {"id", "data", "files", "split", "url", "path", "file_name_original",
                                        "width", "height", "size", "sha256"};
static jv fkeys[F_N];

static void fkeys_init(void)
{
    if (jv_is_valid(fkeys[0]) && jv_get_kind(fkeys[0]) == JV_KIND_STRING)
        return;
    for (int i = 0; i < F_N; i++)
        fkeys[i] = jv_string(fnames[i]);
}

/* A borrowed field: invalid when absent or obj is not an object. */
static jv fget(jv obj, int k)
{
    if (jv_get_kind(obj) != JV_KIND_OBJECT)
        return jv_invalid();
    jv v = jv_object_get(jv_copy(obj), jv_copy(fkeys[k]));
    jv_free(v); /* obj keeps it alive */
    return v;
}

static const char *fstr(jv obj, int k)
{
    jv v = fget(obj, k);
    return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
}

static double fnum(jv obj, int k, double dflt)
{
    jv v = fget(obj, k);
    return jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : dflt;
}

/* ---- names ---- */

static uint64_t bloom_hash(const char *split, const char *stem, size_t n, uint64_t *h2)
{
    uint64_t h = fnv(1469598103934665603ULL, split, strlen(split) + 1);
    uint64_t g = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tolower((unsigned char)stem[i]);
        h = (h ^ c) * 1099511628211ULL;
        g = (g ^ c) * 0x100000001b3ULL + 0x7f4a7c15;
    }
    *h2 = mix64(g) | 1;
    return mix64(h);
}

static int bloom_test(const sx_conv *cv, const char *split, const char *stem, size_t n)
{
    uint64_t h2, h = bloom_hash(split, stem, n, &h2);
    for (int i = 0; i < BLOOM_K; i++) {
        uint64_t bit = (h + (uint64_t)i * h2) & (BLOOM_BITS - 1);
        if (!(cv->bloom[bit >> 3] & (1u << (bit & 7))))
            return 0;
    }
    return 1;
}

static void bloom_add(sx_conv *cv, const char *split, const char *stem, size_t n)
{
    uint64_t h2, h = bloom_hash(split, stem, n, &h2);
    for (int i = 0; i < BLOOM_K; i++) {
        uint64_t bit = (h + (uint64_t)i * h2) & (BLOOM_BITS - 1);
        cv->bloom[bit >> 3] |= (unsigned char)(1u << (bit & 7));
    }
}

/* The base name of a path or URL (query and fragment dropped). */
static void base_name(const char *s, const char **p, size_t *n)
{
    size_t len = strcspn(s, "?#");
    const char *e = s + len, *b = s;
    for (const char *q = s; q < e; q++)
        if (*q == '/' || *q == '\\')
            b = q + 1;
    *p = b;
    *n = (size_t)(e - b);
}

/* Appends a file-name-safe form of s[0,n): '/', '\\', control characters
 * and a leading '.' replaced by '_'. */
static void put_safe(sx_strbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n && i < NAME_MAX_BYTES; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || (i == 0 && c == '.'))
            c = '_';
        sx_sb_putc(b, (char)c);
    }
}

/* Chooses the item's image name into cv->name; sets *stem_len. */
static void choose_name(sx_conv *cv, jv files, const char *split, const char *idtext, size_t *stem_len)
{
    const char *src = fstr(files, F_NAME);
    if (!src || !*src)
        src = fstr(files, F_PATH);
    if (!src || !*src)
        src = fstr(files, F_URL);
    const char *p = idtext;
    size_t n = strlen(idtext);
    if (src) {
        base_name(src, &p, &n);
        if (n == 0 || (n == 1 && *p == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            p = idtext, n = strlen(idtext);
    }
    sx_strbuf base = SX_SB_INIT;
    put_safe(&base, p, n);
    const char *dot = base.p ? strrchr(base.p, '.') : NULL;
    size_t sl = dot && dot != base.p ? (size_t)(dot - base.p) : base.len;
    const char *ext = base.p ? base.p + sl : "";
    sx_strbuf *nm = &cv->name;
    sx_sb_reset(nm);
    sx_sb_put(nm, base.p, sl);
    for (int k = 0; bloom_test(cv, split, nm->p, nm->len); k++) {
        sx_sb_reset(nm);
        sx_sb_put(nm, base.p, sl);
        sx_sb_putc(nm, '_');
        put_safe(nm, idtext, strlen(idtext));
        if (k > 0)
            sx_sb_printf(nm, "_%d", k);
    }
    *stem_len = nm->len;
    sx_sb_puts(nm, ext);
    sx_sb_free(&base);
}

void sx_conv_image_path(const sx_conv *cv, const sx_conv_item *it, sx_strbuf *b)
{
    if (cv->o.images_in_split && *it->split) {
        sx_sb_puts(b, it->split);
        sx_sb_putc(b, '/');
    }
    sx_sb_puts(b, cv->o.images_dir);
    sx_sb_putc(b, '/');
    if (!cv->o.images_in_split && *it->split) {
        sx_sb_puts(b, it->split);
        sx_sb_putc(b, '/');
    }
    sx_sb_puts(b, it->name);
}

/* The absolute form of a local path into b. */
static void abs_path(const char *p, sx_strbuf *b)
{
    char *r = realpath(p, NULL);
    if (r) {
        sx_sb_puts(b, r);
        free(r);
        return;
    }
    if (*p != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) {
            sx_sb_puts(b, cwd);
            sx_sb_putc(b, '/');
        }
    }
    sx_sb_puts(b, p);
}

static int image_record(sx_conv *cv, const sx_conv_item *it)
{
    if (cv->o.images == SX_IMG_NONE)
        return 0;
    const char *url = fstr(it->files, F_URL);
    const char *local = fstr(it->files, F_PATH);
    if (!url && !local)
        return 0;
    sx_img_mode m = cv->o.images;
    int use_url = url && (!local || m == SX_IMG_AUTO || m == SX_IMG_URL);
    sx_sb_reset(&cv->path);
    sx_conv_image_path(cv, it, &cv->path);
    file_head(cv, cv->path.p, it->idjson, "original_file");
    if (use_url) {
        sx_sb_puts(&cv->rec, ",\"url\":");
        sx_sb_json_cstr(&cv->rec, url);
    } else {
        sx_strbuf ap = SX_SB_INIT;
        abs_path(local, &ap);
        sx_sb_puts(&cv->rec, ",\"src\":");
        sx_sb_json_str(&cv->rec, ap.p, ap.len);
        sx_sb_free(&ap);
        if (m == SX_IMG_LINK || m == SX_IMG_AUTO)
            sx_sb_puts(&cv->rec, ",\"link\":true");
    }
    double size = fnum(it->files, F_SIZE, -1);
    if (size >= 0 && size == floor(size)) {
        sx_sb_puts(&cv->rec, ",\"size\":");
        sx_sb_u64(&cv->rec, (unsigned long long)size);
    }
    const char *sha = fstr(it->files, F_SHA);
    if (sha) {
        sx_sb_puts(&cv->rec, ",\"sha256\":");
        sx_sb_json_cstr(&cv->rec, sha);
    }
    sx_sb_putc(&cv->rec, '}');
    cv->files++;
    return emit(cv);
}

/* ---- items ---- */

static int positive(jv obj, int k, double *out)
{
    double d = fnum(obj, k, NAN);
    if (!isfinite(d))
        return 0;
    *out = d;
    return 1;
}

/* @return 0 converted, 1 failed (cv->msg), -1 fatal */
static int convert_item(sx_conv *cv, jv rec)
{
    sx_conv_item it = {.rec = rec, .split = ""};
    char idtext[64];
    it.id = fget(rec, F_ID);
    if (!jv_is_valid(it.id))
        it.id = jv_null();
    cv->cur_id = it.id;
    if (jv_get_kind(it.id) == JV_KIND_NULL)
        return sx_conv_item_fail(cv, "not an item (no id)");
    jv data = fget(rec, F_DATA);
    if (!jv_is_valid(data))
        return sx_conv_item_fail(cv, "not an item (no data)");
    it.data = data;
    if (jv_get_kind(data) == JV_KIND_NULL)
        return sx_conv_item_fail(cv, "data is Null");
    jv files = fget(rec, F_FILES);
    it.files = jv_is_valid(files) ? files : jv_null();
    if (jv_get_kind(it.id) == JV_KIND_STRING)
        snprintf(idtext, sizeof idtext, "%s", jv_string_value(it.id));
    else if (jv_get_kind(it.id) == JV_KIND_NUMBER && jv_number_value(it.id) == floor(jv_number_value(it.id)) &&
             fabs(jv_number_value(it.id)) < 1e15) {
        long long v = (long long)jv_number_value(it.id);
        char tmp[24];
        int i = sizeof tmp, neg = v < 0;
        unsigned long long u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        tmp[--i] = 0;
        do {
            tmp[--i] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (neg)
            tmp[--i] = '-';
        memcpy(idtext, tmp + i, sizeof tmp - (size_t)i);
    } else if (jv_get_kind(it.id) == JV_KIND_NUMBER)
        snprintf(idtext, sizeof idtext, "%.17g", jv_number_value(it.id));
    else
        return sx_conv_item_fail(cv, "not an item (id is %s)", jv_kind_name(jv_get_kind(it.id)));
    it.idtext = idtext;

    if (cv->o.split) {
        it.split = sx_split_pick(cv->o.split, idtext, strlen(idtext));
    } else {
        const char *s = fstr(rec, F_SPLIT);
        if (s && *s) {
            if (!sx_split_name_ok(s))
                return sx_conv_item_fail(cv, "split '%s' is not a safe directory name", s);
            it.split = s;
        }
    }
    double w = 0, h = 0;
    int have = positive(it.files, F_WIDTH, &w) && positive(it.files, F_HEIGHT, &h);
    if (cv->o.parse_dm) {
        cv->dm->skip_size = have;
        if (sx_dm_parse(cv->dm, data) < 0)
            return sx_conv_item_fail(cv, "%s", sx_dm_error(cv->dm));
        it.dm = cv->dm;
    }
    if (have) {
        /* from files */
    } else if (it.dm && it.dm->width != 0 && it.dm->height != 0) {
        w = it.dm->width, h = it.dm->height, have = 1;
    } else if (cv->o.need_size && fstr(it.files, F_PATH)) {
        unsigned iw, ih;
        if (sx_imgsize_file(fstr(it.files, F_PATH), &iw, &ih) == 0)
            w = iw, h = ih, have = 1;
    }
    if (cv->o.need_size) {
        if (!have)
            return sx_conv_item_fail(cv, "image size unknown (no files.width/height, none in the data%s)",
                                     fstr(it.files, F_PATH) ? ", no readable PNG/JPEG header" : "");
        if (!(w >= 1 && h >= 1) || w > SX_DM_COORD_MAX || h > SX_DM_COORD_MAX || w != floor(w) || h != floor(h))
            return sx_conv_item_fail(cv, "image size %gx%g is not a positive whole number of pixels", w, h);
    }
    if (have && w > 0 && h > 0)
        it.width = w, it.height = h;
    sx_sb_reset(&cv->idjson);
    put_json(&cv->idjson, it.id);
    it.idjson = cv->idjson.p;
    size_t sl;
    choose_name(cv, it.files, it.split, idtext, &sl);
    if (cv->name.failed)
        return sx_conv_fatal(cv, "out of memory");
    it.name = cv->name.p;
    it.stem_len = sl;
    int rc = cv->ops.item(cv->ops.ctx, cv, &it);
    if (rc != 0)
        return rc;
    bloom_add(cv, it.split, it.name, it.stem_len);
    return image_record(cv, &it);
}

static int progress(sx_conv *cv)
{
    return emit_jv(cv, sx_rec_progress("dataset_conversion", cv->items, cv->total));
}

/* ---- reading ahead: a thread reads and parses records while the main
 * thread converts the previous ones (the parse is the larger half of the
 * work; the two overlap on two cores). A parsed value is handed over whole:
 * only one thread ever touches it. The queue is bounded, so memory stays
 * flat. ---- */

#define QCAP 256
#define QBATCH 32
#define QWAIT_MS 20

typedef struct {
    int kind;           /* sx_kind, or -1: end of input */
    jv v;               /* data and meta records: the parse (maybe invalid) */
    char *raw;          /* other control records: a copy of the line */
    size_t len;
    const char *name;
    uint64_t line;
} qent;

typedef struct {
    sx_reader *r;
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    qent q[QCAP];
    size_t head, n;
    jv done[2 * QCAP];  /* parsed values the consumer is through with: the
                           producer frees them, so that memory is freed by
                           the thread that allocated it (glibc arenas) */
    size_t ndone;
    int stop;           /* the consumer gave up: the producer ends */
    int prod_waiting, cons_waiting;
    int rc;             /* the reader's last answer (0 end, -1 error) */
    char err[512];
} rqueue;

static void unlock_mu(void *mu) { pthread_mutex_unlock(mu); }

static int q_put(rqueue *q, qent *e)
{
    int ok;
    pthread_mutex_lock(&q->mu);
    pthread_cleanup_push(unlock_mu, &q->mu); /* cancelled while waiting */
    while (q->n == QCAP && !q->stop) {
        q->prod_waiting = 1;
        pthread_cond_wait(&q->can_put, &q->mu);
        q->prod_waiting = 0;
    }
    ok = !q->stop;
    if (ok) {
        q->q[(q->head + q->n) % QCAP] = *e;
        q->n++;
        /* wake the consumer by batches: a wake-up per record costs more
         * than the record (it waits at most QWAIT_MS for a batch) */
        if (q->cons_waiting && (q->n >= QBATCH || e->kind < 0))
            pthread_cond_signal(&q->can_get);
    }
    pthread_cleanup_pop(1);
    return ok ? 0 : -1;
}

static void q_get(rqueue *q, qent *e)
{
    pthread_mutex_lock(&q->mu);
    while (q->n == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += QWAIT_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        q->cons_waiting = 1;
        pthread_cond_timedwait(&q->can_get, &q->mu, &ts);
        q->cons_waiting = 0;
    }
    *e = q->q[q->head];
    q->head = (q->head + 1) % QCAP;
    q->n--;
    if (q->prod_waiting && q->n <= QCAP / 2)
        pthread_cond_signal(&q->can_put);
    pthread_mutex_unlock(&q->mu);
}

static void ent_free(qent *e)
{
    jv_free(e->v);
    free(e->raw);
    e->v = jv_invalid();
    e->raw = NULL;
}

/* The consumer hands a value back (never blocks: see QCAP). */
static void q_done(rqueue *q, jv v)
{
    pthread_mutex_lock(&q->mu);
    if (q->ndone < 2 * QCAP) {
        q->done[q->ndone++] = v;
        v = jv_invalid();
    }
    pthread_mutex_unlock(&q->mu);
    jv_free(v);
}

/* The producer frees what came back. */
static void free_done(rqueue *q)
{
    jv local[2 * QCAP];
    size_t n;
    pthread_mutex_lock(&q->mu);
    n = q->ndone;
    memcpy(local, q->done, n * sizeof(jv));
    q->ndone = 0;
    pthread_mutex_unlock(&q->mu);
    for (size_t i = 0; i < n; i++)
        jv_free(local[i]);
}

static void *producer(void *arg)
{
    rqueue *q = arg;
    const char *line;
    size_t len;
    int rc;
    while ((rc = sx_reader_next(q->r, &line, &len)) == 1) {
        free_done(q);
        qent e = {.kind = sx_proto_kind(line, len), .v = jv_invalid(), .name = sx_reader_name(q->r),
                  .line = sx_reader_lineno(q->r)};
        if (e.kind == SX_END)
            continue;
        if (e.kind == SX_DATA || e.kind == SX_META)
            e.v = sx_parse_object(line, len);
        if (e.kind != SX_DATA) {
            e.raw = malloc(len ? len : 1);
            if (!e.raw) {
                jv_free(e.v);
                rc = -1;
                snprintf(q->err, sizeof q->err, "out of memory");
                break;
            }
            memcpy(e.raw, line, len);
            e.len = len;
        }
        if (q_put(q, &e) < 0) {
            ent_free(&e);
            return NULL;
        }
    }
    if (rc < 0 && !q->err[0])
        snprintf(q->err, sizeof q->err, "%s", sx_reader_error(q->r));
    q->rc = rc;
    qent end = {.kind = -1, .v = jv_invalid(), .name = sx_reader_name(q->r), .line = sx_reader_lineno(q->r)};
    q_put(q, &end);
    return NULL;
}

/* One record. @return 0 go on, or an SX_CONV_* code to stop with. */
static int handle(sx_conv *cv, qent *e, int *saw_meta)
{
    cv->where = e->name;
    cv->line = e->line;
    if (e->kind == SX_META && !*saw_meta) {
        *saw_meta = 1;
        if (jv_is_valid(e->v)) {
            double t = sx_get_num(e->v, "total", 0);
            if (t > 0 && t < 1e15)
                cv->total = (uint64_t)t;
            cv->step = cv->total / 100 > 1000 ? cv->total / 100 : 1000;
            if (cv->ops.meta && cv->ops.meta(cv->ops.ctx, cv, e->v) < 0)
                return cv->werr ? SX_CONV_WRITE : SX_CONV_FAIL;
        }
    }
    if (e->kind != SX_DATA) {
        if (sx_writer_line(cv->w, e->raw, e->len) < 0)
            return SX_CONV_WRITE;
        return 0;
    }
    if (!jv_is_valid(e->v)) {
        jv m = jv_invalid_get_msg(jv_copy(e->v));
        snprintf(cv->msg, sizeof cv->msg, "%s", jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "invalid JSON");
        jv_free(m);
        if (strncmp(cv->msg, "not a JSON object", 17) == 0) { /* JSON, but not an item */
            char full[1200];
            snprintf(full, sizeof full, "not an item %s", cv->msg + 18);
            cv->failed++;
            cv->items++;
            return error_record(cv, jv_null(), full) < 0 ? SX_CONV_WRITE : 0;
        }
        if (!cv->o.keep_going)
            return SX_CONV_FAIL;
        char full[1200];
        snprintf(full, sizeof full, "%s:%llu: %s", cv->where, (unsigned long long)cv->line, cv->msg);
        cv->bad_lines++;
        cv->failed++;
        cv->items++;
        return error_record(cv, jv_null(), full) < 0 ? SX_CONV_WRITE : 0;
    }
    cv->items++;
    int irc = convert_item(cv, e->v);
    if (irc == 1) {
        cv->failed++;
        irc = error_record(cv, cv->cur_id, cv->msg);
    } else if (irc == 0) {
        cv->ok++;
    }
    cv->cur_id = jv_null();
    if (irc < 0) {
        if (cv->werr)
            return SX_CONV_WRITE;
        cv->where = NULL;
        return SX_CONV_FAIL;
    }
    if (cv->items % cv->step == 0 && progress(cv) < 0)
        return SX_CONV_WRITE;
    return 0;
}

static int finish(sx_conv *cv, sx_reader *r, int rc, const char *err)
{
    cv->where = sx_reader_name(r);
    cv->line = sx_reader_lineno(r);
    if (rc < 0) {
        snprintf(cv->msg, sizeof cv->msg, "%s", err);
        return SX_CONV_FAIL;
    }
    if (sx_reader_records(r) == 0)
        return SX_CONV_OK; /* empty input: nothing to say */
    if (!sx_reader_complete(r)) {
        cv->where = NULL;
        snprintf(cv->msg, sizeof cv->msg, "%s: input was cut short (no end record): no dataset written",
                 sx_reader_cut_name(r));
        return SX_CONV_FAIL;
    }
    cv->where = NULL;
    if (cv->ops.end && cv->ops.end(cv->ops.ctx, cv) < 0)
        return cv->werr ? SX_CONV_WRITE : SX_CONV_FAIL;
    if (cv->items % cv->step != 0 && progress(cv) < 0)
        return SX_CONV_WRITE;
    /* "data_file" and "original_file" are sx-save's (files written), as in the SDK */
    if (emit_jv(cv, sx_rec_metrics("dataset_conversion", 0, cv->ok, cv->failed)) < 0)
        return SX_CONV_WRITE;
    if ((cv->ann_kept || cv->ann_dropped) &&
        emit_jv(cv, sx_rec_metrics("annotation", 0, cv->ann_kept, cv->ann_dropped)) < 0)
        return SX_CONV_WRITE;
    jv end = jv_object_set(sx_rec_end(0), jv_string("files"), jv_number((double)cv->files));
    if (emit_jv(cv, end) < 0)
        return SX_CONV_WRITE;
    return cv->bad_lines ? SX_CONV_BADLINES : SX_CONV_OK;
}

/* Everything in one thread: for one-core machines (the hand-over costs some
 * CPU that only a second core pays back). */
static int run_inline(sx_conv *cv, sx_reader *r)
{
    const char *line;
    size_t len;
    int rc, saw_meta = 0, hrc = 0;
    cv->step = 10000;
    while ((rc = sx_reader_next(r, &line, &len)) == 1) {
        qent e = {.kind = sx_proto_kind(line, len), .v = jv_invalid(), .name = sx_reader_name(r),
                  .line = sx_reader_lineno(r), .raw = (char *)line, .len = len};
        if (e.kind == SX_END)
            continue;
        if (e.kind == SX_DATA || e.kind == SX_META)
            e.v = sx_parse_object(line, len);
        hrc = handle(cv, &e, &saw_meta);
        jv_free(e.v);
        if (hrc != 0)
            return hrc;
    }
    return finish(cv, r, rc, rc < 0 ? sx_reader_error(r) : "");
}

static int use_threads(void)
{
    const char *e = getenv("SX_CONVERT_THREADS");
    if (e && *e)
        return strcmp(e, "0") != 0;
    /* a second core only pays when it is idle (make -l's rule): the
     * hand-over costs CPU (values cross caches) */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double load[1];
    if (ncpu < 2)
        return 0;
    return getloadavg(load, 1) == 1 && load[0] <= (double)ncpu - 1.0;
}

int sx_conv_run(sx_conv *cv, sx_reader *r)
{
    if (!use_threads())
        return run_inline(cv, r);
    rqueue *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(cv->msg, sizeof cv->msg, "out of memory");
        return SX_CONV_FAIL;
    }
    q->r = r;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->can_put, NULL);
    pthread_cond_init(&q->can_get, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, producer, q) != 0) {
        free(q);
        snprintf(cv->msg, sizeof cv->msg, "cannot start a reading thread");
        return SX_CONV_FAIL;
    }
    cv->step = 10000;
    int saw_meta = 0, rc = 0;
    qent e;
    for (;;) {
        q_get(q, &e);
        if (e.kind < 0)
            break;
        rc = handle(cv, &e, &saw_meta);
        q_done(q, e.v);
        e.v = jv_invalid();
        ent_free(&e);
        if (rc != 0)
            break;
    }
    if (rc != 0) {
        /* stop the producer, even when it waits for input that may never
         * come (a read is a cancellation point), and drop what it queued */
        int werr = errno;
        pthread_mutex_lock(&q->mu);
        q->stop = 1;
        pthread_cond_broadcast(&q->can_put);
        pthread_mutex_unlock(&q->mu);
        pthread_cancel(th);
        pthread_join(th, NULL);
        while (q->n) { /* the end entry it may have added */
            ent_free(&q->q[q->head]);
            q->head = (q->head + 1) % QCAP;
            q->n--;
        }
        errno = werr;
    } else {
        pthread_join(th, NULL);
        rc = finish(cv, r, q->rc, q->err);
    }
    for (size_t i = 0; i < q->ndone; i++)
        jv_free(q->done[i]);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->can_put);
    pthread_cond_destroy(&q->can_get);
    free(q);
    return rc;
}
