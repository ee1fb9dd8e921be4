#include "sx_convert.h"
#include "sx_classmap.h"
#include "sx_download.h"
#include "sx_roots.h"
#include "sx_hash.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
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

const char *sx_split_pick(const sx_split *sp, const char *key, size_t len)
{
    uint64_t h = sx_mix64(sx_fnv1a(SX_FNV_BASIS ^ sx_mix64(sp->seed), key, len));
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
    sx_tape *tape;            /* the data record being converted */
    sx_strbuf rec, name, path, idjson, local, errfile;
    char *spool;              /* meta's spool: sx-download's directory */
    uint64_t up_filtered;     /* items the upstream filtered out (its end) */
    int up_has_filtered;
    sx_roots *roots;          /* meta's src_roots: where local images may be */
    unsigned char *bloom;
    uint64_t total, items, ok, failed, bad_lines, files, ann_kept, ann_dropped, step;
    const sx_tnode *cur_id;   /* id of the item being converted (on tape),
                                 NULL when none */
    char msg[1024];
    const char *where;
    uint64_t line;
    int fatal, werr;
    sx_textout *open_text;    /* the one big file being written, if any */
};

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
    cv->tape = sx_tape_new();
    cv->roots = sx_roots_new();
    cv->bloom = calloc(BLOOM_BITS / 8, 1);
    if (!cv->dm || !cv->tape || !cv->bloom || !cv->roots) {
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
    sx_tape_free(cv->tape);
    sx_sb_free(&cv->rec);
    sx_sb_free(&cv->name);
    sx_sb_free(&cv->path);
    sx_sb_free(&cv->idjson);
    sx_sb_free(&cv->local);
    sx_sb_free(&cv->errfile);
    free(cv->spool);
    sx_roots_free(cv->roots);
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

/* A value of the tape as JSON (NULL: null): strings and whole numbers
 * directly, others as libjq prints them. */
static void put_json(sx_strbuf *b, const sx_tnode *v)
{
    if (!v) {
        sx_sb_puts(b, "null");
    } else if (v->kind == SX_T_STRING) {
        sx_sb_json_str(b, v->u.str, v->len);
    } else if (v->kind == SX_T_NUMBER && v->u.num == floor(v->u.num) && fabs(v->u.num) < 1e15) {
        sx_sb_i64(b, (long long)v->u.num);
    } else {
        jv s = jv_dump_string(sx_tape_value(v), 0);
        sx_sb_puts(b, jv_is_valid(s) ? jv_string_value(s) : "null");
        jv_free(s);
    }
}

/* An item failed: its error record names the data file the SDK would have
 * written for it (`<stem>.json`, cv->errfile), for error_file_list.json. */
static int error_record(sx_conv *cv, const sx_tnode *id, const char *msg)
{
    sx_strbuf *b = &cv->rec;
    sx_sb_reset(b);
    sx_sb_puts(b, "{\"sx\":\"error\",\"item\":");
    put_json(b, id);
    sx_sb_puts(b, ",\"stage\":");
    sx_sb_json_cstr(b, cv->o.stage);
    if (id && cv->errfile.len) {
        sx_sb_puts(b, ",\"category\":\"data_file\",\"file\":");
        sx_sb_json_str(b, cv->errfile.p, cv->errfile.len);
    }
    sx_sb_puts(b, ",\"message\":");
    sx_sb_json_cstr(b, msg);
    sx_sb_putc(b, '}');
    return emit(cv);
}

static int warning_record(sx_conv *cv, const char *kind, const char *reason, size_t count, const char *msg)
{
    sx_strbuf *b = &cv->rec;
    sx_sb_reset(b);
    sx_sb_puts(b, "{\"sx\":\"warning\",\"item\":");
    put_json(b, cv->cur_id);
    sx_sb_puts(b, ",\"stage\":");
    sx_sb_json_cstr(b, cv->o.stage);
    sx_sb_puts(b, ",\"kind\":");
    sx_sb_json_cstr(b, kind);
    sx_sb_puts(b, ",\"reason\":");
    sx_sb_json_cstr(b, reason);
    sx_sb_puts(b, ",\"count\":");
    sx_sb_u64(b, count);
    sx_sb_puts(b, ",\"message\":");
    sx_sb_json_cstr(b, msg);
    sx_sb_putc(b, '}');
    return emit(cv);
}

int sx_conv_item_warn(sx_conv *cv, const char *reason, const char *fmt, ...)
{
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return warning_record(cv, "dropped", reason, 1, m);
}

int sx_conv_item_ignored(sx_conv *cv, const char *reason, size_t count)
{
    return warning_record(cv, "ignored", reason, count, "this format has no place for it");
}

/* The parts of the item the DM model left out or ignored, as warnings;
 * image classes the format has no place for, ignored too. */
static int dm_warnings(sx_conv *cv, const sx_dm *dm)
{
    for (size_t i = 0; i < dm->nnotes; i++) {
        const sx_dm_note *n = &dm->notes[i];
        if (warning_record(cv, n->kind, n->reason, n->count, n->detail) < 0)
            return -1;
        if (!strcmp(n->kind, "dropped"))
            cv->ann_dropped += n->count;
    }
    if (dm->nimg_cls && !cv->o.image_classes &&
        warning_record(cv, "ignored", "image classification", dm->nimg_cls, "this format has no place for it") < 0)
        return -1;
    return 0;
}

void sx_conv_warn(sx_conv *cv, const char *fmt, ...)
{
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (cv->o.warn)
        cv->o.warn(m);
}

void sx_conv_classes(sx_conv *cv, sx_classmap *cm, jv meta, const char *const *tools)
{
    sx_classmap_load_meta(cm, meta, tools);
    if (!sx_classmap_fixed(cm) && sx_classmap_config_empty(meta))
        sx_conv_warn(cv, "%s", SX_CLASSMAP_EMPTY_WARNING);
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
            /* handed over once the record has left: a reader that is gone
             * takes nothing, and the file is removed with the spool */
            if (rc == 0 && sx_writer_flush(cv->w) < 0) {
                cv->werr = 1;
                rc = -1;
            }
            if (rc == 0)
                sx_spool_keep(t->spool);
        }
    } else {
        rc = textout_flush(t, 1);
    }
    textout_free(t);
    return rc;
}

