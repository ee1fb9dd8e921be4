/* sx_merge.c : merging the COCO files of the shards of one export (see sx_merge.h). */
#include "sx_extsort.h"
#include "sx_hash.h"
#include "sx_errbuf.h"
#include "sx_merge.h"

#include "sx_json.h"
#include "sx_proto.h"
#include "sx_tape.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PASS_CHECK reads the small keys (categories, info, …) and the images'
 * names; PASS_IMAGES and PASS_ANNS write. */
enum { PASS_CHECK, PASS_IMAGES, PASS_ANNS };

/* A string -> int64 map (open addressing), for the per-image maps: libjq
 * objects cost several times more per entry. */
typedef struct {
    char *k;
    size_t kl;
    int64_t v;
} sm_ent;
typedef struct {
    sm_ent *e;
    size_t cap, n;
} strmap;

static uint64_t sm_hash(const char *k, size_t kl)
{
    uint64_t h = sx_fnv1a(SX_FNV_BASIS, k, kl);
    return h ^ (h >> 29);
}

/*! sm_get() : the value of k, or NULL. */
static int64_t *sm_get(const strmap *m, const char *k, size_t kl)
{
    if (!m->cap)
        return NULL;
    for (size_t i = sm_hash(k, kl) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        sm_ent *e = &m->e[i];
        if (!e->k)
            return NULL;
        if (e->kl == kl && !memcmp(e->k, k, kl))
            return &e->v;
    }
}

/*! sm_put() : sets k to v (k copied). @return 0, or -1 when out of memory. */
static int sm_put(strmap *m, const char *k, size_t kl, int64_t v)
{
    int64_t *old = sm_get(m, k, kl);
    if (old) {
        *old = v;
        return 0;
    }
    if ((m->n + 1) * 10 > m->cap * 7) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        sm_ent *e = calloc(cap, sizeof *e);
        if (!e)
            return -1;
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->e[j].k)
                continue;
            size_t i = sm_hash(m->e[j].k, m->e[j].kl) & (cap - 1);
            while (e[i].k)
                i = (i + 1) & (cap - 1);
            e[i] = m->e[j];
        }
        free(m->e);
        m->e = e;
        m->cap = cap;
    }
    char *copy = malloc(kl + 1);
    if (!copy)
        return -1;
    memcpy(copy, k, kl);
    copy[kl] = 0;
    size_t i = sm_hash(k, kl) & (m->cap - 1);
    while (m->e[i].k)
        i = (i + 1) & (m->cap - 1);
    m->e[i] = (sm_ent){copy, kl, v};
    m->n++;
    return 0;
}

static void sm_free(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->e[i].k);
    free(m->e);
    m->e = NULL;
    m->cap = m->n = 0;
}


typedef struct {
    char *json, *marker;
    jv cats;    /* the shard's categories (array), from PASS_CHECK */
    jv catmap;  /* old id text -> new id */
    uint64_t nimages; /* images PASS_CHECK saw */
    int has_images, has_anns;
} shard;

struct sx_merge {
    shard *s;
    int n, cap;
    int partial;
    jv extra;      /* [[key, value], ...] of the first shard, not images/annotations/categories */
    jv cats;       /* the merged categories */
    /* the per-image state, on disk (see "the plan" below) */
    uint64_t nall;       /* images PASS_CHECK saw, over all shards: g counts them */
    FILE *pg;            /* per image in g order: shard, id, file_name, rename tag */
    sx_extsort *bykey;   /* per image: image key, g, file_name, sx_item order */
    sx_kvtab *owned;     /* file_name -> g of the image kept under it */
    sx_kvtab *ids;       /* shard + old image id text -> new id (0: dropped) */
    FILE *plan;          /* per image in g order: new id, new file_name */
    strmap fresh;        /* file_names made up for renamed images */
    sx_buf el, key, out, kb, rec, fn;
    sx_tape *tape;     /* the image being read */
    uint64_t nimg, nann, dups, renamed;
    /* the write in progress */
    sx_merge_write_fn write;
    sx_merge_image_fn on_image;
    void *ctx;
    int first;
    char err[512];
};

static int fail(sx_merge *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(sx_merge *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return -1;
}

sx_merge *sx_merge_new(void)
{
    sx_merge *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->extra = jv_array();
    m->cats = jv_array();
    if (!(m->tape = sx_tape_new())) {
        sx_merge_free(m);
        return NULL;
    }
    return m;
}

void sx_merge_free(sx_merge *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        free(m->s[i].json);
        free(m->s[i].marker);
        jv_free(m->s[i].cats);
        jv_free(m->s[i].catmap);
    }
    free(m->s);
    jv_free(m->extra);
    jv_free(m->cats);
    if (m->pg)
        fclose(m->pg);
    if (m->plan)
        fclose(m->plan);
    sx_extsort_free(m->bykey);
    sx_kvtab_free(m->owned);
    sx_kvtab_free(m->ids);
    sm_free(&m->fresh);
    sx_buf_free(&m->rec);
    sx_buf_free(&m->fn);
    sx_buf_free(&m->el);
    sx_buf_free(&m->key);
    sx_buf_free(&m->out);
    sx_buf_free(&m->kb);
    sx_tape_free(m->tape);
    free(m);
}

const char *sx_merge_error(const sx_merge *m) { return m->err; }

void sx_merge_partial(sx_merge *m, int yes) { m->partial = yes; }

void sx_merge_counts(const sx_merge *m, uint64_t *images, uint64_t *annotations, uint64_t *dup_images,
                     uint64_t *renamed)
{
    *images = m->nimg;
    *annotations = m->nann;
    *dup_images = m->dups;
    *renamed = m->renamed;
}

int sx_merge_add(sx_merge *m, const char *json, const char *marker)
{
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 8;
        shard *p = realloc(m->s, (size_t)cap * sizeof *p);
        if (!p)
            return fail(m, "out of memory");
        m->s = p;
        m->cap = cap;
    }
    shard *s = &m->s[m->n];
    memset(s, 0, sizeof *s);
    s->json = strdup(json);
    s->marker = marker ? strdup(marker) : NULL;
    s->cats = jv_null();
    s->catmap = jv_object();
    m->n++;
    if (!s->json || (marker && !s->marker))
        return fail(m, "out of memory");
    return 0;
}

/* ---- the scanner: one JSON value at a time, captured as bytes ---- */

/* The scanner reads the file in blocks of its own and captures a value by
 * copying runs of the block, not byte by byte: the shard files are read
 * four times, and most of their bytes are only skipped. */
#define SCAN_BLOCK (1 << 18)

typedef struct {
    FILE *f;
    const char *path;
    sx_merge *m;
    char *buf;
    size_t pos, len;
    long long off;      /* file offset of buf[0] */
    sx_buf *cap;        /* the value being captured, or NULL */
    size_t cap_from;    /* capture starts at buf[cap_from] */
    int oom;
} scan;

/* Moves the captured part of the block into cap and reads the next block.
 * @return 0 at the end of the file (or on an error). */
static int refill(scan *sc)
{
    if (sc->cap && sc->len > sc->cap_from &&
        sx_buf_put(sc->cap, sc->buf + sc->cap_from, sc->len - sc->cap_from) < 0) {
        sc->oom = 1;
        return 0;
    }
    sc->cap_from = 0;
    sc->off += (long long)sc->len;
    sc->pos = 0;
    sc->len = fread(sc->buf, 1, SCAN_BLOCK, sc->f);
    return sc->len > 0;
}

static inline int nextc(scan *sc)
{
    if (sc->pos == sc->len && !refill(sc))
        return EOF;
    return (unsigned char)sc->buf[sc->pos++];
}

/* Starts capturing into cap (NULL: none) from the byte just read. */
static void cap_start(scan *sc, sx_buf *cap)
{
    sc->cap = cap;
    sc->cap_from = sc->pos - 1;
}

/* Ends the capture after the last byte read. @return 0, or -1. */
static int cap_end(scan *sc)
{
    sx_buf *cap = sc->cap;
    sc->cap = NULL;
    if (!cap)
        return 0;
    if (sc->oom || sx_buf_put(cap, sc->buf + sc->cap_from, sc->pos - sc->cap_from) < 0)
        return fail(sc->m, "out of memory");
    return 0;
}

static int skip_ws(scan *sc)
{
    int c;
    do
        c = nextc(sc);
    while (c == ' ' || c == '\n' || c == '\r' || c == '\t');
    return c;
}

static int bad(scan *sc, const char *what)
{
    if (sc->oom)
        return fail(sc->m, "out of memory");
    if (ferror(sc->f))
        return fail(sc->m, "cannot read '%s': %s", sc->path, strerror(errno));
    return fail(sc->m, "'%s': not a COCO file: %s at byte %lld", sc->path, what, sc->off + (long long)sc->pos);
}

