#include "sx_coco.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sx_classmap.h"
#include "sx_cocomask.h"
#include "sx_fmt.h"
#include "sx_spool.h"

#define MAX_SPLITS 64

typedef struct {
    char *name;
    sx_spool *img, *ann;
    uint64_t nimg;
} csplit;

struct sx_coco {
    sx_coco_opts o;
    sx_classmap *cm, *kp;
    csplit sp[MAX_SPLITS];
    int nsp;
    sx_strbuf img, ann, out;
    int *cls;
    size_t cls_cap;
    double *kpx;          /* per keypoint name: x, y, present (end) */
    size_t kpx_cap;
    double *xy;           /* a polygon's points, as written */
    size_t xy_cap;
};

static const char *const box_tools[] = {"bounding_box", "polygon", "polyline", NULL};
static const char *const kp_tools[] = {"keypoint", NULL};

static csplit *get_split(sx_coco *c, const char *name)
{
    for (int i = 0; i < c->nsp; i++)
        if (strcmp(c->sp[i].name, name) == 0)
            return &c->sp[i];
    if (c->nsp == MAX_SPLITS)
        return NULL;
    csplit *s = &c->sp[c->nsp];
    s->name = strdup(name);
    s->img = sx_spool_new();
    s->ann = sx_spool_new();
    if (!s->name || !s->img || !s->ann) {
        free(s->name);
        sx_spool_free(s->img);
        sx_spool_free(s->ann);
        memset(s, 0, sizeof *s);
        return NULL;
    }
    c->nsp++;
    return s;
}

void sx_coco_free(sx_coco *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nsp; i++) {
        free(c->sp[i].name);
        sx_spool_free(c->sp[i].img);
        sx_spool_free(c->sp[i].ann);
    }
    sx_classmap_free(c->cm);
    sx_classmap_free(c->kp);
    sx_sb_free(&c->img);
    sx_sb_free(&c->ann);
    sx_sb_free(&c->out);
    free(c->cls);
    free(c->kpx);
    free(c->xy);
    free(c);
}

sx_coco *sx_coco_new(const sx_coco_opts *o, char *err, size_t errlen)
{
    sx_coco *c = calloc(1, sizeof *c);
    if (!c || !(c->cm = sx_classmap_new()) || !(c->kp = sx_classmap_new())) {
        snprintf(err, errlen, "out of memory");
        sx_coco_free(c);
        return NULL;
    }
    c->o = *o;
    if (o->classes_file && sx_classmap_load_file(c->cm, o->classes_file, err, errlen) < 0) {
        sx_coco_free(c);
        return NULL;
    }
    for (int i = 0; i < sx_split_count(o->split); i++)
        if (!get_split(c, sx_split_name(o->split, i))) {
            snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
            sx_coco_free(c);
            return NULL;
        }
    return c;
}

static int coco_meta(void *ctx, sx_conv *cv, jv meta)
{
    sx_coco *c = ctx;
    sx_conv_classes(cv, c->cm, meta, box_tools);
    sx_classmap_load_meta(c->kp, meta, kp_tools);
    return 0;
}

static void put_bbox(sx_strbuf *b, double x, double y, double w, double h, double area)
{
    sx_sb_puts(b, ",\"bbox\":[");
    sx_sb_num(b, x);
    sx_sb_putc(b, ',');
    sx_sb_num(b, y);
    sx_sb_putc(b, ',');
    sx_sb_num(b, w);
    sx_sb_putc(b, ',');
    sx_sb_num(b, h);
    sx_sb_puts(b, "],\"area\":");
    sx_sb_num(b, area);
    sx_sb_puts(b, ",\"iscrowd\":0");
}

