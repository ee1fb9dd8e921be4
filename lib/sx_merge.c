/* sx_merge.c : merging the COCO files of the shards of one export (see sx_merge.h). */
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

/* jv string helpers for the maps. @s borrowed. */
static int64_t *sm_getj(const strmap *m, jv s)
{
    return sm_get(m, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
}

typedef struct {
    char *json, *marker;
    jv cats;    /* the shard's categories (array), from PASS_CHECK */
    jv catmap;  /* old id text -> new id */
    strmap idmap; /* old image id text -> new id (0: a duplicate, dropped) */
    int has_images, has_anns;
} shard;

struct sx_merge {
    shard *s;
    int n, cap;
    int partial;
    jv extra;      /* [[key, value], ...] of the first shard, not images/annotations/categories */
    jv cats;       /* the merged categories */
    strmap seen;   /* image key -> 1 */
    strmap names;  /* file_name in use -> 1 */
    strmap owner;  /* file_name -> index in okeys/oitems: the image that keeps it */
    char **okeys;  /* the owners' image keys */
    jv oitems;     /* the owners' sx_item values */
    size_t nown, capown;
    sx_buf el, key, out, kb;
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
    m->oitems = jv_array();
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
        sm_free(&m->s[i].idmap);
    }
    free(m->s);
    jv_free(m->extra);
    jv_free(m->cats);
    sm_free(&m->seen);
    sm_free(&m->names);
    sm_free(&m->owner);
    for (size_t k = 0; k < m->nown; k++)
        free(m->okeys[k]);
    free(m->okeys);
    jv_free(m->oitems);
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
    memset(&s->idmap, 0, sizeof s->idmap);
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
static int on_name(sx_merge *m, const char *path, const sx_tnode *img);
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
                        if (!img || (pass == PASS_CHECK ? on_name(m, sh->json, img)
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
    return unify_categories(m);
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

/* sx_item as a jv (null when absent), to keep the owner of a name. */
static jv item_jv(const sx_tnode *item) { return item ? sx_tape_value(item) : jv_null(); }

/* The name for an image whose file_name is taken: stem_<item>[_k].ext. */
static jv fresh_name(sx_merge *m, const char *name, const sx_tnode *item)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || strchr(dot, '/'))
        dot = name + strlen(name);
    char tag[64] = "x";
    if (sx_tape_is(item, SX_T_STRING))
        snprintf(tag, sizeof tag, "%s", item->u.str);
    else if (sx_tape_is(item, SX_T_NUMBER))
        snprintf(tag, sizeof tag, "%.17g", item->u.num);
    for (char *p = tag; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            *p = '_';
    for (int k = 0;; k++) {
        jv n = k ? jv_string_fmt("%.*s_%s_%d%s", (int)(dot - name), name, tag, k, dot)
                 : jv_string_fmt("%.*s_%s%s", (int)(dot - name), name, tag, dot);
        if (!sm_getj(&m->names, n))
            return n;
        jv_free(n);
    }
}

/* Orders two sx_item values: numbers by value, else by their JSON text.
 * @a, @b borrowed. */
static int item_cmp(jv a, jv b)
{
    if (jv_get_kind(a) == JV_KIND_NUMBER && jv_get_kind(b) == JV_KIND_NUMBER) {
        double x = jv_number_value(a), y = jv_number_value(b);
        return x < y ? -1 : x > y;
    }
    jv ka = id_key(a), kb = id_key(b);
    int c = jv_is_valid(ka) && jv_is_valid(kb) ? strcmp(jv_string_value(ka), jv_string_value(kb)) : 0;
    jv_free(ka);
    jv_free(kb);
    return c;
}

/* PASS_CHECK: a file_name used by several images goes to the one with the
 * smallest sx_item, whatever its shard: the image a single export over a
 * listing in id order names first. */
static int on_name(sx_merge *m, const char *path, const sx_tnode *img)
{
    const sx_tnode *name = sx_tget(img, "file_name"), *item = sx_tget(img, "sx_item");
    if (!sx_tape_is(name, SX_T_STRING))
        return fail(m, "'%s': an image without file_name", path);
    int64_t *cur = sm_get(&m->owner, name->u.str, name->len);
    if (!cur) {
        if (m->nown == m->capown) {
            size_t cap = m->capown ? m->capown * 2 : 1024;
            char **k = realloc(m->okeys, cap * sizeof *k);
            if (!k)
                return fail(m, "out of memory");
            m->okeys = k;
            m->capown = cap;
        }
        if (image_key(m, name, item) < 0 || !(m->okeys[m->nown] = strdup(m->kb.p)))
            return fail(m, "out of memory");
        if (sm_put(&m->owner, name->u.str, name->len, (int64_t)m->nown) < 0) {
            free(m->okeys[m->nown]);
            return fail(m, "out of memory");
        }
        m->oitems = jv_array_append(m->oitems, item_jv(item));
        m->nown++;
        return 0;
    }
    jv citem = jv_array_get(jv_copy(m->oitems), (int)*cur), it = item_jv(item);
    int rc = 0;
    if (item_cmp(it, citem) < 0) {
        char *k = image_key(m, name, item) < 0 ? NULL : strdup(m->kb.p);
        if (!k) {
            rc = fail(m, "out of memory");
        } else {
            free(m->okeys[*cur]);
            m->okeys[*cur] = k;
            m->oitems = jv_array_set(m->oitems, (int)*cur, jv_copy(it));
        }
    }
    jv_free(citem);
    jv_free(it);
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

static int on_image(sx_merge *m, int i, const char *path, const sx_tnode *img)
{
    shard *sh = &m->s[i];
    const sx_tnode *id = sx_tget(img, "id"), *name = sx_tget(img, "file_name"), *item = sx_tget(img, "sx_item");
    if (!(sx_tape_is(id, SX_T_NUMBER) || sx_tape_is(id, SX_T_STRING)) || !sx_tape_is(name, SX_T_STRING))
        return fail(m, "'%s': an image without id or file_name", path);
    if (key_text(m, "", id) < 0)
        return fail(m, "out of memory");
    if (sm_get(&sh->idmap, m->kb.p, m->kb.len))
        return fail(m, "'%s': image id %s appears twice", path, m->kb.p);
    char *idk = strdup(m->kb.p);
    size_t idl = m->kb.len;
    if (!idk || image_key(m, name, item) < 0) {
        free(idk);
        return fail(m, "out of memory");
    }
    int rc = -1;
    if (sm_get(&m->seen, m->kb.p, m->kb.len)) { /* the same item in an earlier shard: kept there */
        rc = sm_put(&sh->idmap, idk, idl, 0) < 0 ? fail(m, "out of memory") : 0;
        m->dups++;
        free(idk);
        return rc;
    }
    int64_t *own = sm_get(&m->owner, name->u.str, name->len);
    int mine = own && !strcmp(m->okeys[*own], m->kb.p);
    int oom = sm_put(&m->seen, m->kb.p, m->kb.len, 1) < 0;
    jv final = jv_invalid();
    const char *fn = name->u.str;
    size_t fl = name->len;
    if (sm_get(&m->names, fn, fl) || !mine) {
        final = fresh_name(m, name->u.str, item);
        fn = jv_string_value(final);
        fl = (size_t)jv_string_length_bytes(jv_copy(final));
        m->renamed++;
    }
    oom |= sm_put(&m->names, fn, fl, 1) < 0;
    m->nimg++;
    oom |= sm_put(&sh->idmap, idk, idl, (int64_t)m->nimg) < 0;
    free(idk);
    if (oom)
        fail(m, "out of memory");
    else if (m->on_image && m->on_image(m->ctx, i, name->u.str, fn) < 0)
        fail(m, "cannot write a file record: %s", strerror(errno));
    else
        rc = put_image(m, img, m->nimg, fn, fl);
    jv_free(final);
    return rc;
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
    int64_t *ni = jv_is_valid(ik) ? sm_getj(&sh->idmap, ik) : NULL;
    jv_free(ik);
    jv newimg = ni ? jv_number((double)*ni) : jv_invalid();
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
    int64_t *ni = sm_get(&sh->idmap, img, imgl);
    jv nc = jv_object_get(jv_copy(sh->catmap), jv_string_sized(cat, (int)catl));
    if (!ni || !jv_is_valid(nc)) {
        jv_free(nc);
        return 0; /* the slow path says what is wrong */
    }
    int rc = 0;
    if (*ni != 0) {
        char head[96];
        int hl;
        double cid = jv_number_value(nc);
        if (cid >= 1 && cid < 1e15 && cid == (double)(uint64_t)cid) { /* always, for categories we number */
            hl = 0;
            memcpy(head, "{\"id\":", 6), hl += 6;
            hl += put_u64(head + hl, ++m->nann);
            memcpy(head + hl, ",\"image_id\":", 12), hl += 12;
            hl += put_u64(head + hl, (uint64_t)*ni);
            memcpy(head + hl, ",\"category_id\":", 15), hl += 15;
            hl += put_u64(head + hl, (uint64_t)cid);
        } else {
            hl = snprintf(head, sizeof head, "{\"id\":%llu,\"image_id\":%lld,\"category_id\":%.17g",
                          (unsigned long long)++m->nann, (long long)*ni, cid);
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
    for (int i = 0; i < m->n; i++)
        if (scan_file(m, i, PASS_IMAGES) < 0)
            return -1;
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