/* Bytes that end a run: in a string '"' and '\\'; in a container also
 * brackets. */
static const unsigned char in_string[256] = {['"'] = 1, ['\\'] = 1};
static const unsigned char in_container[256] = {['"'] = 1, ['\\'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1};

/* The rest of a string whose '"' was read. */
static int scan_string(scan *sc)
{
    for (;;) {
        const unsigned char *b = (const unsigned char *)sc->buf + sc->pos, *e = b + (sc->len - sc->pos), *q = b;
        while (q < e && !in_string[*q])
            q++;
        sc->pos += (size_t)(q - b);
        int c = nextc(sc);
        if (c == '"')
            return 0;
        if (c == EOF || (c == '\\' && nextc(sc) == EOF))
            return bad(sc, "unterminated string");
    }
}

/* One value whose first byte, c, was just read; captured into cap (NULL:
 * skipped). */
static int scan_value(scan *sc, int c, sx_buf *cap)
{
    if (c == EOF)
        return bad(sc, "unexpected end");
    cap_start(sc, cap);
    if (c == '"') {
        if (scan_string(sc) < 0)
            return -1;
    } else if (c == '{' || c == '[') {
        int depth = 1;
        while (depth > 0) {
            const unsigned char *b = (const unsigned char *)sc->buf + sc->pos, *e = b + (sc->len - sc->pos),
                                *q = b;
            while (q < e && !in_container[*q])
                q++;
            sc->pos += (size_t)(q - b);
            if ((c = nextc(sc)) == EOF)
                return bad(sc, "unexpected end");
            if (c == '"') {
                if (scan_string(sc) < 0)
                    return -1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
            }
        }
    } else if (c == ',' || c == ':' || c == '}' || c == ']') {
        sc->cap = NULL;
        return bad(sc, "a value expected");
    } else {
        while ((c = nextc(sc)) != EOF) {
            if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                sc->pos--; /* not part of the value */
                break;
            }
        }
    }
    return cap_end(sc);
}

static jv parse_buf(const sx_buf *b)
{
    if (b->len > (size_t)0x7fffffff)
        return jv_invalid_with_msg(jv_string("value too large"));
    return jv_parse_sized(b->len ? b->p : "", (int)b->len);
}

static int on_plan_value(sx_merge *m, int i, const char *key, size_t kl, jv v);
static int ann_fast(sx_merge *m, int i);
static int on_image(sx_merge *m, int i, const char *path, const sx_tnode *img);
static int on_name(sx_merge *m, int i, const char *path, const sx_tnode *img);
static int make_plan(sx_merge *m);
static const sx_tnode *read_image(sx_merge *m, const char *path);
static int on_ann(sx_merge *m, int i, const char *path, jv ann);

/* The key just captured in m->key (its JSON text) replaced by its value as
 * JSON reads it ("imag\u0065s" is "images"), NUL-terminated, m->key.len its
 * length. @return 0, or -1 when it is not a JSON string. */
static int read_key(sx_merge *m)
{
    const sx_tnode *k = sx_tape_parse(m->tape, m->key.p, m->key.len);
    jv v = k ? jv_invalid() : parse_buf(&m->key); /* libjq repairs what the tape refuses */
    const char *s = k ? k->u.str : jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
    size_t n = k ? k->len : s ? (size_t)jv_string_length_bytes(jv_copy(v)) : 0;
    int rc = -1;
    if (s && (!k || k->kind == SX_T_STRING)) {
        m->key.len = 0;
        rc = sx_buf_put(&m->key, s, n + 1) < 0 ? fail(m, "out of memory") : 0;
        m->key.len = n;
    }
    jv_free(v);
    return rc;
}

/* Walks shard i's file once: PASS_CHECK captures the small keys and hands
 * out the images, PASS_IMAGES and PASS_ANNS the elements of their array. */
static int scan_file(sx_merge *m, int i, int pass)
{
    shard *sh = &m->s[i];
    scan sc = {.f = fopen(sh->json, "rb"), .path = sh->json, .m = m};
    if (!sc.f)
        return fail(m, "cannot open '%s': %s", sh->json, strerror(errno));
    if (!(sc.buf = malloc(SCAN_BLOCK))) {
        fclose(sc.f);
        return fail(m, "out of memory");
    }
    int rc = -1, c = skip_ws(&sc);
    if (c != '{') {
        bad(&sc, "not a JSON object");
        goto out;
    }
    c = skip_ws(&sc);
    if (c == '}')
        goto end;
    for (;;) {
        if (c != '"') {
            bad(&sc, "a key expected");
            goto out;
        }
        m->key.len = 0;
        if (scan_value(&sc, c, &m->key) < 0)
            goto out;
        if (read_key(m) < 0) {
            bad(&sc, "a key that is not a JSON string");
            goto out;
        }
        const char *key = m->key.p;
        size_t kl = m->key.len;
        if (skip_ws(&sc) != ':') {
            bad(&sc, "':' expected");
            goto out;
        }
        int images = kl == 6 && !memcmp(key, "images", 6), anns = kl == 11 && !memcmp(key, "annotations", 11);
        c = skip_ws(&sc);
        if (images || anns) {
            if (images)
                sh->has_images = 1;
            else
                sh->has_anns = 1;
            int want = (images && pass != PASS_ANNS) || (anns && pass == PASS_ANNS);
            if (c != '[') {
                bad(&sc, images ? "\"images\" is not an array" : "\"annotations\" is not an array");
                goto out;
            }
            c = skip_ws(&sc);
            if (c != ']') {
                for (;;) {
                    m->el.len = 0;
                    if (scan_value(&sc, c, want ? &m->el : NULL) < 0)
                        goto out;
                    if (want && anns) {
                        int f = ann_fast(m, i);
                        if (f < 0)
                            goto out;
                        if (f == 1)
                            goto next_elem;
                    }
                    if (want && anns) {
                        if (on_ann(m, i, sh->json, parse_buf(&m->el)) < 0)
                            goto out;
                    } else if (want) {
                        const sx_tnode *img = read_image(m, sh->json);
                        if (!img || (pass == PASS_CHECK ? on_name(m, i, sh->json, img)
                                                        : on_image(m, i, sh->json, img)) < 0)
                            goto out;
                    }
                next_elem:
                    c = skip_ws(&sc);
                    if (c == ']')
                        break;
                    if (c != ',') {
                        bad(&sc, "',' or ']' expected");
                        goto out;
                    }
                    c = skip_ws(&sc);
                }
            }
        } else {
            m->el.len = 0;
            if (scan_value(&sc, c, pass == PASS_CHECK ? &m->el : NULL) < 0)
                goto out;
            if (pass == PASS_CHECK) {
                jv v = parse_buf(&m->el);
                if (!jv_is_valid(v)) {
                    jv msg = sx_parse_reason(v, m->el.p ? m->el.p : "", m->el.len);
                    fail(m, "'%s': \"%s\": %s", sh->json, key,
                         jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "invalid JSON");
                    jv_free(msg);
                    goto out;
                }
                if (on_plan_value(m, i, key, kl, v) < 0)
                    goto out;
            }
        }
        c = skip_ws(&sc);
        if (c == '}')
            break;
        if (c != ',') {
            bad(&sc, "',' or '}' expected");
            goto out;
        }
        c = skip_ws(&sc);
    }
end:
    if (skip_ws(&sc) != EOF) {
        bad(&sc, "trailing bytes");
        goto out;
    }
    if (ferror(sc.f)) {
        bad(&sc, "read error");
        goto out;
    }
    rc = 0;
out:
    fclose(sc.f);
    free(sc.buf);
    return rc;
}

/* ---- plan: categories and markers ---- */

static int on_plan_value(sx_merge *m, int i, const char *key, size_t kl, jv v)
{
    shard *sh = &m->s[i];
    if (kl == 10 && !memcmp(key, "categories", 10)) {
        if (jv_get_kind(v) != JV_KIND_ARRAY) {
            jv_free(v);
            return fail(m, "'%s': \"categories\" is not an array", sh->json);
        }
        jv_free(sh->cats);
        sh->cats = v;
        return 0;
    }
    if (i == 0)
        m->extra = jv_array_append(m->extra, JV_ARRAY(jv_string_sized(key, (int)kl), v));
    else
        jv_free(v);
    return 0;
}

/* The text of a scalar id, as a map key. @v borrowed. */
static jv id_key(jv v)
{
    sx_buf b = {0};
    jv k = jv_invalid();
    if (sx_json_dump(&b, v) == 0)
        k = jv_string_sized(b.p, (int)b.len);
    sx_buf_free(&b);
    return k;
}