/* Appends again the text at b->p[off, off + n) (a number written before). */
static void again(sx_strbuf *b, size_t off, size_t n)
{
    if (sx_sb_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, b->p + off, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* Appends a number; *off and *n say where its text is. */
static void num_at(sx_strbuf *b, double v, size_t *off, size_t *n)
{
    *off = b->len;
    sx_sb_num(b, v);
    *n = b->len - *off;
}

/* A box and its rectangle as a polygon (every annotation has a segmentation
 * COCO tools can rasterise), an extent narrower than a pixel made a whole
 * one (a keypoint, a straight line): no box is degenerate (COCO's IoU of a
 * box without area is 0, even with itself). Each corner is formatted once. */
static void put_box(sx_strbuf *b, double x0, double y0, double x1, double y1, double W, double H)
{
    sx_cocomask_whole_pixel(&x0, &x1, W);
    sx_cocomask_whole_pixel(&y0, &y1, H);
    size_t ox, nx, oy, ny, ox1, nx1, oy1, ny1;
    sx_sb_puts(b, ",\"bbox\":[");
    num_at(b, x0, &ox, &nx);
    sx_sb_putc(b, ',');
    num_at(b, y0, &oy, &ny);
    sx_sb_putc(b, ',');
    sx_sb_num(b, x1 - x0);
    sx_sb_putc(b, ',');
    sx_sb_num(b, y1 - y0);
    sx_sb_puts(b, "],\"area\":");
    sx_sb_num(b, (x1 - x0) * (y1 - y0));
    sx_sb_puts(b, ",\"iscrowd\":0,\"segmentation\":[[");
    again(b, ox, nx);
    sx_sb_putc(b, ',');
    again(b, oy, ny);
    sx_sb_putc(b, ',');
    num_at(b, x1, &ox1, &nx1);
    sx_sb_putc(b, ',');
    again(b, oy, ny);
    sx_sb_putc(b, ',');
    again(b, ox1, nx1);
    sx_sb_putc(b, ',');
    num_at(b, y1, &oy1, &ny1);
    sx_sb_putc(b, ',');
    again(b, ox, nx);
    sx_sb_putc(b, ',');
    again(b, oy1, ny1);
    sx_sb_puts(b, "]]");
}

/* The points of the text "x1,y1,x2,y2,…" (as COCO tools read them) into
 * *xy. @return the number of points, or -1 when out of memory. */
static long points_of(const sx_strbuf *pts, double **xy, size_t *cap)
{
    size_t n = 0;
    for (const char *p = pts->p; p && *p;) {
        char *e;
        double v = strtod(p, &e);
        if (e == p)
            break;
        if (n == *cap) {
            size_t c = *cap ? 2 * *cap : 64;
            double *q = realloc(*xy, c * sizeof *q);
            if (!q)
                return -1;
            *xy = q, *cap = c;
        }
        (*xy)[n++] = v;
        p = *e == ',' ? e + 1 : e;
    }
    return (long)(n / 2);
}

/* Names an attribute must not have where readers merge `attributes` into the
 * annotation (FiftyOne's COCO importer does, then passes them to its labels):
 * the annotation's own members and the fields of FiftyOne's labels. */
static int reserved(const char *k)
{
    static const char *const names[] = {
        "id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd", "keypoints", "num_keypoints",
        "score", "attributes", "polyline", "label", "bounding_box", "mask", "mask_path", "confidence", "index",
        "points", "closed", "filled", "tags", "supercategory", "coco_id"};
    if (k[0] == '_')
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(k, names[i]) == 0)
            return 1;
    return 0;
}

/* The attributes text a[0..n) with every reserved name as attr_<name> (again
 * attr_ until it is free). @return the new text (a jv string), or invalid. */
static jv rename_reserved(const char *a, size_t n)
{
    jv in = jv_parse_sized(a, (int)n), out = jv_object();
    if (jv_get_kind(in) != JV_KIND_OBJECT) {
        jv_free(in);
        jv_free(out);
        return jv_invalid();
    }
    jv_object_foreach(in, k, v) {
        jv name = jv_copy(k);
        if (reserved(jv_string_value(k)))
            do {
                name = jv_string_concat(jv_string("attr_"), name);
            } while (jv_object_has(jv_copy(in), jv_copy(name)) || jv_object_has(jv_copy(out), jv_copy(name)));
        out = jv_object_set(out, name, v);
        jv_free(k);
    }
    jv_free(in);
    return jv_dump_string(out, 0);
}

static void put_attrs(sx_strbuf *b, const sx_dm_ann *a, int keep_names)
{
    size_t mark = b->len;
    sx_sb_puts(b, ",\"attributes\":");
    size_t before = b->len;
    sx_dm_attrs_json(a, b);
    if (b->len - before == 2) { /* {} */
        b->len = mark;
        if (b->p)
            b->p[mark] = 0;
    } else if (!keep_names && !b->failed) {
        jv t = rename_reserved(b->p + before, b->len - before);
        if (jv_is_valid(t)) {
            b->len = before;
            sx_sb_puts(b, jv_string_value(t));
        }
        jv_free(t);
    }
}

/* Clamped points as x1,y1,x2,y2,…; their extent and shoelace area. */
static void put_points(sx_strbuf *b, const sx_dm *dm, const sx_dm_ann *a, double W, double H, double ext[4],
                       double *area)
{
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY, s = 0;
    const double *p = dm->pts + 2 * a->pt;
    for (size_t i = 0; i < a->npt; i++) {
        double x = sx_dm_clamp(p[2 * i], 0, W), y = sx_dm_clamp(p[2 * i + 1], 0, H);
        size_t j = (i + 1) % a->npt;
        double xn = sx_dm_clamp(p[2 * j], 0, W), yn = sx_dm_clamp(p[2 * j + 1], 0, H);
        s += x * yn - xn * y;
        if (i)
            sx_sb_putc(b, ',');
        sx_sb_num(b, x);
        sx_sb_putc(b, ',');
        sx_sb_num(b, y);
        x0 = fmin(x0, x), y0 = fmin(y0, y), x1 = fmax(x1, x), y1 = fmax(y1, y);
    }
    ext[0] = x0, ext[1] = y0, ext[2] = x1 - x0, ext[3] = y1 - y0;
    *area = fabs(s) / 2;
}

static int coco_item(void *ctx, sx_conv *cv, const sx_conv_item *it)
{
    sx_coco *c = ctx;
    const sx_dm *dm = it->dm;
    csplit *s = get_split(c, it->split);
    if (!s)
        return sx_conv_fatal(cv, "too many splits (more than %d) or no temporary file: %s", MAX_SPLITS,
                             strerror(errno));
    if (dm->n > c->cls_cap) {
        int *p = realloc(c->cls, dm->n * sizeof *p);
        if (!p)
            return sx_conv_fatal(cv, "out of memory");
        c->cls = p;
        c->cls_cap = dm->n;
    }
    size_t nkp = 0;
    for (size_t i = 0; i < dm->n; i++) {
        const sx_dm_ann *a = &dm->ann[i];
        nkp += a->tool == SX_DM_KEYPOINT;
    }
    double W = it->width, H = it->height;
    uint64_t image_id = s->nimg + 1, kept = 0, dropped = 0;
    for (size_t i = 0; i < dm->n; i++) {
        const sx_dm_ann *a = &dm->ann[i];
        c->cls[i] = sx_classmap_get(a->tool == SX_DM_KEYPOINT ? c->kp : c->cm, a->cls, a->cls_len);
        if (c->cls[i] < 0) {
            dropped++;
            nkp -= a->tool == SX_DM_KEYPOINT;
            if (sx_conv_item_warn(cv, "class not in the class list", "class '%s' of %s %s", a->cls,
                                  sx_dm_tool_name(a->tool), *a->id ? a->id : "?") < 0)
                return -1;
        }
    }
    sx_strbuf *b = &c->ann;
    sx_sb_reset(b);
    for (size_t i = 0; i < dm->n; i++) {
        const sx_dm_ann *a = &dm->ann[i];
        if (a->tool == SX_DM_KEYPOINT || c->cls[i] < 0)
            continue;
        size_t mark = b->len;
        sx_sb_puts(b, "A ");
        sx_sb_i64(b, c->cls[i]);
        sx_sb_putc(b, ' ');
        sx_sb_u64(b, image_id);
        sx_sb_putc(b, ' ');
        if (a->tool == SX_DM_BOX) {
            double x0, y0, x1, y1;
            sx_dm_clip_box(a, W, H, &x0, &y0, &x1, &y1);
            if (x1 - x0 <= 0 || y1 - y0 <= 0) {
                b->len = mark;
                dropped++;
                if (sx_conv_item_warn(cv, "annotation outside the image", "bounding_box %s has no area inside the %gx%g image",
                                      *a->id ? a->id : "?", W, H) < 0)
                    return -1;
                continue;
            }
            put_box(b, x0, y0, x1, y1, W, H);
        } else {
            sx_strbuf pts = SX_SB_INIT;
            double ext[4], area;
            put_points(&pts, dm, a, W, H, ext, &area);
            int covers = 1;
            if (a->tool == SX_DM_POLYGON && ext[2] > 0 && ext[3] > 0) {
                long k = points_of(&pts, &c->xy, &c->xy_cap);
                covers = k < 0 ? -1 : sx_cocomask_covers(c->xy, (size_t)k, (long)W, (long)H);
                if (covers < 0) {
                    sx_sb_free(&pts);
                    return sx_conv_fatal(cv, "out of memory");
                }
            }
            if (a->tool == SX_DM_POLYGON && (ext[2] <= 0 || ext[3] <= 0 || !covers)) {
                sx_sb_free(&pts);
                b->len = mark;
                dropped++;
                if (sx_conv_item_warn(cv, covers ? "annotation outside the image" : "polygon thinner than a pixel",
                                      covers ? "polygon %s has no area inside the %gx%g image"
                                             : "polygon %s covers no pixel centre of the %gx%g image: COCO tools "
                                               "cannot rasterise it",
                                      *a->id ? a->id : "?", W, H) < 0)
                    return -1;
                continue;
            }
            if (a->tool == SX_DM_POLYGON) {
                put_bbox(b, ext[0], ext[1], ext[2], ext[3], area);
                sx_sb_puts(b, ",\"segmentation\":[[");
                sx_sb_put(b, pts.p, pts.len);
                sx_sb_puts(b, "]]");
            } else {
                put_box(b, ext[0], ext[1], ext[0] + ext[2], ext[1] + ext[3], W, H);
                sx_sb_puts(b, ",\"polyline\":[");
                sx_sb_put(b, pts.p, pts.len);
                sx_sb_putc(b, ']');
            }
            sx_sb_free(&pts);
        }
        put_attrs(b, a, c->o.layout == SX_COCO_LAYOUT_SX);
        sx_sb_putc(b, '\n');
        kept++;
    }
    if (nkp) {
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        size_t present = 0;
        sx_strbuf tok = SX_SB_INIT;
        for (size_t i = 0; i < dm->n; i++) {
            const sx_dm_ann *a = &dm->ann[i];
            if (a->tool != SX_DM_KEYPOINT || c->cls[i] < 0)
                continue;
            if (a->x < 0 || a->y < 0 || a->x > W || a->y > H) {
                dropped++;
                if (sx_conv_item_warn(cv, "keypoint outside the image", "keypoint %s lies outside the %gx%g image",
                                      *a->id ? a->id : "?", W, H) < 0) {
                    sx_sb_free(&tok);
                    return -1;
                }
                continue;
            }
            sx_sb_putc(&tok, ' ');
            sx_sb_i64(&tok, c->cls[i]);
            sx_sb_putc(&tok, ':');
            sx_sb_num(&tok, a->x);
            sx_sb_putc(&tok, ':');
            sx_sb_num(&tok, a->y);
            x0 = fmin(x0, a->x), y0 = fmin(y0, a->y), x1 = fmax(x1, a->x), y1 = fmax(y1, a->y);
            present++;
        }
        if (present) {
            sx_sb_printf(b, "K %llu ", (unsigned long long)image_id);
            put_box(b, x0, y0, x1, y1, W, H);
            sx_sb_putc(b, '\t');
            sx_sb_put(b, tok.p, tok.len);
            sx_sb_putc(b, '\n');
            kept++;
        }
        sx_sb_free(&tok);
    }
    sx_strbuf *ib = &c->img;
    sx_sb_reset(ib);
    sx_sb_puts(ib, "{\"id\":");
    sx_sb_u64(ib, image_id);
    sx_sb_puts(ib, ",\"file_name\":");
    sx_sb_json_cstr(ib, it->name);
    sx_sb_puts(ib, ",\"width\":");
    sx_sb_num(ib, W);
    sx_sb_puts(ib, ",\"height\":");
    sx_sb_num(ib, H);
    sx_sb_puts(ib, ",\"license\":1,\"sx_item\":");
    sx_sb_puts(ib, it->idjson);
    if (dm->nimg_cls) { /* image-level classes: an attribute of the image */
        sx_sb_puts(ib, ",\"attributes\":{\"classification\":[");
        for (size_t i = 0; i < dm->nimg_cls; i++) {
            if (i)
                sx_sb_putc(ib, ',');
            sx_sb_json_cstr(ib, dm->img_cls[i]);
        }
        sx_sb_puts(ib, "]}");
    }
    sx_sb_puts(ib, "}\n");
    if (b->failed || ib->failed)
        return sx_conv_fatal(cv, "out of memory");
    if (sx_spool_write(s->img, ib->p, ib->len) < 0 || sx_spool_write(s->ann, b->p, b->len) < 0)
        return sx_conv_fatal(cv, "cannot write a temporary file: %s", strerror(errno));
    s->nimg++;
    sx_conv_annotations(cv, kept, dropped);
    return 0;
}

static void put_info(sx_strbuf *o)
{
    time_t now = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde)
        now = (time_t)strtoll(sde, NULL, 10);
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    sx_sb_printf(o,
                  "{\"info\":{\"description\":\"Exported by sx\",\"url\":\"\",\"version\":\"1.0\",\"year\":%d,"
                  "\"contributor\":\"\",\"date_created\":\"%s\"},\n"
                  "\"licenses\":[{\"id\":1,\"name\":\"Unknown\",\"url\":\"\"}],\n\"images\":[",
                  tm.tm_year + 1900, date);
}