/* ---- field access ---- */


static const char *fstr_(const sx_tnode *v) { return v && v->kind == SX_T_STRING ? v->u.str : NULL; }
#define fstr(obj, key) fstr_(sx_tget(obj, key))

static double fnum_(const sx_tnode *v, double dflt) { return v && v->kind == SX_T_NUMBER ? v->u.num : dflt; }
#define fnum(obj, key, dflt) fnum_(sx_tget(obj, key), dflt)

/* ---- names ---- */

static uint64_t bloom_hash(const char *split, const char *stem, size_t n, uint64_t *h2)
{
    uint64_t h = sx_fnv1a(SX_FNV_BASIS, split, strlen(split) + 1);
    uint64_t g = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tolower((unsigned char)stem[i]);
        h = (h ^ c) * 1099511628211ULL;
        g = (g ^ c) * 0x100000001b3ULL + 0x7f4a7c15;
    }
    *h2 = sx_mix64(g) | 1;
    return sx_mix64(h);
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
static void choose_name(sx_conv *cv, const sx_tnode *files, const char *split, const char *idtext, size_t *stem_len)
{
    const char *src = fstr(files, "file_name_original");
    if (!src || !*src)
        src = fstr(files, "path");
    if (!src || !*src)
        src = fstr(files, "url");
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

/* A file directly in the spool sx-download announced in meta. */
static int in_spool(const sx_conv *cv, const char *path)
{
    size_t n = cv->spool ? strlen(cv->spool) : 0;
    return n && !strncmp(path, cv->spool, n) && path[n] == '/' && path[n + 1] && !strchr(path + n + 1, '/');
}

/* The absolute form of a local path into b; links are left for
 * sx_roots_open() to resolve beneath a root, not resolved here. */
static void abs_path(const char *p, sx_strbuf *b)
{
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
    const char *url = fstr(it->files, "url");
    const char *local = it->local;
    if (!url && !local)
        return 0;
    sx_img_mode m = cv->o.images;
    int use_url = url && !it->spooled && (!local || m == SX_IMG_AUTO || m == SX_IMG_URL);
    sx_sb_reset(&cv->path);
    sx_conv_image_path(cv, it, &cv->path);
    file_head(cv, cv->path.p, it->idjson, "original_file");
    if (use_url) {
        sx_sb_puts(&cv->rec, ",\"url\":");
        sx_sb_json_cstr(&cv->rec, url);
    } else {
        sx_sb_puts(&cv->rec, ",\"src\":");
        sx_sb_json_cstr(&cv->rec, local);
        if (it->spooled)
            sx_sb_puts(&cv->rec, ",\"move\":true");   /* downloaded for this export: handed over */
        else if (m == SX_IMG_LINK || m == SX_IMG_AUTO)
            sx_sb_puts(&cv->rec, ",\"link\":true");
    }
    /* checks the item gives, passed on when they are checks (sx-download
     * made them already for what it spooled) */
    double size = it->spooled ? -1 : fnum(it->files, "size", -1);
    if (size >= 0 && size == floor(size) && size <= 9007199254740992.0) {
        sx_sb_puts(&cv->rec, ",\"size\":");
        sx_sb_u64(&cv->rec, (unsigned long long)size);
    }
    const char *sha = it->spooled ? NULL : fstr(it->files, "sha256");
    if (sha && strlen(sha) == 64 && strspn(sha, "0123456789abcdefABCDEF") == 64) {
        sx_sb_puts(&cv->rec, ",\"sha256\":");
        sx_sb_json_cstr(&cv->rec, sha);
    }
    sx_sb_putc(&cv->rec, '}');
    cv->files++;
    return emit(cv);
}

/* ---- items ---- */

static int positive(const sx_tnode *v, double *out)
{
    double d = fnum_(v, NAN);
    if (!isfinite(d))
        return 0;
    *out = d;
    return 1;
}

/* The SDK's name for the item's data file, should the item fail: the stem
 * of files.file_name_original, else the id, and ".json". */
static void error_file_name(sx_conv *cv, const sx_tnode *rec, const sx_tnode *id)
{
    const char *nm = fstr(sx_tget(rec, "files"), "file_name_original");
    if (nm && *nm) {
        const char *p;
        size_t n;
        base_name(nm, &p, &n);
        const char *dot = memrchr(p, '.', n);
        if (dot && dot != p)
            n = (size_t)(dot - p);
        sx_sb_put(&cv->errfile, p, n);
    } else if (id->kind == SX_T_STRING) {
        sx_sb_put(&cv->errfile, id->u.str, id->len);
    } else {
        put_json(&cv->errfile, id);
    }
    sx_sb_puts(&cv->errfile, ".json");
}

/* @return 0 converted, 1 failed (cv->msg), -1 fatal */
static int convert_item(sx_conv *cv, const sx_tnode *rec)
{
    sx_conv_item it = {.rec = rec, .split = ""};
    char idtext[64];
    sx_sb_reset(&cv->errfile);
    it.id = sx_tget(rec, "id");
    if (it.id && it.id->kind == SX_T_NULL)
        it.id = NULL;
    cv->cur_id = it.id;
    if (!it.id)
        return sx_conv_item_fail(cv, "not an item (no id)");
    error_file_name(cv, rec, it.id);
    const sx_tnode *data = sx_tget(rec, "data");
    if (!data)
        return sx_conv_item_fail(cv, "not an item (no data)");
    it.data = data;
    if (data->kind == SX_T_NULL)
        return sx_conv_item_fail(cv, "data is Null");
    it.files = sx_tget(rec, "files");
    if (it.id->kind == SX_T_STRING)
        snprintf(idtext, sizeof idtext, "%s", it.id->u.str);
    else if (it.id->kind == SX_T_NUMBER && it.id->u.num == floor(it.id->u.num) && fabs(it.id->u.num) < 1e15) {
        long long v = (long long)it.id->u.num;
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
    } else if (it.id->kind == SX_T_NUMBER)
        snprintf(idtext, sizeof idtext, "%.17g", it.id->u.num);
    else
        return sx_conv_item_fail(cv, "not an item (id is %s)", sx_tape_kind_name(it.id));
    it.idtext = idtext;

    if (cv->o.split) {
        it.split = sx_split_pick(cv->o.split, idtext, strlen(idtext));
    } else {
        const char *s = fstr(rec, "split");
        if (s && *s) {
            if (!sx_split_name_ok(s))
                return sx_conv_item_fail(cv, "split '%s' is not a safe directory name", s);
            it.split = s;
        }
    }
    /* the item's files are untrusted: only an http(s) URL is downloaded,
     * only a path under the stream's src_roots is read */
    const char *url = fstr(it.files, "url");
    if (url && sx_dl_url_ok(url) && cv->o.images != SX_IMG_NONE)
        return sx_conv_item_fail(cv, "files.url: %s", sx_dl_url_ok(url));
    int localfd = -1;
    if (fstr(it.files, "path")) {
        const char *why;
        struct stat st;
        sx_sb_reset(&cv->local);
        abs_path(fstr(it.files, "path"), &cv->local);
        if (in_spool(cv, cv->local.p)) {
            localfd = open(cv->local.p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (localfd >= 0 && (fstat(localfd, &st) < 0 || !S_ISREG(st.st_mode))) {
                close(localfd);
                localfd = -1;
            }
            if (localfd < 0)
                return sx_conv_item_fail(cv, "files.path '%s': the downloaded file is gone", fstr(it.files, "path"));
            it.local = cv->local.p;
            it.spooled = 1;
        } else if ((localfd = sx_roots_open(cv->roots, cv->local.p, &st, &why)) >= 0) {
            it.local = cv->local.p;
        } else if (!url && cv->o.images != SX_IMG_NONE) {
            return sx_conv_item_fail(cv, "files.path '%s': %s%s", fstr(it.files, "path"), why,
                                     why == sx_roots_outside
                                         ? " (only the dataset that sx-fetch --dir names in its meta record "
                                           "is; an item made by hand can give files.url instead, or "
                                           "--images none leaves images out)"
                                         : "");
        }
    }
    double w = 0, h = 0;
    int have = positive(sx_tget(it.files, "width"), &w) && positive(sx_tget(it.files, "height"), &h);
    if (cv->o.parse_dm) {
        cv->dm->skip_size = have;
        if (sx_dm_parse(cv->dm, cv->tape, data) < 0) {
            if (localfd >= 0)
                close(localfd);
            return sx_conv_item_fail(cv, "%s", sx_dm_error(cv->dm));
        }
        it.dm = cv->dm;
        if (dm_warnings(cv, cv->dm) < 0) {
            if (localfd >= 0)
                close(localfd);
            return -1;
        }
    }
    if (have) {
        /* from files */
    } else if (it.dm && it.dm->width != 0 && it.dm->height != 0) {
        w = it.dm->width, h = it.dm->height, have = 1;
    } else if (cv->o.need_size && localfd >= 0) {
        unsigned iw, ih;
        if (sx_imgsize_fd(localfd, &iw, &ih) == 0)
            w = iw, h = ih, have = 1;
    }
    if (localfd >= 0)
        close(localfd);
    if (cv->o.need_size) {
        if (!have)
            return sx_conv_item_fail(cv, "image size unknown (no files.width/height, none in the data%s)",
                                     it.local ? ", no image header it could read" : "");
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

/* ---- records ---- */

/* A data record that is not an item or not JSON. @return 0 go on, or an
 * SX_CONV_* code to stop with. */
static int bad_record(sx_conv *cv, jv v)
{
    jv m = jv_invalid_get_msg(v);
    snprintf(cv->msg, sizeof cv->msg, "%s", jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "invalid JSON");
    jv_free(m);
    char full[1200];
    if (strncmp(cv->msg, "not a JSON object", 17) == 0) { /* JSON, but not an item */
        snprintf(full, sizeof full, "not an item %s", cv->msg + 18);
        cv->failed++;
        cv->items++;
        return error_record(cv, NULL, full) < 0 ? SX_CONV_WRITE : 0;
    }
    if (!cv->o.keep_going)
        return SX_CONV_FAIL;
    snprintf(full, sizeof full, "%s:%llu: %s", cv->where, (unsigned long long)cv->line, cv->msg);
    cv->bad_lines++;
    cv->failed++;
    cv->items++;
    return error_record(cv, NULL, full) < 0 ? SX_CONV_WRITE : 0;
}

/* A data record onto the tape: strict JSON directly; anything else through
 * libjq, which rejects it with its message or repairs it (sx_tape.h).
 * @return the root (an object), or NULL after bad_record() with *rc set. */
static const sx_tnode *read_item(sx_conv *cv, const char *line, size_t len, int *rc)
{
    const sx_tnode *root = sx_tape_parse(cv->tape, line, len);
    if (root && root->kind == SX_T_OBJECT)
        return root;
    jv v = sx_parse_object(line, len);
    if (!jv_is_valid(v)) {
        *rc = bad_record(cv, v);
        return NULL;
    }
    root = sx_tape_parse_jv(cv->tape, v);
    jv_free(v);
    if (!root) {
        snprintf(cv->msg, sizeof cv->msg, "%s", sx_tape_error(cv->tape));
        *rc = SX_CONV_FAIL;
    }
    return root;
}

/* One record. @return 0 go on, or an SX_CONV_* code to stop with. */
static int handle(sx_conv *cv, int kind, const char *line, size_t len, int *saw_meta)
{
    if (kind == SX_META && !*saw_meta) {
        *saw_meta = 1;
        jv meta = sx_parse_object(line, len);
        if (jv_is_valid(meta)) {
            double t = sx_get_num(meta, "total", 0);
            if (t > 0 && t < 1e15)
                cv->total = (uint64_t)t;
            cv->step = cv->total / 100 > 1000 ? cv->total / 100 : 1000;
            const char *spool = sx_get_str(meta, "spool");
            if (spool && spool[0] == '/' && !cv->spool)
                cv->spool = strdup(spool);
            jv roots = jv_object_get(jv_copy(meta), jv_string("src_roots"));
            if (jv_get_kind(roots) == JV_KIND_ARRAY) {
                jv_array_foreach(roots, i, r) {
                    const char *why;
                    if (jv_get_kind(r) == JV_KIND_STRING && jv_string_value(r)[0] == '/')
                        sx_roots_add(cv->roots, jv_string_value(r), &why);
                    jv_free(r);
                }
            }
            jv_free(roots);
            if (cv->ops.meta && cv->ops.meta(cv->ops.ctx, cv, meta) < 0) {
                jv_free(meta);
                return cv->werr ? SX_CONV_WRITE : SX_CONV_FAIL;
            }
        }
        jv_free(meta);
    }
    if (kind != SX_DATA)
        return sx_writer_line(cv->w, line, len) < 0 ? SX_CONV_WRITE : 0;
    int rc = 0;
    const sx_tnode *rec = read_item(cv, line, len, &rc);
    if (!rec)
        return rc;
    cv->items++;
    int irc = convert_item(cv, rec);
    if (irc == 1) {
        cv->failed++;
        irc = error_record(cv, cv->cur_id, cv->msg);
    } else if (irc == 0) {
        cv->ok++;
    }
    cv->cur_id = NULL;
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
    cv->line = sx_reader_lineno(r) + (rc < 0); /* a read error is at the next line */
    if (rc < 0) {
        snprintf(cv->msg, sizeof cv->msg, "%s", err);
        return SX_CONV_FAIL;
    }
    if (sx_reader_records(r) == 0 && !cv->o.items) {
        /* empty in, empty out (no end: nothing downstream takes it for a
         * dataset), but never in silence */
        if (cv->o.warn)
            cv->o.warn("the input is empty: nothing converted (did the stage before fail? sx-fetch writes a "
                       "meta and an end record even for an empty listing; --items converts an empty list of "
                       "items into an empty dataset)");
        return SX_CONV_OK;
    }
    if (!sx_reader_complete(r) && !cv->o.items) {
        cv->where = NULL;
        if (sx_reader_saw_control(r))
            snprintf(cv->msg, sizeof cv->msg, "%s: input was cut short (no end record): no dataset written",
                     sx_reader_cut_name(r));
        else
            snprintf(cv->msg, sizeof cv->msg, "%s: " SX_PLAIN_ITEMS_HINT ": no dataset written",
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
    end = jv_object_set(end, jv_string("items"), jv_number((double)cv->ok));
    if (cv->up_has_filtered)
        end = jv_object_set(end, jv_string("filtered"), jv_number((double)cv->up_filtered));
    if (emit_jv(cv, end) < 0)
        return SX_CONV_WRITE;
    return cv->bad_lines ? SX_CONV_BADLINES : SX_CONV_OK;
}

int sx_conv_run(sx_conv *cv, sx_reader *r)
{
    const char *line;
    size_t len;
    int rc, saw_meta = 0;
    cv->step = 10000;
    while ((rc = sx_reader_next(r, &line, &len)) == 1) {
        int kind = sx_proto_kind(line, len);
        if (kind == SX_END) {
            /* what the stages before filtered out (sx-jq's select), carried on */
            jv end = sx_parse_object(line, len);
            double f = jv_is_valid(end) ? sx_get_num(end, "filtered", -1) : -1;
            if (f >= 0 && f < 1e15) {
                cv->up_filtered = (uint64_t)f;
                cv->up_has_filtered = 1;
            }
            jv_free(end);
            continue;
        }
        cv->where = sx_reader_name(r);
        cv->line = sx_reader_lineno(r);
        if (kind == SX_META && cv->o.items) {
            snprintf(cv->msg, sizeof cv->msg, "--items, but the input has a meta record: an sx stream is "
                                              "complete with its end record only (leave out --items)");
            return SX_CONV_FAIL;
        }
        int hrc = handle(cv, kind, line, len, &saw_meta);
        if (hrc != 0)
            return hrc;
    }
    return finish(cv, r, rc, rc < 0 ? sx_reader_error(r) : "");
}