/* A shard marker: one JSON object (export-* writes it; a text the tape
 * refuses is not one). @return it, or an invalid jv after fail(). */
static jv read_marker(sx_merge *m, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(m, "cannot read the shard marker '%s': %s", path, strerror(errno));
        return jv_invalid();
    }
    char buf[64 << 10];
    size_t n = fread(buf, 1, sizeof buf, f);
    int err = ferror(f), big = n == sizeof buf;
    fclose(f);
    if (err || big) {
        fail(m, "cannot read the shard marker '%s': %s", path, err ? "read error" : "larger than 64 KiB");
        return jv_invalid();
    }
    const sx_tnode *v = sx_tape_parse(m->tape, buf, n);
    if (!sx_tape_is(v, SX_T_OBJECT)) {
        fail(m, "'%s': not a shard marker (%s)", path, v ? "not a JSON object" : sx_tape_error(m->tape));
        return jv_invalid();
    }
    return sx_tape_value(v);
}

/* The identity of an export in a marker: everything but the shard.
 * @mk borrowed. */
static jv marker_identity(jv mk)
{
    jv id = jv_object_delete(jv_copy(mk), jv_string("shard"));
    jv src = jv_object_get(jv_copy(id), jv_string("source"));
    if (jv_get_kind(src) == JV_KIND_OBJECT)
        id = jv_object_set(id, jv_string("source"), jv_object_delete(src, jv_string("shard")));
    else
        jv_free(src);
    return id;
}

static int check_markers(sx_merge *m)
{
    int with = 0;
    for (int i = 0; i < m->n; i++)
        with += m->s[i].marker != NULL;
    if (with == 0)
        return 0;
    if (with != m->n) {
        for (int i = 0; i < m->n; i++)
            if (!m->s[i].marker)
                return fail(m, "'%s' has no shard marker (sx-shard.json) but the other shards have one: "
                               "not shards of one export", m->s[i].json);
    }
    jv first = jv_invalid(), firstid = jv_invalid();
    unsigned long total = 0;
    unsigned char *have = NULL;
    int rc = -1;
    for (int i = 0; i < m->n; i++) {
        jv mk = read_marker(m, m->s[i].marker);
        if (!jv_is_valid(mk))
            goto out;
        const char *spec = NULL;
        jv sp = jv_object_get(jv_copy(mk), jv_string("shard"));
        unsigned long si = 0, sn = 0;
        char tail = 0;
        if (jv_get_kind(sp) == JV_KIND_STRING)
            spec = jv_string_value(sp);
        if (!spec || sscanf(spec, "%lu/%lu%c", &si, &sn, &tail) != 2 || si < 1 || si > sn || sn > 1000000) {
            jv_free(sp);
            jv_free(mk);
            fail(m, "'%s': no valid shard I/N", m->s[i].marker);
            goto out;
        }
        jv_free(sp);
        jv id = marker_identity(mk);
        if (i == 0) {
            first = mk;
            firstid = id;
            total = sn;
            have = calloc(sn + 1, 1);
            if (!have) {
                fail(m, "out of memory");
                goto out;
            }
        } else {
            int same = jv_equal(jv_copy(firstid), id);
            if (!same) {
                jv a = jv_dump_string(marker_identity(first), 0);
                jv b = jv_dump_string(marker_identity(mk), 0);
                char qa[300], qb[300];
                fail(m, "'%s' and '%s' are shards of different exports: %s vs %s", m->s[0].json, m->s[i].json,
                     sx_quote(jv_string_value(a), (size_t)jv_string_length_bytes(jv_copy(a)), 150, qa, sizeof qa),
                     sx_quote(jv_string_value(b), (size_t)jv_string_length_bytes(jv_copy(b)), 150, qb, sizeof qb));
                jv_free(a);
                jv_free(b);
                jv_free(mk);
                goto out;
            }
            jv_free(mk);
            if (sn != total) {
                fail(m, "'%s' is shard %lu/%lu but '%s' is one of %lu: not one split of the export", m->s[i].json,
                     si, sn, m->s[0].json, total);
                goto out;
            }
        }
        if (have[si]) {
            fail(m, "shard %lu/%lu is given twice ('%s')", si, sn, m->s[i].json);
            goto out;
        }
        have[si] = 1;
    }
    if (!m->partial) {
        for (unsigned long k = 1; k <= total; k++)
            if (!have[k]) {
                fail(m, "shard %lu/%lu is missing (--partial merges the shards given)", k, total);
                goto out;
            }
    }
    rc = 0;
out:
    free(have);
    jv_free(first);
    jv_free(firstid);
    return rc;
}

typedef struct {
    jv cat;
    double id;
    const char *name;
} catent;

static int by_id(const void *a, const void *b)
{
    double x = ((const catent *)a)->id, y = ((const catent *)b)->id;
    return x < y ? -1 : x > y;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const catent *)a)->name, ((const catent *)b)->name);
}

/* Unifies the shards' categories by name: the ids are kept when every shard
 * agrees on them, else renumbered from 1 in name order. */
static int unify_categories(sx_merge *m)
{
    jv byname = jv_object(), byid = jv_object(), uniq = jv_array();
    int consistent = 1, rc = -1;
    catent *e = NULL;
    for (int i = 0; i < m->n; i++) {
        shard *sh = &m->s[i];
        if (jv_get_kind(sh->cats) != JV_KIND_ARRAY) {
            fail(m, "'%s': not a COCO file: no \"categories\"", sh->json);
            goto out;
        }
        if (!sh->has_images || !sh->has_anns) {
            fail(m, "'%s': not a COCO file: no \"%s\"", sh->json, sh->has_images ? "annotations" : "images");
            goto out;
        }
        jv_array_foreach(sh->cats, k, cat) {
            int obj = jv_get_kind(cat) == JV_KIND_OBJECT;
            jv id = obj ? jv_object_get(jv_copy(cat), jv_string("id")) : jv_invalid();
            jv name = obj ? jv_object_get(jv_copy(cat), jv_string("name")) : jv_invalid();
            if (!obj || jv_get_kind(id) != JV_KIND_NUMBER || jv_get_kind(name) != JV_KIND_STRING) {
                jv_free(id);
                jv_free(name);
                jv_free(cat);
                fail(m, "'%s': category %d has no numeric id or no name", sh->json, k + 1);
                goto out;
            }
            jv idk = id_key(id);
            jv had = jv_object_get(jv_copy(byname), jv_copy(name));
            if (jv_is_valid(had)) {
                jv prev = jv_array_get(jv_copy(uniq), (int)jv_number_value(had));
                jv pk = jv_object_get(jv_copy(prev), jv_string("keypoints"));
                jv ck = jv_object_get(jv_copy(cat), jv_string("keypoints"));
                jv pid = jv_object_get(prev, jv_string("id"));
                if (!jv_equal(pk, ck)) {
                    fail(m, "'%s': category '%s' has other keypoints than in '%s': not shards of one export",
                         sh->json, jv_string_value(name), m->s[0].json);
                    jv_free(pid);
                    jv_free(had);
                    jv_free(idk);
                    jv_free(id);
                    jv_free(name);
                    jv_free(cat);
                    goto out;
                }
                if (!jv_equal(pid, jv_copy(id)))
                    consistent = 0;
                jv_free(had);
                jv_free(cat);
            } else {
                jv_free(had);
                jv other = jv_object_get(jv_copy(byid), jv_copy(idk));
                if (jv_is_valid(other))
                    consistent = 0; /* the id is another name's */
                jv_free(other);
                byid = jv_object_set(byid, jv_copy(idk), jv_copy(name));
                byname = jv_object_set(byname, jv_copy(name), jv_number(jv_array_length(jv_copy(uniq))));
                uniq = jv_array_append(uniq, cat);
            }
            jv_free(idk);
            jv_free(id);
            jv_free(name);
        }
    }
    int nu = jv_array_length(jv_copy(uniq));
    e = calloc((size_t)nu + 1, sizeof *e);
    if (!e) {
        fail(m, "out of memory");
        goto out;
    }
    for (int k = 0; k < nu; k++) {
        e[k].cat = jv_array_get(jv_copy(uniq), k);
        jv id = jv_object_get(jv_copy(e[k].cat), jv_string("id"));
        e[k].id = jv_number_value(id);
        jv_free(id);
        jv nm = jv_object_get(jv_copy(e[k].cat), jv_string("name"));
        e[k].name = jv_string_value(nm); /* lives in e[k].cat */
        jv_free(nm);
    }
    qsort(e, (size_t)nu, sizeof *e, consistent ? by_id : by_name);
    jv newid = jv_object(); /* name -> new id */
    for (int k = 0; k < nu; k++) {
        jv cat = e[k].cat;
        if (!consistent)
            cat = jv_object_set(cat, jv_string("id"), jv_number(k + 1));
        jv id = jv_object_get(jv_copy(cat), jv_string("id"));
        jv nm = jv_object_get(jv_copy(cat), jv_string("name"));
        newid = jv_object_set(newid, nm, id);
        m->cats = jv_array_append(m->cats, cat);
        e[k].cat = jv_invalid();
    }
    for (int i = 0; i < m->n; i++) {
        shard *sh = &m->s[i];
        jv_array_foreach(sh->cats, k, cat) {
            jv id = jv_object_get(jv_copy(cat), jv_string("id"));
            jv nm = jv_object_get(cat, jv_string("name"));
            sh->catmap = jv_object_set(sh->catmap, id_key(id), jv_object_get(jv_copy(newid), nm));
            jv_free(id);
        }
    }
    jv_free(newid);
    rc = 0;
out:
    free(e);
    jv_free(byname);
    jv_free(byid);
    jv_free(uniq);
    return rc;
}

