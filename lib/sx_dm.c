#include "sx_dm.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys made once: jv_copy() of a key is a refcount bump and its hash is
 * cached, so lookups allocate nothing. */
enum { K_ANNOTATIONS, K_ANNOTATIONS_DATA, K_IMAGES, K_ID, K_TOOL, K_CLASSIFICATION, K_CLASS,
       K_COORDINATE, K_X, K_Y, K_WIDTH, K_HEIGHT, K_ROTATION, K_ATTRS, K_DATA, K_NAME, K_VALUE,
       K_EXTRA, K_IMAGE_1, K_N };
static const char *const key_names[K_N] = {
    "annotations", "annotationsData", "images", "id", "tool", "classification", "class",
    "coordinate", "x", "y", "width", "height", "rotation", "attrs", "data", "name", "value",
    "extra", "image_1"};
static jv keys[K_N];
static int keys_ready;

static void keys_init(void)
{
    if (keys_ready)
        return;
    for (int i = 0; i < K_N; i++)
        keys[i] = jv_string(key_names[i]);
    keys_ready = 1;
}

/* A borrowed field of `obj` (an object): invalid when absent. The parent
 * keeps the value alive, so the reference taken by jv_object_get is dropped. */
static jv get(jv obj, int k)
{
    if (jv_get_kind(obj) != JV_KIND_OBJECT)
        return jv_invalid();
    jv v = jv_object_get(jv_copy(obj), jv_copy(keys[k]));
    jv_free(v);
    return v;
}

static jv at(jv arr, int i)
{
    jv v = jv_array_get(jv_copy(arr), i);
    jv_free(v);
    return v;
}

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

sx_dm *sx_dm_new(void)
{
    keys_init();
    return calloc(1, sizeof(sx_dm));
}

