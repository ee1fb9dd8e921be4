#include "sx_dm.h"
#include "sx_hash.h"

#include <jv.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tool_names[SX_DM_NTOOLS] = {"bounding_box", "polygon", "polyline", "keypoint"};

const char *sx_dm_tool_name(sx_dm_tool t) { return (unsigned)t < SX_DM_NTOOLS ? tool_names[t] : "?"; }

static int tool_of(const char *s)
{
    for (int i = 0; i < SX_DM_NTOOLS; i++)
        if (strcmp(s, tool_names[i]) == 0)
            return i;
    return -1;
}

static int fail(sx_dm *dm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(sx_dm *dm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dm->err, sizeof dm->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Adds a note. @return 0, or -1 when out of memory (dm->err set). */
static int note(sx_dm *dm, const char *kind, const char *reason, size_t count, const char *detail)
{
    if (dm->nnotes == dm->notes_cap) {
        size_t cap = dm->notes_cap ? dm->notes_cap * 2 : 16;
        sx_dm_note *v = realloc(dm->notes, cap * sizeof *v);
        if (!v)
            return fail(dm, "out of memory");
        dm->notes = v;
        dm->notes_cap = cap;
    }
    sx_dm_note *n = &dm->notes[dm->nnotes++];
    n->kind = kind;
    n->count = count;
    snprintf(n->reason, sizeof n->reason, "%s", reason);
    snprintf(n->detail, sizeof n->detail, "%s", detail);
    return 0;
}

/* An annotation that cannot be read: left out with a note, the item goes
 * on. @return 1 (dropped), or -1 when out of memory. */
static int drop(sx_dm *dm, const char *reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int drop(sx_dm *dm, const char *reason, const char *fmt, ...)
{
    char detail[sizeof dm->notes[0].detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return note(dm, "dropped", reason, 1, detail) < 0 ? -1 : 1;
}

sx_dm *sx_dm_new(void) { return calloc(1, sizeof(sx_dm)); }

void sx_dm_free(sx_dm *dm)
{
    if (!dm)
        return;
    free(dm->ann);
    free(dm->pts);
    free(dm->hash);
    free(dm->elems);
    free(dm->notes);
    free(dm->img_cls);
    free(dm);
}

const char *sx_dm_error(const sx_dm *dm) { return dm->err; }

static sx_dm_ann *new_ann(sx_dm *dm)
{
    if (dm->n == dm->ann_cap) {
        size_t cap = dm->ann_cap ? dm->ann_cap * 2 : 64;
        sx_dm_ann *a = realloc(dm->ann, cap * sizeof *a);
        if (!a)
            return NULL;
        dm->ann = a;
        dm->ann_cap = cap;
    }
    sx_dm_ann *a = &dm->ann[dm->n++];
    memset(a, 0, sizeof *a);
    a->id = "";
    return a;
}

static int add_point(sx_dm *dm, double x, double y)
{
    if (dm->npts * 2 + 2 > dm->pts_cap) {
        size_t cap = dm->pts_cap ? dm->pts_cap * 2 : 256;
        double *p = realloc(dm->pts, cap * sizeof *p);
        if (!p)
            return -1;
        dm->pts = p;
        dm->pts_cap = cap;
    }
    dm->pts[dm->npts * 2] = x;
    dm->pts[dm->npts * 2 + 1] = y;
    dm->npts++;
    return 0;
}

/* A coordinate: a finite number of sane magnitude. */
static int coord(const sx_tnode *v, double *out)
{
    if (!sx_tape_is(v, SX_T_NUMBER))
        return -1;
    double d = v->u.num;
    if (!isfinite(d) || fabs(d) > SX_DM_COORD_MAX)
        return -1;
    *out = d;
    return 0;
}

static const char *aid(const sx_dm_ann *a) { return *a->id ? a->id : "?"; }

/* Box extent, with an optional rotation (radians, about the centre). */
static int set_box(sx_dm *dm, sx_dm_ann *a, double x, double y, double w, double h, const sx_tnode *rot)
{
    if (w < 0 || h < 0)
        return drop(dm, "box with a negative size", "bounding_box %s is %g x %g", aid(a), w, h);
    a->x = x, a->y = y, a->w = w, a->h = h;
    if (rot && rot->kind != SX_T_NULL) {
        double r;
        if (rot->kind != SX_T_NUMBER || !isfinite(r = rot->u.num))
            return drop(dm, "rotation that is not a number", "bounding_box %s", aid(a));
        a->rotated = 1;
        a->rotation = r;
        if (r != 0) {
            double c = fabs(cos(r)), s = fabs(sin(r));
            double cx = x + w / 2, cy = y + h / 2;
            double nw = w * c + h * s, nh = w * s + h * c;
            a->x = cx - nw / 2, a->y = cy - nh / 2, a->w = nw, a->h = nh;
        }
    }
    return 0;
}

/* Points: v1 [{x, y}, …] or v2 [[x, y], …]. Sets pt/npt and the extent. */
static int set_points(sx_dm *dm, sx_dm_ann *a, const sx_tnode *list, int v2)
{
    if (!sx_tape_is(list, SX_T_ARRAY))
        return drop(dm, "annotation without coordinates", "%s %s has no point list", tool_names[a->tool], aid(a));
    size_t n = list->len;
    size_t need = a->tool == SX_DM_POLYGON ? 3 : 2;
    if (n < need)
        return drop(dm, a->tool == SX_DM_POLYGON ? "polygon with fewer than 3 points" : "polyline with fewer than 2 points",
                    "%s %s has %zu point%s (needs %zu)", tool_names[a->tool], aid(a), n, n == 1 ? "" : "s", need);
    a->pt = dm->npts;
    a->npt = n;
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    const sx_tnode *p = sx_tape_first(list);
    for (size_t i = 0; i < n; i++, p = sx_tape_after(p)) {
        double x, y;
        int ok = v2 ? p->kind == SX_T_ARRAY && p->len >= 2 && coord(p + 1, &x) == 0 &&
                          coord(sx_tape_after(p + 1), &y) == 0
                    : coord(sx_tget(p, "x"), &x) == 0 && coord(sx_tget(p, "y"), &y) == 0;
        if (!ok)
            return drop(dm, "coordinates that are not finite numbers", "%s %s: point %zu", tool_names[a->tool],
                        aid(a), i + 1);
        if (add_point(dm, x, y) < 0)
            return fail(dm, "out of memory");
        x0 = fmin(x0, x), y0 = fmin(y0, y), x1 = fmax(x1, x), y1 = fmax(y1, y);
    }
    a->x = x0, a->y = y0, a->w = x1 - x0, a->h = y1 - y0;
    return 0;
}

static int set_keypoint(sx_dm *dm, sx_dm_ann *a, double x, double y)
{
    a->pt = dm->npts;
    a->npt = 1;
    a->x = x, a->y = y, a->w = a->h = 0;
    return add_point(dm, x, y) < 0 ? fail(dm, "out of memory") : 0;
}

static int set_class(sx_dm *dm, sx_dm_ann *a, const sx_tnode *c)
{
    if (!sx_tape_is(c, SX_T_STRING) || c->len == 0)
        return drop(dm, "annotation without a class", "%s %s", tool_names[a->tool], aid(a));
    a->cls = c->u.str;
    a->cls_len = c->len;
    return 0;
}

/* ---- DM v1 ---- */

/* Two ids are the same value: strings and numbers by value, other kinds by
 * their text. */
static int same_id(const sx_tape *t, const sx_tnode *a, const sx_tnode *b)
{
    if (!a || !b || a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case SX_T_STRING:
        return a->len == b->len && memcmp(a->u.str, b->u.str, a->len) == 0;
    case SX_T_NUMBER:
        return a->u.num == b->u.num;
    case SX_T_ARRAY:
    case SX_T_OBJECT: {
        const char *x = sx_tape_text(t);
        return a->end - a->start == b->end - b->start && memcmp(x + a->start, x + b->start, a->end - a->start) == 0;
    }
    default:
        return 1;
    }
}

/* Finds the annotationsData entry whose id equals `id` among the n entries
 * of dm->elems: the same index first (the usual layout), else a hash table
 * built once per item. */
static const sx_tnode *find_data(sx_dm *dm, const sx_tape *t, size_t n, size_t i, const sx_tnode *id, int *built)
{
    const sx_tnode *const *el = dm->elems;
    if (i < n && same_id(t, sx_tget(el[i], "id"), id))
        return el[i];
    if (!sx_tape_is(id, SX_T_STRING)) { /* rare: linear search */
        for (size_t j = 0; j < n; j++)
            if (same_id(t, sx_tget(el[j], "id"), id))
                return el[j];
        return NULL;
    }
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    if (!*built) {
        if (cap > dm->hash_cap) {
            int *h = realloc(dm->hash, cap * sizeof *h);
            if (!h)
                return NULL;
            dm->hash = h;
            dm->hash_cap = cap;
        }
        for (size_t k = 0; k < cap; k++)
            dm->hash[k] = -1;
        for (size_t j = 0; j < n; j++) {
            const sx_tnode *cid = sx_tget(el[j], "id");
            if (!sx_tape_is(cid, SX_T_STRING))
                continue;
            size_t k = sx_fnv1a(SX_FNV_BASIS, cid->u.str, cid->len) & (cap - 1);
            while (dm->hash[k] >= 0)
                k = (k + 1) & (cap - 1);
            dm->hash[k] = (int)j;
        }
        *built = 1;
    }
    size_t k = sx_fnv1a(SX_FNV_BASIS, id->u.str, id->len) & (cap - 1);
    while (dm->hash[k] >= 0) {
        const sx_tnode *c = el[dm->hash[k]];
        if (same_id(t, sx_tget(c, "id"), id))
            return c;
        k = (k + 1) & (cap - 1);
    }
    return NULL;
}

/* The asset read from a v1 object keyed by asset: "image_1", else the first
 * key in byte order. @return its key node, or NULL when there is none. */
static const sx_tnode *pick_asset(const sx_tnode *byasset)
{
    if (!sx_tape_is(byasset, SX_T_OBJECT))
        return NULL;
    const sx_tnode *best = NULL, *k = sx_tape_first(byasset);
    for (uint32_t i = 0; i < byasset->len; i++, k = sx_tape_after(k + 1)) {
        if (k->len == 7 && memcmp(k->u.str, "image_1", 7) == 0)
            return k;
        if (!best || strcmp(k->u.str, best->u.str) < 0)
            best = k;
    }
    return best;
}

static const sx_tnode *get_key(const sx_tnode *obj, const sx_tnode *key)
{
    return key ? sx_tape_get(obj, key->u.str, key->len) : NULL;
}

/* An image-level class (the v1 tool or the v2 list "classification"): not an
 * object with a place in the image, a label of the whole image. */
static int add_image_class(sx_dm *dm, const sx_tnode *c)
{
    if (!sx_tape_is(c, SX_T_STRING) || c->len == 0)
        return note(dm, "dropped", "image classification without a class", 1, "");
    if (dm->nimg_cls == dm->img_cls_cap) {
        size_t cap = dm->img_cls_cap ? dm->img_cls_cap * 2 : 8;
        const char **v = realloc(dm->img_cls, cap * sizeof *v);
        if (!v)
            return fail(dm, "out of memory");
        dm->img_cls = v;
        dm->img_cls_cap = cap;
    }
    dm->img_cls[dm->nimg_cls++] = c->u.str;
    return 0;
}

/* A tool sx does not export (relation, group, a future tool): ignored with
 * a note that counts its entries. */
static int ignore_tool(sx_dm *dm, const char *name, size_t count)
{
    char reason[sizeof dm->notes[0].reason];
    snprintf(reason, sizeof reason, "tool '%s'", name);
    return note(dm, "ignored", reason, count, "");
}

/* v1 keys beside the annotations that sx does not export. */
static int ignore_extras(sx_dm *dm, const sx_tnode *data)
{
    static const char *const keys[][2] = {{"relations", "relations"}, {"annotationGroups", "annotation groups"}};
    for (size_t k = 0; k < 2; k++) {
        const sx_tnode *v = sx_tape_get(data, keys[k][0], strlen(keys[k][0]));
        size_t n = 0;
        if (sx_tape_is(v, SX_T_OBJECT) || sx_tape_is(v, SX_T_ARRAY)) {
            /* keyed by asset like annotations, or a plain list */
            const sx_tnode *e = v->len ? sx_tape_first(v) : NULL;
            for (uint32_t i = 0; i < v->len; i++) {
                const sx_tnode *val = v->kind == SX_T_OBJECT ? e + 1 : e;
                n += val->kind == SX_T_ARRAY ? val->len : 1;
                e = v->kind == SX_T_OBJECT ? sx_tape_after(e + 1) : sx_tape_after(e);
            }
        }
        if (n && note(dm, "ignored", keys[k][1], n, "") < 0)
            return -1;
    }
    return 0;
}

/* One v1 annotation into a new sx_dm_ann. @return 0, 1 when it is left
 * out (with a note), -1 out of memory. */
static int v1_annotation(sx_dm *dm, const sx_tape *t, const sx_tnode *an, size_t i, size_t dn, int *built)
{
    sx_dm_ann *a = new_ann(dm);
    if (!a)
        return fail(dm, "out of memory");
    const sx_tnode *id = sx_tget(an, "id");
    if (sx_tape_is(id, SX_T_STRING))
        a->id = id->u.str;
    const sx_tnode *tool = sx_tget(an, "tool");
    if (!sx_tape_is(tool, SX_T_STRING))
        return drop(dm, "annotation without a tool", "annotation %s", aid(a));
    const sx_tnode *cl = sx_tget(an, "classification");
    int tl = tool_of(tool->u.str);
    if (tl < 0) {
        int r = strcmp(tool->u.str, "classification") == 0 ? add_image_class(dm, sx_tget(cl, "class"))
                                                             : ignore_tool(dm, tool->u.str, 1);
        return r < 0 ? -1 : 1;
    }
    a->tool = (sx_dm_tool)tl;
    int r = set_class(dm, a, sx_tget(cl, "class"));
    if (r)
        return r;
    a->attrs = cl;
    const sx_tnode *d = dn ? find_data(dm, t, dn, i, id, built) : NULL;
    const sx_tnode *c = sx_tget(d, "coordinate");
    if (!c || c->kind == SX_T_NULL)
        return drop(dm, "annotation without coordinates", "%s %s has none in annotationsData", tool_names[a->tool],
                    aid(a));
    double x, y, bw, bh;
    switch (a->tool) {
    case SX_DM_BOX:
        if (coord(sx_tget(c, "x"), &x) < 0 || coord(sx_tget(c, "y"), &y) < 0 || coord(sx_tget(c, "width"), &bw) < 0 ||
            coord(sx_tget(c, "height"), &bh) < 0)
            return drop(dm, "coordinates that are not finite numbers", "bounding_box %s", aid(a));
        return set_box(dm, a, x, y, bw, bh, sx_tget(c, "rotation"));
    case SX_DM_POLYGON:
    case SX_DM_POLYLINE:
        return set_points(dm, a, c, 0);
    case SX_DM_KEYPOINT:
        if (coord(sx_tget(c, "x"), &x) < 0 || coord(sx_tget(c, "y"), &y) < 0)
            return drop(dm, "coordinates that are not finite numbers", "keypoint %s", aid(a));
        return set_keypoint(dm, a, x, y);
    default:
        return 0;
    }
}

static int parse_v1(sx_dm *dm, const sx_tape *t, const sx_tnode *data)
{
    const sx_tnode *anns_by = sx_tget(data, "annotations"), *data_by = sx_tget(data, "annotationsData");
    if (anns_by && anns_by->kind != SX_T_OBJECT && anns_by->kind != SX_T_NULL)
        return fail(dm, "annotations is not an object keyed by asset");
    const sx_tnode *asset = pick_asset(anns_by);
    /* image size the data may carry: top level or extra.<asset> */
    if (!dm->skip_size) {
        const sx_tnode *ex = get_key(sx_tget(data, "extra"), asset);
        double w = 0, h = 0;
        if (coord(sx_tget(data, "width"), &w) == 0 && coord(sx_tget(data, "height"), &h) == 0)
            dm->width = w, dm->height = h;
        else if (coord(sx_tget(ex, "width"), &w) == 0 && coord(sx_tget(ex, "height"), &h) == 0)
            dm->width = w, dm->height = h;
    }
    if (!asset)
        return 0;
    const sx_tnode *list = get_key(anns_by, asset);
    if (sx_tape_is(list, SX_T_NULL))
        return 0;
    if (!sx_tape_is(list, SX_T_ARRAY))
        return fail(dm, "annotations.%s is not a list", asset->u.str);
    const sx_tnode *dlist = get_key(data_by, asset);
    size_t dn = sx_tape_is(dlist, SX_T_ARRAY) ? dlist->len : 0;
    if (dn > dm->elems_cap) {
        const sx_tnode **el = realloc(dm->elems, dn * sizeof *el);
        if (!el)
            return fail(dm, "out of memory");
        dm->elems = el;
        dm->elems_cap = dn;
    }
    const sx_tnode *e = dn ? sx_tape_first(dlist) : NULL;
    for (size_t j = 0; j < dn; j++, e = sx_tape_after(e))
        dm->elems[j] = e;
    int built = 0;
    const sx_tnode *an = sx_tape_first(list);
    for (size_t i = 0; i < list->len; i++, an = sx_tape_after(an)) {
        size_t npts = dm->npts;
        int r = v1_annotation(dm, t, an, i, dn, &built);
        if (r < 0)
            return -1;
        if (r > 0) { /* left out: the note says why */
            dm->n--;
            dm->npts = npts;
        }
    }
    return ignore_extras(dm, data);
}

/* ---- DM v2 ---- */

/* The i-th element of an array (i < arr->len). */
static const sx_tnode *elem(const sx_tnode *arr, size_t i)
{
    const sx_tnode *e = sx_tape_first(arr);
    while (i--)
        e = sx_tape_after(e);
    return e;
}

/* One v2 annotation of tool tl. @return as v1_annotation(). */
static int v2_annotation(sx_dm *dm, sx_dm_tool tl, const sx_tnode *an)
{
    sx_dm_ann *a = new_ann(dm);
    if (!a)
        return fail(dm, "out of memory");
    a->tool = tl;
    const sx_tnode *id = sx_tget(an, "id");
    if (sx_tape_is(id, SX_T_STRING))
        a->id = id->u.str;
    int r = set_class(dm, a, sx_tget(an, "classification"));
    if (r)
        return r;
    const sx_tnode *attrs = sx_tget(an, "attrs");
    if (sx_tape_is(attrs, SX_T_ARRAY))
        a->attrs = attrs;
    const sx_tnode *d = sx_tget(an, "data");
    double v[4];
    switch (a->tool) {
    case SX_DM_BOX: {
        int ok = sx_tape_is(d, SX_T_ARRAY) && d->len >= 4;
        for (int j = 0; ok && j < 4; j++)
            ok = coord(elem(d, (size_t)j), &v[j]) == 0;
        if (!ok)
            return drop(dm, "coordinates that are not finite numbers",
                        "bounding_box %s: data must be [x, y, width, height]", aid(a));
        const sx_tnode *rot = NULL;
        if (sx_tape_is(attrs, SX_T_ARRAY)) {
            const sx_tnode *at = sx_tape_first(attrs);
            for (uint32_t j = 0; j < attrs->len; j++, at = sx_tape_after(at)) {
                const sx_tnode *nm = sx_tget(at, "name");
                if (sx_tape_is(nm, SX_T_STRING) && strcmp(nm->u.str, "rotation") == 0)
                    rot = sx_tget(at, "value");
            }
        }
        return set_box(dm, a, v[0], v[1], v[2], v[3], rot);
    }
    case SX_DM_POLYGON:
    case SX_DM_POLYLINE:
        return set_points(dm, a, d, 1);
    case SX_DM_KEYPOINT:
        if (!sx_tape_is(d, SX_T_ARRAY) || d->len < 2 || coord(elem(d, 0), &v[0]) < 0 || coord(elem(d, 1), &v[1]) < 0)
            return drop(dm, "coordinates that are not finite numbers", "keypoint %s: data must be [x, y]", aid(a));
        return set_keypoint(dm, a, v[0], v[1]);
    default:
        return 0;
    }
}

static int parse_v2(sx_dm *dm, const sx_tnode *data)
{
    const sx_tnode *images = sx_tget(data, "images");
    if (images->len == 0)
        return 0;
    const sx_tnode *img = sx_tape_first(images);
    if (img->kind != SX_T_OBJECT)
        return fail(dm, "images[0] is not an object");
    double w, h;
    if (coord(sx_tget(img, "width"), &w) == 0 && coord(sx_tget(img, "height"), &h) == 0)
        dm->width = w, dm->height = h;
    else if (coord(sx_tget(data, "width"), &w) == 0 && coord(sx_tget(data, "height"), &h) == 0)
        dm->width = w, dm->height = h;
    const sx_tnode *k = sx_tape_first(img);
    for (uint32_t m = 0; m < img->len; m++, k = sx_tape_after(k + 1)) {
        const sx_tnode *list = k + 1;
        if (list->kind != SX_T_ARRAY)
            continue; /* not a tool list: width, meta, … */
        if (sx_tape_get(img, k->u.str, k->len) != list)
            continue; /* a repeated key: the last one counts */
        int tl = tool_of(k->u.str);
        if (tl < 0) {
            if (strcmp(k->u.str, "classification") == 0) {
                const sx_tnode *e = list->len ? sx_tape_first(list) : NULL;
                for (uint32_t i = 0; i < list->len; i++, e = sx_tape_after(e))
                    if (add_image_class(dm, sx_tget(e, "classification")) < 0)
                        return -1;
            } else if (list->len && ignore_tool(dm, k->u.str, list->len) < 0) {
                return -1;
            }
            continue;
        }
        const sx_tnode *an = sx_tape_first(list);
        for (uint32_t i = 0; i < list->len; i++, an = sx_tape_after(an)) {
            size_t npts = dm->npts;
            int r = v2_annotation(dm, (sx_dm_tool)tl, an);
            if (r < 0)
                return -1;
            if (r > 0) {
                dm->n--;
                dm->npts = npts;
            }
        }
    }
    return 0;
}

int sx_dm_parse(sx_dm *dm, const sx_tape *t, const sx_tnode *data)
{
    dm->n = 0;
    dm->npts = 0;
    dm->nnotes = 0;
    dm->nimg_cls = 0;
    dm->width = dm->height = 0;
    dm->version = 1;
    dm->err[0] = 0;
    if (!data || data->kind == SX_T_NULL)
        return fail(dm, "data is Null");
    if (data->kind != SX_T_OBJECT)
        return fail(dm, "data is not an object (%s)", sx_tape_kind_name(data));
    if (sx_tape_is(sx_tget(data, "images"), SX_T_ARRAY)) {
        dm->version = 2;
        return parse_v2(dm, data);
    }
    return parse_v1(dm, t, data);
}

/* ---- attributes ---- */

static void put_number(sx_strbuf *b, double d)
{
    if (!isfinite(d))
        sx_sb_puts(b, "null");
    else if (d == floor(d) && fabs(d) < 1e15)
        sx_sb_i64(b, (long long)d);
    else
        sx_sb_printf(b, "%.17g", d);
}

/* A value as JSON: strings and numbers directly, others as libjq prints
 * them (they are rare). */
static void put_value(sx_strbuf *b, const sx_tnode *v)
{
    switch (v->kind) {
    case SX_T_STRING:
        sx_sb_json_str(b, v->u.str, v->len);
        break;
    case SX_T_NUMBER:
        put_number(b, v->u.num);
        break;
    default: {
        jv s = jv_dump_string(sx_tape_value(v), 0);
        sx_sb_puts(b, jv_is_valid(s) ? jv_string_value(s) : "null");
        jv_free(s);
    }
    }
}

static void put_key(sx_strbuf *b, int *first, const char *s, size_t n)
{
    if (!*first)
        sx_sb_putc(b, ',');
    *first = 0;
    sx_sb_json_str(b, s, n);
    sx_sb_putc(b, ':');
}

void sx_dm_attrs_json(const sx_dm_ann *a, sx_strbuf *b)
{
    int first = 1, have_rot = 0;
    const sx_tnode *at = a->attrs;
    sx_sb_putc(b, '{');
    if (sx_tape_is(at, SX_T_OBJECT)) {
        const sx_tnode *k = sx_tape_first(at);
        for (uint32_t i = 0; i < at->len; i++, k = sx_tape_after(k + 1)) {
            if (strcmp(k->u.str, "class") == 0)
                continue;
            const sx_tnode *v = sx_tape_get(at, k->u.str, k->len);
            int seen = 0; /* a repeated key: once, where it first appears, with its last value */
            for (const sx_tnode *j = sx_tape_first(at); j != k && !seen; j = sx_tape_after(j + 1))
                seen = j->len == k->len && memcmp(j->u.str, k->u.str, k->len) == 0;
            if (seen)
                continue;
            put_key(b, &first, k->u.str, k->len);
            put_value(b, v);
        }
    } else if (sx_tape_is(at, SX_T_ARRAY)) {
        const sx_tnode *e = sx_tape_first(at);
        for (uint32_t i = 0; i < at->len; i++, e = sx_tape_after(e)) {
            const sx_tnode *nm = sx_tget(e, "name");
            if (!sx_tape_is(nm, SX_T_STRING))
                continue;
            if (strcmp(nm->u.str, "rotation") == 0)
                have_rot = 1;
            put_key(b, &first, nm->u.str, nm->len);
            const sx_tnode *val = sx_tget(e, "value");
            if (val)
                put_value(b, val);
            else
                sx_sb_puts(b, "null");
        }
    }
    if (a->rotated && !have_rot) {
        put_key(b, &first, "rotation", 8);
        put_number(b, a->rotation);
    }
    sx_sb_putc(b, '}');
}