int sx_merge_check_shards(sx_merge *m)
{
    if (m->n == 0)
        return fail(m, "no shards to merge");
    return check_markers(m);
}

int sx_merge_check(sx_merge *m)
{
    if (m->n == 0)
        return fail(m, "no shards to merge");
    if (check_markers(m) < 0)
        return -1;
    for (int i = 0; i < m->n; i++)
        if (scan_file(m, i, PASS_CHECK) < 0)
            return -1;
    if (unify_categories(m) < 0)
        return -1;
    return make_plan(m);
}

/* ---- writing ---- */

static int flush_out(sx_merge *m, int force)
{
    if (m->out.len == 0 || (!force && m->out.len < (1 << 20)))
        return 0;
    if (m->write(m->ctx, m->out.p, m->out.len) < 0)
        return fail(m, "cannot write the merged file: %s", strerror(errno));
    m->out.len = 0;
    return 0;
}

static int put_str(sx_merge *m, const char *s)
{
    return sx_buf_puts(&m->out, s) < 0 ? fail(m, "out of memory") : 0;
}

/* Appends `v` as one element of the array being written. @v consumed. */
static int put_elem(sx_merge *m, jv v)
{
    int rc = put_str(m, m->first ? "\n" : ",\n");
    m->first = 0;
    if (rc == 0 && sx_json_dump(&m->out, v) < 0)
        rc = fail(m, "out of memory");
    jv_free(v);
    return rc < 0 ? -1 : flush_out(m, 0);
}

/* An image element (in m->el) onto the tape: strict JSON directly, else
 * through libjq, which refuses it or repairs it (as the converters do).
 * @return it (an object), or NULL after fail(). */
static const sx_tnode *read_image(sx_merge *m, const char *path)
{
    const sx_tnode *img = sx_tape_parse(m->tape, m->el.p, m->el.len);
    if (!img) {
        jv v = parse_buf(&m->el);
        if (jv_is_valid(v))
            img = sx_tape_parse_jv(m->tape, v);
        jv_free(v);
    }
    if (!img || img->kind != SX_T_OBJECT) {
        fail(m, "'%s': image %llu is not a JSON object", path, (unsigned long long)m->nimg + 1);
        return NULL;
    }
    return img;
}

/* The compact JSON text of a scalar, into m->kb after `prefix`
 * (NUL-terminated). @return 0, or -1 when out of memory. */
static int key_text(sx_merge *m, const char *prefix, const sx_tnode *v)
{
    m->kb.len = 0;
    if (sx_buf_puts(&m->kb, prefix) < 0)
        return -1;
    int rc;
    if (v->kind == SX_T_STRING) {
        rc = sx_json_string(&m->kb, v->u.str, v->len);
    } else if (v->kind == SX_T_NUMBER) {
        rc = sx_json_number(&m->kb, v->u.num);
    } else {
        jv j = sx_tape_value(v);
        rc = sx_json_dump(&m->kb, j);
        jv_free(j);
    }
    if (rc < 0 || sx_buf_reserve(&m->kb, 1) < 0)
        return -1;
    m->kb.p[m->kb.len] = 0;
    return 0;
}

/* The key that tells images apart, into m->kb: "i" + sx_item as JSON, else
 * "n" + file_name. */
static int image_key(sx_merge *m, const sx_tnode *name, const sx_tnode *item)
{
    if (!item || item->kind == SX_T_NULL) {
        m->kb.len = 0;
        if (sx_buf_put(&m->kb, "n", 1) < 0 || sx_buf_put(&m->kb, name->u.str, name->len + 1) < 0)
            return -1;
        m->kb.len--; /* NUL-terminated, not counted */
        return 0;
    }
    return key_text(m, "i", item);
}

/* ---- the plan: what becomes of each image, decided before anything is
 * written, in memory that does not grow with the number of images ----
 *
 * g numbers the images in the order they are read (shard by shard, in file
 * order), every image, duplicates included. PASS_CHECK writes a record per
 * image to pg (in g order) and to bykey. Sorted by image key, the records
 * say which images repeat an earlier one (dropped); sorted again by
 * file_name, which image owns each name (the smallest sx_item, the first
 * on a tie, as the single-pass rule met them) and the g of the image kept
 * under its own name (owned). Back in g order beside pg, each image gets
 * its new id and name (plan), and its old id goes to ids for the
 * annotations. A name is in use at image g when an image before g was
 * kept under it (owned says which) or was renamed to it (fresh): only the
 * names made up for renamed images are held in memory. */

#define SORT_MEM (8u << 20) /* bytes of records a sorter holds */
#define GROUP_MEM (4u << 20) /* bytes of one file_name's records held */

static int rec_u32(sx_buf *b, uint32_t v) { return sx_buf_put(b, &v, 4); }
static int rec_u8(sx_buf *b, int v) { unsigned char c = (unsigned char)v; return sx_buf_put(b, &c, 1); }
static int rec_f64(sx_buf *b, double v) { return sx_buf_put(b, &v, 8); }
static int rec_u64(sx_buf *b, uint64_t v) { return sx_buf_put(b, &v, 8); }
static int rec_str(sx_buf *b, const void *p, size_t n)
{
    return rec_u32(b, (uint32_t)n) < 0 ? -1 : n ? sx_buf_put(b, p, n) : 0;
}
/* The key and sequence number that sx_extsort orders by. */
static int rec_head(sx_buf *b, const void *key, size_t kl, uint64_t g)
{
    unsigned char be[8];
    for (int k = 0; k < 8; k++)
        be[k] = (unsigned char)(g >> (56 - 8 * k));
    b->len = 0;
    return rec_str(b, key, kl) < 0 ? -1 : sx_buf_put(b, be, 8);
}

/* A record being read: fields in the order written; `bad` when short. */
typedef struct {
    const unsigned char *p, *e;
    int bad;
} rd;