/* Writes one "K" line (the keypoint annotation) into o. */
static int put_kp_ann(sx_coco *c, sx_strbuf *o, const char *p, size_t n)
{
    int nk = sx_classmap_count(c->kp);
    if ((size_t)nk * 3 > c->kpx_cap) {
        double *q = realloc(c->kpx, (size_t)nk * 3 * sizeof *q);
        if (!q)
            return -1;
        c->kpx = q;
        c->kpx_cap = (size_t)nk * 3;
    }
    /* p: "<img> <bbox fragment>\t <k>:<x>:<y> …" ; coordinates kept as text */
    const char *tab = memchr(p, '\t', n);
    if (!tab)
        return -1;
    const char **tx = calloc((size_t)nk * 2 + 1, sizeof *tx);
    size_t *tl = calloc((size_t)nk * 2 + 1, sizeof *tl);
    if (!tx || !tl) {
        free(tx);
        free(tl);
        return -1;
    }
    const char *q = tab + 1, *e = p + n;
    int num = 0;
    while (q < e) {
        while (q < e && *q == ' ')
            q++;
        if (q >= e)
            break;
        char *colon;
        long k = strtol(q, &colon, 10);
        const char *xs = colon + 1, *xe = memchr(xs, ':', (size_t)(e - xs));
        const char *ys = xe + 1, *ye = ys;
        while (ye < e && *ye != ' ')
            ye++;
        int f = sx_classmap_final(c->kp, (int)k);
        if (!tx[2 * f])
            num++;
        tx[2 * f] = xs, tl[2 * f] = (size_t)(xe - xs);
        tx[2 * f + 1] = ys, tl[2 * f + 1] = (size_t)(ye - ys);
        q = ye;
    }
    const char *sp = memchr(p, ' ', (size_t)(tab - p));
    sx_sb_puts(o, ",\"image_id\":");
    sx_sb_put(o, p, (size_t)(sp - p));
    sx_sb_puts(o, ",\"category_id\":");
    sx_sb_u64(o, (unsigned long long)sx_classmap_count(c->cm) + 1);
    sx_sb_put(o, sp + 1, (size_t)(tab - sp - 1));
    sx_sb_puts(o, ",\"keypoints\":[");
    for (int i = 0; i < nk; i++) {
        if (i)
            sx_sb_putc(o, ',');
        if (tx[2 * i]) {
            sx_sb_put(o, tx[2 * i], tl[2 * i]);
            sx_sb_putc(o, ',');
            sx_sb_put(o, tx[2 * i + 1], tl[2 * i + 1]);
            sx_sb_puts(o, ",2");
        } else {
            sx_sb_puts(o, "0,0,0");
        }
    }
    sx_sb_printf(o, "],\"num_keypoints\":%d}", num);
    free(tx);
    free(tl);
    return 0;
}