void sx_dm_free(sx_dm *dm)
{
    if (!dm)
        return;
    free(dm->ann);
    free(dm->pts);
    free(dm->hash);
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
    a->attrs = jv_null();
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
static int coord(jv v, double *out)
{
    if (jv_get_kind(v) != JV_KIND_NUMBER)
        return -1;
    double d = jv_number_value(v);
    if (!isfinite(d) || fabs(d) > SX_DM_COORD_MAX)
        return -1;
    *out = d;
    return 0;
}

static const char *aid(const sx_dm_ann *a) { return *a->id ? a->id : "?"; }

/* Box extent, with an optional rotation (radians, about the centre). */
static int set_box(sx_dm *dm, sx_dm_ann *a, double x, double y, double w, double h, jv rot)
{
    if (w < 0 || h < 0)
        return fail(dm, "bounding_box %s has a negative size (%g x %g)", aid(a), w, h);
    a->x = x, a->y = y, a->w = w, a->h = h;
    if (jv_is_valid(rot) && jv_get_kind(rot) != JV_KIND_NULL) {
        double r;
        if (jv_get_kind(rot) != JV_KIND_NUMBER || !isfinite(r = jv_number_value(rot)))
            return fail(dm, "bounding_box %s has a rotation that is not a number", aid(a));
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
static int set_points(sx_dm *dm, sx_dm_ann *a, jv list, int v2)
{
    if (jv_get_kind(list) != JV_KIND_ARRAY)
        return fail(dm, "%s %s has no point list", tool_names[a->tool], aid(a));
    int n = jv_array_length(jv_copy(list));
    size_t need = a->tool == SX_DM_POLYGON ? 3 : 2;
    if ((size_t)n < need)
        return fail(dm, "%s %s has %d point%s (needs %zu)", tool_names[a->tool], aid(a), n,
                    n == 1 ? "" : "s", need);
    a->pt = dm->npts;
    a->npt = (size_t)n;
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int i = 0; i < n; i++) {
        jv p = at(list, i);
        double x, y;
        int ok = v2 ? jv_get_kind(p) == JV_KIND_ARRAY && jv_array_length(jv_copy(p)) >= 2 &&
                          coord(at(p, 0), &x) == 0 && coord(at(p, 1), &y) == 0
                    : coord(get(p, K_X), &x) == 0 && coord(get(p, K_Y), &y) == 0;
        if (!ok)
            return fail(dm, "%s %s: point %d is not a pair of finite coordinates", tool_names[a->tool],
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

static int set_class(sx_dm *dm, sx_dm_ann *a, jv c)
{
    if (jv_get_kind(c) != JV_KIND_STRING || jv_string_length_bytes(jv_copy(c)) == 0)
        return fail(dm, "annotation %s has no class", aid(a));
    a->cls = jv_string_value(c);
    a->cls_len = (size_t)jv_string_length_bytes(jv_copy(c));
    return 0;
}

/* ---- DM v1 ---- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* Finds the annotationsData entry whose id equals `id`: the same index first
 * (the usual layout), else a hash table built once per item. */
static jv find_data(sx_dm *dm, jv list, int n, int i, jv id, int *built)
{
    jv cand = i < n ? at(list, i) : jv_invalid();
    if (jv_is_valid(cand)) {
        jv cid = get(cand, K_ID);
        if (jv_get_kind(id) == JV_KIND_STRING && jv_get_kind(cid) == JV_KIND_STRING
                ? strcmp(jv_string_value(cid), jv_string_value(id)) == 0
                : jv_equal(jv_copy(cid), jv_copy(id)))
            return cand;
    }
    if (jv_get_kind(id) != JV_KIND_STRING) { /* rare: linear search */
        for (int j = 0; j < n; j++) {
            jv c = at(list, j);
            if (jv_equal(jv_copy(get(c, K_ID)), jv_copy(id)))
                return c;
        }
        return jv_invalid();
    }
    size_t cap = 16;
    while (cap < (size_t)n * 2)
        cap *= 2;
    if (!*built) {
        if (cap > dm->hash_cap) {
            int *h = realloc(dm->hash, cap * sizeof *h);
            if (!h)
                return jv_invalid();
            dm->hash = h;
            dm->hash_cap = cap;
        }
        for (size_t k = 0; k < cap; k++)
            dm->hash[k] = -1;
        for (int j = 0; j < n; j++) {
            jv cid = get(at(list, j), K_ID);
            if (jv_get_kind(cid) != JV_KIND_STRING)
                continue;
            size_t k = hash_bytes(jv_string_value(cid), (size_t)jv_string_length_bytes(jv_copy(cid))) & (cap - 1);
            while (dm->hash[k] >= 0)
                k = (k + 1) & (cap - 1);
            dm->hash[k] = j;
        }
        *built = 1;
    }
    size_t k = hash_bytes(jv_string_value(id), (size_t)jv_string_length_bytes(jv_copy(id))) & (cap - 1);
    while (dm->hash[k] >= 0) {
        jv c = at(list, dm->hash[k]);
        if (jv_equal(jv_copy(get(c, K_ID)), jv_copy(id)))
            return c;
        k = (k + 1) & (cap - 1);
    }
    return jv_invalid();
}

/* The asset read from a v1 object keyed by asset: "image_1", else the first
 * key in byte order. @return its name (borrowed), or NULL when there is none. */
static const char *pick_asset(jv byasset)
{
    if (jv_get_kind(byasset) != JV_KIND_OBJECT)
        return NULL;
    if (jv_is_valid(get(byasset, K_IMAGE_1)))
        return "image_1";
    const char *best = NULL;
    jv_object_foreach(byasset, k, val) {
        if (!best || strcmp(jv_string_value(k), best) < 0)
            best = jv_string_value(k); /* the object keeps its keys alive */
        jv_free(k);
        jv_free(val);
    }
    return best;
}

static jv get_named(jv obj, const char *name)
{
    if (jv_get_kind(obj) != JV_KIND_OBJECT)
        return jv_invalid();
    jv v = jv_object_get(jv_copy(obj), jv_string(name));
    jv_free(v);
    return v;
}

static int parse_v1(sx_dm *dm, jv data)
{
    jv anns_by = get(data, K_ANNOTATIONS), data_by = get(data, K_ANNOTATIONS_DATA);
    if (jv_is_valid(anns_by) && jv_get_kind(anns_by) != JV_KIND_OBJECT && jv_get_kind(anns_by) != JV_KIND_NULL)
        return fail(dm, "annotations is not an object keyed by asset");
    const char *asset = pick_asset(anns_by);
    /* image size the data may carry: top level or extra.<asset> */
    if (!dm->skip_size) {
        jv extra = get(data, K_EXTRA);
        jv ex = asset ? get_named(extra, asset) : jv_invalid();
        double w = 0, h = 0;
        if (coord(get(data, K_WIDTH), &w) == 0 && coord(get(data, K_HEIGHT), &h) == 0)
            dm->width = w, dm->height = h;
        else if (coord(get(ex, K_WIDTH), &w) == 0 && coord(get(ex, K_HEIGHT), &h) == 0)
            dm->width = w, dm->height = h;
    }
    if (!asset)
        return 0;
    jv list = get_named(anns_by, asset);
    if (jv_get_kind(list) == JV_KIND_NULL)
        return 0;
    if (jv_get_kind(list) != JV_KIND_ARRAY)
        return fail(dm, "annotations.%s is not a list", asset);
    jv dlist = get_named(data_by, asset);
    int dn = jv_get_kind(dlist) == JV_KIND_ARRAY ? jv_array_length(jv_copy(dlist)) : 0;
    int n = jv_array_length(jv_copy(list)), built = 0;
    for (int i = 0; i < n; i++) {
        jv an = at(list, i);
        sx_dm_ann *a = new_ann(dm);
        if (!a)
            return fail(dm, "out of memory");
        jv id = get(an, K_ID);
        if (jv_get_kind(id) == JV_KIND_STRING)
            a->id = jv_string_value(id);
        jv tool = get(an, K_TOOL);
        if (jv_get_kind(tool) != JV_KIND_STRING)
            return fail(dm, "annotation %s has no tool", aid(a));
        int t = tool_of(jv_string_value(tool));
        if (t < 0)
            return fail(dm, "unknown tool '%s' (annotation %s)", jv_string_value(tool), aid(a));
        a->tool = (sx_dm_tool)t;
        jv cl = get(an, K_CLASSIFICATION);
        if (set_class(dm, a, get(cl, K_CLASS)) < 0)
            return -1;
        a->attrs = cl;
        jv d = dn ? find_data(dm, dlist, dn, i, id, &built) : jv_invalid();
        jv c = get(d, K_COORDINATE);
        if (!jv_is_valid(c) || jv_get_kind(c) == JV_KIND_NULL)
            return fail(dm, "annotation %s has no coordinate in annotationsData", aid(a));
        double x, y, bw, bh;
        switch (a->tool) {
        case SX_DM_BOX:
            if (coord(get(c, K_X), &x) < 0 || coord(get(c, K_Y), &y) < 0 || coord(get(c, K_WIDTH), &bw) < 0 ||
                coord(get(c, K_HEIGHT), &bh) < 0)
                return fail(dm, "bounding_box %s: x, y, width and height must be finite numbers", aid(a));
            if (set_box(dm, a, x, y, bw, bh, get(c, K_ROTATION)) < 0)
                return -1;
            break;
        case SX_DM_POLYGON:
        case SX_DM_POLYLINE:
            if (set_points(dm, a, c, 0) < 0)
                return -1;
            break;
        case SX_DM_KEYPOINT:
            if (coord(get(c, K_X), &x) < 0 || coord(get(c, K_Y), &y) < 0)
                return fail(dm, "keypoint %s: x and y must be finite numbers", aid(a));
            if (set_keypoint(dm, a, x, y) < 0)
                return -1;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* ---- DM v2 ---- */

static int parse_v2(sx_dm *dm, jv data)
{
    jv images = get(data, K_IMAGES);
    if (jv_array_length(jv_copy(images)) == 0)
        return 0;
    jv img = at(images, 0);
    if (jv_get_kind(img) != JV_KIND_OBJECT)
        return fail(dm, "images[0] is not an object");
    double w, h;
    if (coord(get(img, K_WIDTH), &w) == 0 && coord(get(img, K_HEIGHT), &h) == 0)
        dm->width = w, dm->height = h;
    else if (coord(get(data, K_WIDTH), &w) == 0 && coord(get(data, K_HEIGHT), &h) == 0)
        dm->width = w, dm->height = h;
    jv_object_foreach(img, k, list) {
        const char *tn = jv_string_value(k);
        int t = jv_get_kind(list) == JV_KIND_ARRAY ? tool_of(tn) : -2;
        jv_free(k);
        jv_free(list); /* img keeps both alive */
        if (t == -2)
            continue; /* not a tool list: width, meta, … */
        if (t < 0)
            return fail(dm, "unknown tool '%s'", tn);
        int n = jv_array_length(jv_copy(list));
        for (int i = 0; i < n; i++) {
            jv an = at(list, i);
            sx_dm_ann *a = new_ann(dm);
            if (!a)
                return fail(dm, "out of memory");
            a->tool = (sx_dm_tool)t;
            jv id = get(an, K_ID);
            if (jv_get_kind(id) == JV_KIND_STRING)
                a->id = jv_string_value(id);
            if (set_class(dm, a, get(an, K_CLASSIFICATION)) < 0)
                return -1;
            jv attrs = get(an, K_ATTRS);
            if (jv_get_kind(attrs) == JV_KIND_ARRAY)
                a->attrs = attrs;
            jv d = get(an, K_DATA);
            double v[4];
            switch (a->tool) {
            case SX_DM_BOX: {
                int ok = jv_get_kind(d) == JV_KIND_ARRAY && jv_array_length(jv_copy(d)) >= 4;
                for (int j = 0; ok && j < 4; j++)
                    ok = coord(at(d, j), &v[j]) == 0;
                if (!ok)
                    return fail(dm, "bounding_box %s: data must be 4 finite numbers [x, y, width, height]", aid(a));
                jv rot = jv_invalid();
                if (jv_get_kind(attrs) == JV_KIND_ARRAY) {
                    int na = jv_array_length(jv_copy(attrs));
                    for (int j = 0; j < na; j++) {
                        jv at_ = at(attrs, j), nm = get(at_, K_NAME);
                        if (jv_get_kind(nm) == JV_KIND_STRING && strcmp(jv_string_value(nm), "rotation") == 0)
                            rot = get(at_, K_VALUE);
                    }
                }
                if (set_box(dm, a, v[0], v[1], v[2], v[3], rot) < 0)
                    return -1;
                break;
            }
            case SX_DM_POLYGON:
            case SX_DM_POLYLINE:
                if (set_points(dm, a, d, 1) < 0)
                    return -1;
                break;
            case SX_DM_KEYPOINT:
                if (jv_get_kind(d) != JV_KIND_ARRAY || jv_array_length(jv_copy(d)) < 2 ||
                    coord(at(d, 0), &v[0]) < 0 || coord(at(d, 1), &v[1]) < 0)
                    return fail(dm, "keypoint %s: data must be 2 finite numbers [x, y]", aid(a));
                if (set_keypoint(dm, a, v[0], v[1]) < 0)
                    return -1;
                break;
            default:
                break;
            }
        }
    }
    return 0;
}

int sx_dm_parse(sx_dm *dm, jv data)
{
    dm->n = 0;
    dm->npts = 0;
    dm->width = dm->height = 0;
    dm->version = 1;
    dm->err[0] = 0;
    if (jv_get_kind(data) == JV_KIND_NULL || !jv_is_valid(data))
        return fail(dm, "data is Null");
    if (jv_get_kind(data) != JV_KIND_OBJECT)
        return fail(dm, "data is not an object (%s)", jv_kind_name(jv_get_kind(data)));
    jv images = get(data, K_IMAGES);
    if (jv_get_kind(images) == JV_KIND_ARRAY) {
        dm->version = 2;
        return parse_v2(dm, data);
    }
    return parse_v1(dm, data);
}

/* ---- attributes ---- */

static void put_value(sx_strbuf *b, jv v)
{
    switch (jv_get_kind(v)) {
    case JV_KIND_STRING:
        sx_sb_json_str(b, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
        break;
    case JV_KIND_NUMBER: {
        double d = jv_number_value(v);
        if (!isfinite(d))
            sx_sb_puts(b, "null");
        else if (d == floor(d) && fabs(d) < 1e15)
            sx_sb_i64(b, (long long)d);
        else
            sx_sb_printf(b, "%.17g", d);
        break;
    }
    default: {
        jv s = jv_dump_string(jv_copy(v), 0);
        sx_sb_puts(b, jv_string_value(s));
        jv_free(s);
    }
    }
}

void sx_dm_attrs_json(const sx_dm_ann *a, sx_strbuf *b)
{
    int first = 1, have_rot = 0;
    sx_sb_putc(b, '{');
    if (jv_get_kind(a->attrs) == JV_KIND_OBJECT) {
        jv_object_foreach(a->attrs, k, v) {
            if (strcmp(jv_string_value(k), "class") != 0) {
                if (!first)
                    sx_sb_putc(b, ',');
                first = 0;
                sx_sb_json_str(b, jv_string_value(k), (size_t)jv_string_length_bytes(jv_copy(k)));
                sx_sb_putc(b, ':');
                put_value(b, v);
            }
            jv_free(k);
            jv_free(v);
        }
    } else if (jv_get_kind(a->attrs) == JV_KIND_ARRAY) {
        jv_array_foreach(a->attrs, i, e) {
            jv nm = get(e, K_NAME);
            if (jv_get_kind(nm) == JV_KIND_STRING) {
                if (!first)
                    sx_sb_putc(b, ',');
                first = 0;
                if (strcmp(jv_string_value(nm), "rotation") == 0)
                    have_rot = 1;
                sx_sb_json_str(b, jv_string_value(nm), (size_t)jv_string_length_bytes(jv_copy(nm)));
                sx_sb_putc(b, ':');
                jv val = get(e, K_VALUE);
                if (jv_is_valid(val))
                    put_value(b, val);
                else
                    sx_sb_puts(b, "null");
            }
            jv_free(e);
        }
    }
    if (a->rotated && !have_rot) {
        if (!first)
            sx_sb_putc(b, ',');
        sx_sb_puts(b, "\"rotation\":");
        put_value(b, jv_number(a->rotation));
    }
    sx_sb_putc(b, '}');
}