static const void *rd_bytes(rd *r, size_t n)
{
    if ((size_t)(r->e - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const void *q = r->p;
    r->p += n;
    return q;
}
static uint32_t rd_u32(rd *r) { uint32_t v = 0; const void *q = rd_bytes(r, 4); if (q) memcpy(&v, q, 4); return v; }
static uint64_t rd_u64(rd *r) { uint64_t v = 0; const void *q = rd_bytes(r, 8); if (q) memcpy(&v, q, 8); return v; }
static double rd_f64(rd *r) { double v = 0; const void *q = rd_bytes(r, 8); if (q) memcpy(&v, q, 8); return v; }
static int rd_u8(rd *r) { const unsigned char *q = rd_bytes(r, 1); return q ? *q : 0; }
static const char *rd_str(rd *r, size_t *n)
{
    *n = rd_u32(r);
    return r->bad ? "" : (const char *)rd_bytes(r, *n);
}
static uint64_t rd_be(rd *r)
{
    const unsigned char *q = rd_bytes(r, 8);
    uint64_t v = 0;
    for (int k = 0; q && k < 8; k++)
        v = v << 8 | q[k];
    return v;
}

/* Sequential files of records: [u32 length][bytes]. */
static int file_put(sx_merge *m, FILE *f, const sx_buf *b)
{
    uint32_t n = (uint32_t)b->len;
    if (fwrite(&n, 4, 1, f) != 1 || fwrite(b->p, 1, b->len, f) != b->len)
        return fail(m, "cannot write a temporary file: %s", strerror(errno));
    return 0;
}
/* @return 1 with the record in b, 0 at the end, -1 error */
static int file_get(sx_merge *m, FILE *f, sx_buf *b)
{
    uint32_t n;
    if (fread(&n, 4, 1, f) != 1)
        return ferror(f) ? fail(m, "cannot read a temporary file: %s", strerror(errno)) : 0;
    b->len = 0;
    if (sx_buf_reserve(b, n + 1) < 0)
        return fail(m, "out of memory");
    if (fread(b->p, 1, n, f) != n)
        return fail(m, "cannot read a temporary file: truncated");
    b->len = n;
    return 1;
}

static FILE *temp_stream(sx_merge *m)
{
    FILE *f = sx_extsort_tmpfile();
    if (!f)
        fail(m, "cannot create a temporary file: %s", strerror(errno));
    return f;
}

/* The tag of the names made up for an image: its sx_item, made safe for a
 * path; "x" without one. */
static void rename_tag(const sx_tnode *item, char tag[64])
{
    snprintf(tag, 64, "x");
    if (sx_tape_is(item, SX_T_STRING))
        snprintf(tag, 64, "%s", item->u.str);
    else if (sx_tape_is(item, SX_T_NUMBER))
        snprintf(tag, 64, "%.17g", item->u.num);
    for (char *p = tag; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            *p = '_';
}

/* PASS_CHECK: an image's records for the plan. */
static int on_name(sx_merge *m, int i, const char *path, const sx_tnode *img)
{
    const sx_tnode *name = sx_tget(img, "file_name"), *item = sx_tget(img, "sx_item"), *id = sx_tget(img, "id");
    if (!sx_tape_is(name, SX_T_STRING))
        return fail(m, "'%s': an image without file_name", path);
    if (!m->pg && !(m->pg = temp_stream(m)))
        return -1;
    if (!m->bykey && !(m->bykey = sx_extsort_new(SORT_MEM)))
        return fail(m, "out of memory");
    int idok = sx_tape_is(id, SX_T_NUMBER) || sx_tape_is(id, SX_T_STRING);
    char tag[64];
    rename_tag(item, tag);
    m->kb.len = 0;
    m->rec.len = 0;
    if ((idok && key_text(m, "", id) < 0) || rec_u32(&m->rec, (uint32_t)i) < 0 || rec_u8(&m->rec, idok) < 0 ||
        rec_str(&m->rec, m->kb.p, m->kb.len) < 0 || rec_str(&m->rec, name->u.str, name->len) < 0 ||
        rec_str(&m->rec, tag, strlen(tag)) < 0)
        return fail(m, "out of memory");
    if (file_put(m, m->pg, &m->rec) < 0)
        return -1;
    if (image_key(m, name, item) < 0 || rec_head(&m->rec, m->kb.p, m->kb.len, m->nall) < 0 ||
        rec_str(&m->rec, name->u.str, name->len) < 0 || rec_u8(&m->rec, sx_tape_is(item, SX_T_NUMBER)) < 0 ||
        rec_f64(&m->rec, sx_tape_is(item, SX_T_NUMBER) ? item->u.num : 0) < 0)
        return fail(m, "out of memory");
    if (sx_extsort_add(m->bykey, m->rec.p, m->rec.len) < 0)
        return fail(m, "cannot sort the images: %s", strerror(errno));
    m->s[i].nimages++;
    m->nall++;
    return 0;
}

/* Sorted by image key: every image but the first of its key is a
 * duplicate. Feeds `byname`. */
static int plan_duplicates(sx_merge *m, sx_extsort *byname)
{
    if (sx_extsort_done(m->bykey) < 0)
        return fail(m, "cannot sort the images: %s", strerror(errno));
    sx_buf prev = {0};
    int rc = 0, have = 0, k;
    const void *p;
    size_t n;
    while (rc == 0 && (k = sx_extsort_next(m->bykey, &p, &n)) == 1) {
        rd r = {p, (const unsigned char *)p + n, 0};
        size_t kl, nl;
        const char *key = rd_str(&r, &kl);
        uint64_t g = rd_be(&r);
        const char *name = rd_str(&r, &nl);
        int isnum = rd_u8(&r);
        double num = rd_f64(&r);
        int dup = have && prev.len == kl && !memcmp(prev.p, key, kl);
        if (!dup) {
            prev.len = 0;
            if (sx_buf_put(&prev, key, kl) < 0)
                rc = fail(m, "out of memory");
            have = 1;
        }
        if (rc == 0 && (rec_head(&m->rec, name, nl, g) < 0 || rec_str(&m->rec, key, kl) < 0 ||
                        rec_u8(&m->rec, isnum) < 0 || rec_f64(&m->rec, num) < 0 || rec_u8(&m->rec, dup) < 0))
            rc = fail(m, "out of memory");
        if (rc == 0 && sx_extsort_add(byname, m->rec.p, m->rec.len) < 0)
            rc = fail(m, "cannot sort the images: %s", strerror(errno));
    }
    if (rc == 0 && k < 0)
        rc = fail(m, "cannot sort the images: %s", strerror(errno));
    sx_buf_free(&prev);
    sx_extsort_free(m->bykey);
    m->bykey = NULL;
    return rc;
}

/* One image of a file_name group, as plan_owners() reads it back. */
typedef struct {
    uint64_t g;
    const char *key;
    size_t kl;
    int isnum, dup;
    double num;
} member;

static int member_read(const void *p, size_t n, member *e, const char **name, size_t *nl)
{
    rd r = {p, (const unsigned char *)p + n, 0};
    *name = rd_str(&r, nl);
    e->g = rd_be(&r);
    e->key = rd_str(&r, &e->kl);
    e->isnum = rd_u8(&r);
    e->num = rd_f64(&r);
    e->dup = rd_u8(&r);
    return r.bad ? -1 : 0;
}

/* item_cmp() on the records: sx_items by value when both are numbers,
 * else by their JSON text (the image key after its "i"; "null" for none). */
static int member_cmp(const member *a, const member *b)
{
    if (a->isnum && b->isnum)
        return a->num < b->num ? -1 : a->num > b->num;
    const char *x = a->key[0] == 'i' ? a->key + 1 : "null", *y = b->key[0] == 'i' ? b->key + 1 : "null";
    size_t xl = a->key[0] == 'i' ? a->kl - 1 : 4, yl = b->key[0] == 'i' ? b->kl - 1 : 4;
    int c = memcmp(x, y, xl < yl ? xl : yl);
    return c ? (c > 0) - (c < 0) : (xl > yl) - (xl < yl);
}

/* The records of one file_name, in g order: in memory, or in a temporary
 * file past GROUP_MEM (a name that a million images share). */
typedef struct {
    sx_buf mem;
    FILE *spill;
    size_t pos;
} group;

static int group_add(sx_merge *m, group *gr, const void *p, size_t n)
{
    uint32_t n32 = (uint32_t)n;
    if (!gr->spill && gr->mem.len + n + 4 > GROUP_MEM) {
        if (!(gr->spill = temp_stream(m)))
            return -1;
        if (fwrite(gr->mem.p, 1, gr->mem.len, gr->spill) != gr->mem.len)
            return fail(m, "cannot write a temporary file: %s", strerror(errno));
        gr->mem.len = 0;
    }
    if (gr->spill)
        return fwrite(&n32, 4, 1, gr->spill) == 1 && fwrite(p, 1, n, gr->spill) == n
                   ? 0 : fail(m, "cannot write a temporary file: %s", strerror(errno));
    return sx_buf_put(&gr->mem, &n32, 4) < 0 || sx_buf_put(&gr->mem, p, n) < 0 ? fail(m, "out of memory") : 0;
}

static int group_rewind(sx_merge *m, group *gr)
{
    gr->pos = 0;
    if (gr->spill && (fflush(gr->spill) != 0 || fseek(gr->spill, 0, SEEK_SET) != 0))
        return fail(m, "cannot read a temporary file: %s", strerror(errno));
    return 0;
}

/* @return 1 with a record in *p, 0 at the end, -1 error */
static int group_next(sx_merge *m, group *gr, const void **p, size_t *n)
{
    if (gr->spill) {
        int k = file_get(m, gr->spill, &m->el);
        *p = m->el.p;
        *n = m->el.len;
        return k;
    }
    if (gr->pos >= gr->mem.len)
        return 0;
    uint32_t n32;
    memcpy(&n32, gr->mem.p + gr->pos, 4);
    *p = gr->mem.p + gr->pos + 4;
    *n = n32;
    gr->pos += 4 + (size_t)n32;
    return 1;
}

static void group_clear(group *gr)
{
    gr->mem.len = 0;
    gr->pos = 0;
    if (gr->spill)
        fclose(gr->spill);
    gr->spill = NULL;
}

/* One file_name's images: who owns the name, which image keeps it. */
static int plan_group(sx_merge *m, group *gr, sx_extsort *byg)
{
    const void *p;
    size_t n, nl;
    const char *name;
    member e, own = {0, "", 0, 0, 0, 0};
    int k;
    sx_buf ownkey = {0};
    int rc = group_rewind(m, gr), first = 1;
    while (rc == 0 && (k = group_next(m, gr, &p, &n)) == 1) {
        if (member_read(p, n, &e, &name, &nl) < 0) {
            rc = fail(m, "cannot read a temporary file: a short record");
            break;
        }
        if (first || member_cmp(&e, &own) < 0) {
            ownkey.len = 0;
            if (sx_buf_put(&ownkey, e.key, e.kl) < 0) {
                rc = fail(m, "out of memory");
                break;
            }
            own = e;
            own.key = ownkey.p;
        }
        first = 0;
    }
    if (rc == 0 && k < 0)
        rc = -1;
    if (rc == 0)
        rc = group_rewind(m, gr);
    int put = 0;
    while (rc == 0 && (k = group_next(m, gr, &p, &n)) == 1) {
        member_read(p, n, &e, &name, &nl);
        int mine = e.kl == own.kl && !memcmp(e.key, own.key, e.kl);
        if (mine && !e.dup && !put) {
            if (sx_kvtab_put(m->owned, name, nl, e.g) < 0)
                rc = fail(m, "cannot write a temporary file: %s", strerror(errno));
            put = 1;
        }
        if (rc == 0 && (rec_head(&m->rec, "", 0, e.g) < 0 || rec_u8(&m->rec, e.dup) < 0 || rec_u8(&m->rec, mine) < 0))
            rc = fail(m, "out of memory");
        if (rc == 0 && sx_extsort_add(byg, m->rec.p, m->rec.len) < 0)
            rc = fail(m, "cannot sort the images: %s", strerror(errno));
    }
    if (rc == 0 && k < 0)
        rc = -1;
    sx_buf_free(&ownkey);
    group_clear(gr);
    return rc;
}

/* Sorted by file_name: the owners; feeds `byg` (back in g order). */
static int plan_owners(sx_merge *m, sx_extsort *byname, sx_extsort *byg)
{
    if (sx_extsort_done(byname) < 0)
        return fail(m, "cannot sort the images: %s", strerror(errno));
    if (!(m->owned = sx_kvtab_new()))
        return fail(m, "cannot create a temporary file: %s", strerror(errno));
    group gr = {{0}, NULL, 0};
    sx_buf cur = {0};
    const void *p;
    size_t n;
    int k, rc = 0, have = 0;
    while (rc == 0 && (k = sx_extsort_next(byname, &p, &n)) == 1) {
        rd r = {p, (const unsigned char *)p + n, 0};
        size_t nl;
        const char *name = rd_str(&r, &nl);
        if (have && !(cur.len == nl && !memcmp(cur.p, name, nl)))
            rc = plan_group(m, &gr, byg);
        if (rc == 0 && !(have && cur.len == nl && !memcmp(cur.p, name, nl))) {
            cur.len = 0;
            if (sx_buf_put(&cur, name, nl) < 0)
                rc = fail(m, "out of memory");
            have = 1;
        }
        if (rc == 0)
            rc = group_add(m, &gr, p, n);
    }
    if (rc == 0 && k < 0)
        rc = fail(m, "cannot sort the images: %s", strerror(errno));
    if (rc == 0 && have)
        rc = plan_group(m, &gr, byg);
    if (rc == 0 && sx_kvtab_done(m->owned) < 0)
        rc = fail(m, "cannot write a temporary file: %s", strerror(errno));
    group_clear(&gr);
    sx_buf_free(&gr.mem);
    sx_buf_free(&cur);
    return rc;
}

/* 1 when `name` is in use before image g: kept by an earlier image under
 * its own name, or made up for an earlier renamed image. */
static int name_taken(sx_merge *m, const char *name, size_t nl, uint64_t g)
{
    if (sm_get(&m->fresh, name, nl))
        return 1;
    uint64_t at;
    int k = sx_kvtab_get(m->owned, name, nl, &at);
    return k < 0 ? -1 : k == 1 && at < g;
}

/* The name for an image whose file_name is taken: stem_<tag>[_k].ext, into
 * m->fn. @return 0, or -1. */
static int fresh_name(sx_merge *m, const char *name, const char *tag, uint64_t g)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || strchr(dot, '/'))
        dot = name + strlen(name);
    for (int k = 0;; k++) {
        jv n = k ? jv_string_fmt("%.*s_%s_%d%s", (int)(dot - name), name, tag, k, dot)
                 : jv_string_fmt("%.*s_%s%s", (int)(dot - name), name, tag, dot);
        const char *s = jv_string_value(n);
        size_t sl = (size_t)jv_string_length_bytes(jv_copy(n));
        int t = name_taken(m, s, sl, g);
        if (t == 0) {
            m->fn.len = 0;
            t = sx_buf_put(&m->fn, s, sl) < 0 || sm_put(&m->fresh, s, sl, 1) < 0 ? -2 : 0;
        }
        jv_free(n);
        if (t == 0)
            return 0;
        if (t < 0)
            return t == -1 ? fail(m, "cannot read a temporary file: %s", strerror(errno)) : fail(m, "out of memory");
    }
}

/* Back in g order, beside pg: each image's new id and name into plan, its
 * old id into byid. @return 0, or -1; an image without an id stops the
 * plan there (*bad_g), as the write would have. */
static int plan_images(sx_merge *m, sx_extsort *byg, sx_extsort *byid, uint64_t *bad_g, int *bad_shard)
{
    if (sx_extsort_done(byg) < 0)
        return fail(m, "cannot sort the images: %s", strerror(errno));
    if (!(m->plan = temp_stream(m)))
        return -1;
    if (m->pg && (fflush(m->pg) != 0 || fseek(m->pg, 0, SEEK_SET) != 0))
        return fail(m, "cannot read a temporary file: %s", strerror(errno));
    uint64_t kept = 0;
    sx_buf line = {0};
    int rc = 0;
    for (uint64_t g = 0; rc == 0 && g < m->nall; g++) {
        const void *p;
        size_t n, il, nl, tl;
        if (file_get(m, m->pg, &line) != 1 || sx_extsort_next(byg, &p, &n) != 1) {
            rc = *m->err ? -1 : fail(m, "cannot read a temporary file: a record missing");
            break;
        }
        rd a = {(const unsigned char *)line.p, (const unsigned char *)line.p + line.len, 0}, b = {p, (const unsigned char *)p + n, 0};
        int shard = (int)rd_u32(&a), idok = rd_u8(&a);
        const char *id = rd_str(&a, &il), *name = rd_str(&a, &nl), *tag = rd_str(&a, &tl);
        rd_str(&b, &n);
        uint64_t bg = rd_be(&b);
        int dup = rd_u8(&b), mine = rd_u8(&b);
        if (a.bad || b.bad || bg != g) {
            rc = fail(m, "cannot read a temporary file: records out of step");
            break;
        }
        if (!idok) {
            *bad_g = g;
            *bad_shard = shard;
            break;
        }
        int renamed = 0;
        uint64_t newid = 0;
        if (!dup) {
            char cname[4096], ctag[64];
            int taken = mine ? name_taken(m, name, nl, g) : 1;
            if (taken < 0) {
                rc = fail(m, "cannot read a temporary file: %s", strerror(errno));
                break;
            }
            if (taken) {
                /* C strings, as the names were made before */
                char *cn = nl < sizeof cname ? cname : malloc(nl + 1);
                if (!cn) {
                    rc = fail(m, "out of memory");
                    break;
                }
                memcpy(cn, name, nl);
                cn[nl] = 0;
                memcpy(ctag, tag, tl < 63 ? tl : 63);
                ctag[tl < 63 ? tl : 63] = 0;
                rc = fresh_name(m, cn, ctag, g);
                if (cn != cname)
                    free(cn);
                renamed = 1;
            }
            newid = ++kept;
        }
        unsigned char sh[4] = {(unsigned char)(shard >> 24), (unsigned char)(shard >> 16), (unsigned char)(shard >> 8),
                               (unsigned char)shard};
        m->kb.len = 0;
        if (rc == 0 && (sx_buf_put(&m->kb, sh, 4) < 0 || sx_buf_put(&m->kb, id, il) < 0 ||
                        rec_head(&m->rec, m->kb.p, m->kb.len, g) < 0 || rec_u64(&m->rec, newid) < 0))
            rc = fail(m, "out of memory");
        if (rc == 0 && sx_extsort_add(byid, m->rec.p, m->rec.len) < 0)
            rc = fail(m, "cannot sort the images: %s", strerror(errno));
        m->rec.len = 0;
        if (rc == 0 && (rec_u64(&m->rec, newid) < 0 || rec_u8(&m->rec, renamed) < 0 ||
                        rec_str(&m->rec, renamed ? m->fn.p : "", renamed ? m->fn.len : 0) < 0))
            rc = fail(m, "out of memory");
        if (rc == 0)
            rc = file_put(m, m->plan, &m->rec);
    }
    sx_buf_free(&line);
    if (m->pg) {
        fclose(m->pg);
        m->pg = NULL;
    }
    if (rc == 0 && fflush(m->plan) != 0)
        rc = fail(m, "cannot write a temporary file: %s", strerror(errno));
    return rc;
}

/* Sorted by shard and old id: the id map, and the first image whose id its
 * shard already had (*dup_g). */
static int plan_ids(sx_merge *m, sx_extsort *byid, uint64_t *dup_g, sx_buf *dup_key)
{
    if (sx_extsort_done(byid) < 0)
        return fail(m, "cannot sort the images: %s", strerror(errno));
    if (!(m->ids = sx_kvtab_new()))
        return fail(m, "cannot create a temporary file: %s", strerror(errno));
    sx_buf prev = {0};
    const void *p;
    size_t n;
    int k, rc = 0, have = 0;
    while (rc == 0 && (k = sx_extsort_next(byid, &p, &n)) == 1) {
        rd r = {p, (const unsigned char *)p + n, 0};
        size_t kl;
        const char *key = rd_str(&r, &kl);
        uint64_t g = rd_be(&r), newid = rd_u64(&r);
        if (have && prev.len == kl && !memcmp(prev.p, key, kl)) {
            if (g < *dup_g) {
                *dup_g = g;
                dup_key->len = 0;
                if (sx_buf_put(dup_key, key, kl) < 0)
                    rc = fail(m, "out of memory");
            }
            continue;
        }
        prev.len = 0;
        have = 1;
        if (sx_buf_put(&prev, key, kl) < 0)
            rc = fail(m, "out of memory");
        else if (sx_kvtab_put(m->ids, key, kl, newid) < 0)
            rc = fail(m, "cannot write a temporary file: %s", strerror(errno));
    }
    if (rc == 0 && k < 0)
        rc = fail(m, "cannot sort the images: %s", strerror(errno));
    if (rc == 0 && sx_kvtab_done(m->ids) < 0)
        rc = fail(m, "cannot write a temporary file: %s", strerror(errno));
    sx_buf_free(&prev);
    return rc;
}

/* The whole plan, after PASS_CHECK. Refuses what the write would have
 * refused at an image (no id, an id twice in a shard), naming the first. */
static int make_plan(sx_merge *m)
{
    sx_extsort *byname = sx_extsort_new(SORT_MEM), *byg = sx_extsort_new(SORT_MEM), *byid = sx_extsort_new(SORT_MEM);
    uint64_t bad_g = UINT64_MAX, dup_g = UINT64_MAX;
    int bad_shard = 0, rc = -1;
    sx_buf dup_key = {0};
    if (!byname || !byg || !byid) {
        fail(m, "out of memory");
        goto out;
    }
    if (!m->bykey && !(m->bykey = sx_extsort_new(SORT_MEM))) {
        fail(m, "out of memory");
        goto out;
    }
    if (plan_duplicates(m, byname) < 0 || plan_owners(m, byname, byg) < 0)
        goto out;
    sx_extsort_free(byname);
    byname = NULL;
    if (plan_images(m, byg, byid, &bad_g, &bad_shard) < 0)
        goto out;
    sx_extsort_free(byg);
    byg = NULL;
    if (plan_ids(m, byid, &dup_g, &dup_key) < 0)
        goto out;
    if (dup_g < bad_g) {
        int sh = (int)((unsigned char)dup_key.p[0] << 24 | (unsigned char)dup_key.p[1] << 16 |
                       (unsigned char)dup_key.p[2] << 8 | (unsigned char)dup_key.p[3]);
        fail(m, "'%s': image id %.*s appears twice", m->s[sh].json, (int)dup_key.len - 4, dup_key.p + 4);
        goto out;
    }
    if (bad_g != UINT64_MAX) {
        fail(m, "'%s': an image without id or file_name", m->s[bad_shard].json);
        goto out;
    }
    rc = 0;
out:
    sx_extsort_free(byname);
    sx_extsort_free(byg);
    sx_extsort_free(byid);
    sx_buf_free(&dup_key);
    return rc;
}

/* Appends the image with a new id and file_name; its other members are
 * copied as the shard has them. */
static int put_image(sx_merge *m, const sx_tnode *img, uint64_t id, const char *name, size_t nl)
{
    const char *text = sx_tape_text(m->tape);
    int rc = put_str(m, m->first ? "\n{" : ",\n{");
    m->first = 0;
    const sx_tnode *k = sx_tape_first(img);
    for (uint32_t j = 0; rc == 0 && j < img->len; j++, k = sx_tape_after(k + 1)) {
        const sx_tnode *v = k + 1;
        if (j && put_str(m, ",") < 0)
            return -1;
        if (sx_buf_reserve(&m->out, (k->end - k->start) + 1 + (v->end - v->start) + nl * 6 + 24) < 0)
            return fail(m, "out of memory");
        memcpy(m->out.p + m->out.len, text + k->start, k->end - k->start);
        m->out.len += k->end - k->start;
        m->out.p[m->out.len++] = ':';
        if (k->len == 2 && !memcmp(k->u.str, "id", 2)) {
            rc = sx_json_number(&m->out, (double)id);
        } else if (k->len == 9 && !memcmp(k->u.str, "file_name", 9)) {
            rc = sx_json_string(&m->out, name, nl);
        } else {
            memcpy(m->out.p + m->out.len, text + v->start, v->end - v->start);
            m->out.len += v->end - v->start;
        }
    }
    if (rc < 0 || put_str(m, "}") < 0)
        return fail(m, "out of memory");
    return flush_out(m, 0);
}

/* PASS_IMAGES: the image as the plan says. */
static int on_image(sx_merge *m, int i, const char *path, const sx_tnode *img)
{
    const sx_tnode *name = sx_tget(img, "file_name");
    int k = file_get(m, m->plan, &m->rec);
    if (k < 0)
        return -1;
    rd r = {(const unsigned char *)m->rec.p, (const unsigned char *)m->rec.p + m->rec.len, 0};
    uint64_t newid = rd_u64(&r);
    int renamed = rd_u8(&r);
    size_t fl;
    const char *fn = rd_str(&r, &fl);
    if (k == 0 || r.bad || !sx_tape_is(name, SX_T_STRING) || (newid && newid != m->nimg + 1))
        return fail(m, "'%s': the file changed while it was merged", path);
    if (!newid) { /* the same item in an earlier image: kept there */
        m->dups++;
        return 0;
    }
    m->nimg++;
    if (!renamed) {
        fn = name->u.str;
        fl = name->len;
    } else {
        m->renamed++;
        /* NUL-terminated for the callback */
        m->fn.len = 0;
        if (sx_buf_put(&m->fn, fn, fl) < 0 || sx_buf_put(&m->fn, "", 1) < 0)
            return fail(m, "out of memory");
        fn = m->fn.p;
    }
    if (m->on_image && m->on_image(m->ctx, i, name->u.str, fn) < 0)
        return fail(m, "cannot write a file record: %s", strerror(errno));
    return put_image(m, img, m->nimg, fn, fl);
}

/* The new id of image `id` (its text) of shard i. @return 1 with *newid,
 * 0 when the shard has no such image, -1 error. */
static int image_newid(sx_merge *m, int i, const char *id, size_t il, uint64_t *newid)
{
    unsigned char sh[4] = {(unsigned char)(i >> 24), (unsigned char)(i >> 16), (unsigned char)(i >> 8), (unsigned char)i};
    m->kb.len = 0;
    if (sx_buf_put(&m->kb, sh, 4) < 0 || sx_buf_put(&m->kb, id, il) < 0)
        return fail(m, "out of memory");
    if (!m->ids)
        return 0;
    int k = sx_kvtab_get(m->ids, m->kb.p, m->kb.len, newid);
    return k < 0 ? fail(m, "cannot read a temporary file: %s", strerror(errno)) : k;
}

/* 1 when v (borrowed) can be an image or category id: a number or a string. */
static int is_id(jv v) { return jv_get_kind(v) == JV_KIND_NUMBER || jv_get_kind(v) == JV_KIND_STRING; }

static int on_ann(sx_merge *m, int i, const char *path, jv ann)
{
    shard *sh = &m->s[i];
    if (jv_get_kind(ann) != JV_KIND_OBJECT) {
        jv_free(ann);
        return fail(m, "'%s': annotation %llu is not a JSON object", path, (unsigned long long)m->nann + 1);
    }
    jv img = jv_object_get(jv_copy(ann), jv_string("image_id"));
    jv cat = jv_object_get(jv_copy(ann), jv_string("category_id"));
    if (!is_id(img) || !is_id(cat)) {
        fail(m, "'%s': annotation %llu has no %s (a number or a string)", path, (unsigned long long)m->nann + 1,
             is_id(img) ? "category_id" : "image_id");
        jv_free(img);
        jv_free(cat);
        jv_free(ann);
        return -1;
    }
    jv ik = id_key(img), ck = id_key(cat);
    uint64_t ni = 0;
    int found = jv_is_valid(ik) ? image_newid(m, i, jv_string_value(ik), (size_t)jv_string_length_bytes(jv_copy(ik)), &ni) : 0;
    jv_free(ik);
    if (found < 0) {
        jv_free(ck);
        jv_free(img);
        jv_free(cat);
        jv_free(ann);
        return -1;
    }
    jv newimg = found ? jv_number((double)ni) : jv_invalid();
    jv newcat = jv_is_valid(ck) ? jv_object_get(jv_copy(sh->catmap), ck) : ck;
    int rc = -1;
    if (!jv_is_valid(newimg)) {
        fail(m, "'%s': an annotation refers to image %g, which is not in the file", path,
             jv_get_kind(img) == JV_KIND_NUMBER ? jv_number_value(img) : -1.0);
    } else if (!jv_is_valid(newcat)) {
        fail(m, "'%s': an annotation refers to category %g, which is not in the file", path,
             jv_get_kind(cat) == JV_KIND_NUMBER ? jv_number_value(cat) : -1.0);
    } else if (jv_number_value(newimg) == 0) {
        rc = 0; /* its image was a duplicate */
    } else {
        m->nann++;
        ann = jv_object_set(ann, jv_string("id"), jv_number((double)m->nann));
        ann = jv_object_set(ann, jv_string("image_id"), jv_copy(newimg));
        ann = jv_object_set(ann, jv_string("category_id"), jv_copy(newcat));
        rc = put_elem(m, ann);
        ann = jv_invalid();
    }
    jv_free(ann);
    jv_free(img);
    jv_free(cat);
    jv_free(newimg);
    jv_free(newcat);
    return rc;
}

/* Writes v in decimal at p. @return its length. */
static int put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while (v /= 10);
    for (int k = 0; k < n; k++)
        p[k] = tmp[n - 1 - k];
    return n;
}