/* Passes the text on once a megabyte has gathered. @return 0, or -1 when
 * writing failed. */
static int flush_big(sx_textout *t, sx_strbuf *o)
{
    if (o->len <= (1 << 20))
        return 0;
    if (sx_textout_put(t, o->p, o->len) < 0)
        return -1;
    sx_sb_reset(o);
    return 0;
}
static int emit_split(sx_coco *c, sx_conv *cv, csplit *s)
{
    sx_strbuf path = SX_SB_INIT;
    if (c->o.layout == SX_COCO_LAYOUT_COCO) { /* Datumaro's default subset name */
        sx_sb_printf(&path, "annotations/instances_%s.json", *s->name ? s->name : "default");
    } else {
        if (*s->name) {
            sx_sb_puts(&path, s->name);
            sx_sb_putc(&path, '/');
        }
        sx_sb_puts(&path, c->o.layout == SX_COCO_LAYOUT_FIFTYONE ? "labels.json" : "annotations.json");
    }
    sx_textout *t = sx_conv_text_begin(cv, path.p, "data_file");
    sx_sb_free(&path);
    if (!t)
        return -1;
    sx_strbuf *o = &c->out;
    sx_sb_reset(o);
    put_info(o);
    const char *line;
    size_t len;
    int rc, first = 1;
    if (sx_spool_finish(s->img) < 0 || sx_spool_finish(s->ann) < 0)
        goto io;
    while ((rc = sx_spool_line(s->img, &line, &len)) == 1) {
        sx_sb_puts(o, first ? "\n" : ",\n");
        first = 0;
        sx_sb_put(o, line, len);
        if (flush_big(t, o) < 0)
            goto fail;
    }
    if (rc < 0)
        goto io;
    sx_sb_puts(o, "],\n\"annotations\":[");
    first = 1;
    uint64_t id = 0;
    while ((rc = sx_spool_line(s->ann, &line, &len)) == 1) {
        sx_sb_puts(o, first ? "\n" : ",\n");
        first = 0;
        sx_sb_puts(o, "{\"id\":");
        sx_sb_u64(o, ++id);
        if (line[0] == 'A') {
            char *e;
            long cls = strtol(line + 2, &e, 10);
            const char *img = e + 1, *ie = memchr(img, ' ', len - (size_t)(img - line));
            sx_sb_puts(o, ",\"image_id\":");
            sx_sb_put(o, img, (size_t)(ie - img));
            sx_sb_puts(o, ",\"category_id\":");
            sx_sb_u64(o, (unsigned long long)sx_classmap_final(c->cm, (int)cls) + 1);
            sx_sb_put(o, ie + 1, len - (size_t)(ie + 1 - line));
            sx_sb_putc(o, '}');
        } else if (put_kp_ann(c, o, line + 2, len - 2) < 0) {
            sx_conv_fatal(cv, "out of memory");
            goto fail;
        }
        if (flush_big(t, o) < 0)
            goto fail;
    }
    if (rc < 0)
        goto io;
    sx_sb_puts(o, "],\n\"categories\":[");
    int n = sx_classmap_count(c->cm);
    for (int i = 0; i < n; i++) {
        size_t nl;
        const char *nm = sx_classmap_name(c->cm, i, &nl);
        sx_sb_printf(o, "%s{\"id\":%d,\"name\":", i ? ",\n" : "\n", i + 1);
        sx_sb_json_str(o, nm, nl);
        sx_sb_puts(o, ",\"supercategory\":\"\"}");
    }
    int nk = sx_classmap_count(c->kp);
    if (nk) {
        sx_sb_printf(o, "%s{\"id\":%d,\"name\":\"keypoints\",\"supercategory\":\"\",\"keypoints\":[",
                      n ? ",\n" : "\n", n + 1);
        for (int i = 0; i < nk; i++) {
            size_t nl;
            const char *nm = sx_classmap_name(c->kp, i, &nl);
            if (i)
                sx_sb_putc(o, ',');
            sx_sb_json_str(o, nm, nl);
        }
        sx_sb_puts(o, "],\"skeleton\":[]}");
    }
    sx_sb_puts(o, "]}\n");
    if (o->failed) {
        sx_conv_fatal(cv, "out of memory");
        goto fail;
    }
    if (sx_textout_put(t, o->p, o->len) < 0)
        goto fail;
    return sx_textout_end(t);
io:
    sx_conv_fatal(cv, "cannot read a temporary file: %s", strerror(errno));
fail:
    sx_textout_abort(t);
    return -1;
}

static int coco_end(void *ctx, sx_conv *cv)
{
    sx_coco *c = ctx;
    if (sx_classmap_seal(c->cm) < 0 || sx_classmap_seal(c->kp) < 0)
        return sx_conv_fatal(cv, "out of memory");
    if (c->nsp == 0 && !get_split(c, ""))
        return sx_conv_fatal(cv, "cannot create a temporary file: %s", strerror(errno));
    for (int i = 0; i < c->nsp; i++)
        if (emit_split(c, cv, &c->sp[i]) < 0)
            return -1;
    return 0;
}

sx_conv_ops sx_coco_ops(sx_coco *c)
{
    return (sx_conv_ops){.ctx = c, .meta = coco_meta, .item = coco_item, .end = coco_end};
}