/* Matches `prefix` then a canonical integer at *p; advances *p past both and
 * sets the integer's text. @return 1 on a match, 0 otherwise. */
static int take_int(const char **p, const char *end, const char *prefix, const char **num, size_t *len)
{
    size_t n = strlen(prefix);
    const char *q = *p;
    if ((size_t)(end - q) < n || memcmp(q, prefix, n))
        return 0;
    q += n;
    const char *d = q;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    size_t k = (size_t)(q - d);
    if (k == 0 || k > 15 || (k > 1 && *d == '0') || q >= end || (*q != ',' && *q != '}'))
        return 0;
    *num = d;
    *len = k;
    *p = q;
    return 1;
}

/* The annotations sx-convert-coco writes begin {"id":N,"image_id":N,
 * "category_id":N: those are rewritten in place, without a parse.
 * @return 1 done, 0 not that form (parse it), -1 error. */
static int ann_fast(sx_merge *m, int i)
{
    shard *sh = &m->s[i];
    const char *p = m->el.p, *end = m->el.p + m->el.len, *idn, *img, *cat;
    size_t idl, imgl, catl;
    if (!take_int(&p, end, "{\"id\":", &idn, &idl) || !take_int(&p, end, ",\"image_id\":", &img, &imgl) ||
        !take_int(&p, end, ",\"category_id\":", &cat, &catl))
        return 0;
    /* the rest is copied as it is: only from an element that is strict JSON
     * (UTF-8 included) and names none of the three keys again, in any
     * spelling; anything else takes the slow path, which parses it */
    const sx_tnode *el = sx_tape_parse(m->tape, m->el.p, m->el.len);
    if (!sx_tape_is(el, SX_T_OBJECT))
        return 0;
    int seen = 0;
    const sx_tnode *k = sx_tape_first(el);
    for (uint32_t j = 0; j < el->len; j++, k = sx_tape_after(k + 1))
        seen += (k->len == 2 && !memcmp(k->u.str, "id", 2)) || (k->len == 8 && !memcmp(k->u.str, "image_id", 8)) ||
                (k->len == 11 && !memcmp(k->u.str, "category_id", 11));
    if (seen != 3)
        return 0;
    uint64_t newimg = 0;
    int found = image_newid(m, i, img, imgl, &newimg);
    if (found < 0)
        return -1;
    jv nc = jv_object_get(jv_copy(sh->catmap), jv_string_sized(cat, (int)catl));
    if (!found || !jv_is_valid(nc)) {
        jv_free(nc);
        return 0; /* the slow path says what is wrong */
    }
    int rc = 0;
    if (newimg != 0) {
        char head[96];
        int hl;
        double cid = jv_number_value(nc);
        if (cid >= 1 && cid < 1e15 && cid == (double)(uint64_t)cid) { /* always, for categories we number */
            hl = 0;
            memcpy(head, "{\"id\":", 6), hl += 6;
            hl += put_u64(head + hl, ++m->nann);
            memcpy(head + hl, ",\"image_id\":", 12), hl += 12;
            hl += put_u64(head + hl, newimg);
            memcpy(head + hl, ",\"category_id\":", 15), hl += 15;
            hl += put_u64(head + hl, (uint64_t)cid);
        } else {
            hl = snprintf(head, sizeof head, "{\"id\":%llu,\"image_id\":%lld,\"category_id\":%.17g",
                          (unsigned long long)++m->nann, (long long)newimg, cid);
        }
        size_t rest = (size_t)(end - p);
        if (put_str(m, m->first ? "\n" : ",\n") < 0 || sx_buf_reserve(&m->out, (size_t)hl + rest) < 0) {
            rc = fail(m, "out of memory");
        } else {
            m->first = 0;
            memcpy(m->out.p + m->out.len, head, (size_t)hl);
            memcpy(m->out.p + m->out.len + hl, p, rest);
            m->out.len += (size_t)hl + rest;
            rc = flush_out(m, 0);
        }
    }
    jv_free(nc);
    return rc < 0 ? -1 : 1;
}

int sx_merge_write(sx_merge *m, sx_merge_write_fn write, sx_merge_image_fn on_image_cb, void *ctx)
{
    m->write = write;
    m->on_image = on_image_cb;
    m->ctx = ctx;
    m->out.len = 0;
    m->nimg = m->nann = m->dups = m->renamed = 0;
    if (put_str(m, "{") < 0)
        return -1;
    int n = 0;
    jv_array_foreach(m->extra, k, kv) {
        jv key = jv_array_get(jv_copy(kv), 0);
        jv val = jv_array_get(kv, 1);
        int rc = put_str(m, n++ ? ",\n" : "");
        if (rc == 0 && (sx_json_string(&m->out, jv_string_value(key), (size_t)jv_string_length_bytes(jv_copy(key))) < 0 ||
                        put_str(m, ":") < 0 || sx_json_dump(&m->out, val) < 0))
            rc = fail(m, "out of memory");
        jv_free(key);
        jv_free(val);
        if (rc < 0)
            return -1;
    }
    if (put_str(m, n ? ",\n\"categories\":[" : "\"categories\":[") < 0)
        return -1;
    m->first = 1;
    jv_array_foreach(m->cats, k, cat) {
        (void)k;
        if (put_elem(m, cat) < 0)
            return -1;
    }
    if (put_str(m, "],\n\"images\":[") < 0)
        return -1;
    m->first = 1;
    if (!m->plan || fseek(m->plan, 0, SEEK_SET) != 0)
        return fail(m, "sx_merge_write() before sx_merge_check()");
    for (int i = 0; i < m->n; i++)
        if (scan_file(m, i, PASS_IMAGES) < 0)
            return -1;
    if (file_get(m, m->plan, &m->rec) != 0)
        return fail(m, "'%s': the file changed while it was merged", m->s[m->n - 1].json);
    if (put_str(m, "],\n\"annotations\":[") < 0)
        return -1;
    m->first = 1;
    for (int i = 0; i < m->n; i++)
        if (scan_file(m, i, PASS_ANNS) < 0)
            return -1;
    if (put_str(m, "]}\n") < 0)
        return -1;
    return flush_out(m, 1);
}
