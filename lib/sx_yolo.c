#include "sx_yolo.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sx_classmap.h"
#include "sx_errbuf.h"
#include "sx_fmt.h"
#include "sx_spool.h"

#define MAX_SPLITS 64

struct sx_yolo {
    sx_yolo_opts o;
    sx_classmap *cm, *kp;
    char *splits[MAX_SPLITS];
    int nsp, flat;
    sx_spool *spool;        /* labels whose class ids are not known yet */
    sx_strbuf lines, out, path;
    int *cls, *owner;
    size_t cap;
    jv flip;                /* pose: the configuration's keypoint pairs, or null */
};

static const char *const det_tools[] = {"bounding_box", "polygon", NULL};
static const char *const kp_tools[] = {"keypoint", NULL};

int sx_yolo_task_parse(const char *s, sx_yolo_task *t)
{
    if (strcmp(s, "detect") == 0)
        *t = SX_YOLO_DETECT;
    else if (strcmp(s, "segment") == 0)
        *t = SX_YOLO_SEGMENT;
    else if (strcmp(s, "pose") == 0)
        *t = SX_YOLO_POSE;
    else
        return -1;
    return 0;
}

void sx_yolo_free(sx_yolo *y)
{
    if (!y)
        return;
    sx_classmap_free(y->cm);
    sx_classmap_free(y->kp);
    for (int i = 0; i < y->nsp; i++)
        free(y->splits[i]);
    sx_spool_free(y->spool);
    sx_sb_free(&y->lines);
    sx_sb_free(&y->out);
    sx_sb_free(&y->path);
    free(y->cls);
    free(y->owner);
    jv_free(y->flip);
    free(y);
}

static int note_split(sx_yolo *y, const char *s)
{
    if (!*s) {
        y->flat = 1;
        return 0;
    }
    for (int i = 0; i < y->nsp; i++)
        if (strcmp(y->splits[i], s) == 0)
            return 0;
    if (y->nsp == MAX_SPLITS || !(y->splits[y->nsp] = strdup(s)))
        return -1;
    y->nsp++;
    return 0;
}

sx_yolo *sx_yolo_new(const sx_yolo_opts *o, char *err, size_t errlen)
{
    sx_yolo *y = calloc(1, sizeof *y);
    if (!y || !(y->cm = sx_classmap_new()) || !(y->kp = sx_classmap_new())) {
        snprintf(err, errlen, "out of memory");
        sx_yolo_free(y);
        return NULL;
    }
    y->o = *o;
    y->flip = jv_null();
    if (o->classes_file && sx_classmap_load_file(y->cm, o->classes_file, err, errlen) < 0) {
        sx_yolo_free(y);
        return NULL;
    }
    for (int i = 0; i < sx_split_count(o->split); i++)
        note_split(y, sx_split_name(o->split, i));
    return y;
}

/* The keypoint pairs a horizontal flip swaps, from the configuration:
 * `flip_pairs` of the keypoint tool's entry (when it is an object) or of the
 * configuration itself. @meta borrowed. @return the list, or null. */
static jv flip_pairs(jv meta)
{
    jv conf = jv_get_kind(meta) == JV_KIND_OBJECT ? jv_object_get(jv_copy(meta), jv_string("configuration")) : jv_null();
    jv kp = jv_null();
    if (jv_get_kind(conf) == JV_KIND_OBJECT) {
        jv cls = jv_object_get(jv_copy(conf), jv_string("classification"));
        if (jv_get_kind(cls) == JV_KIND_OBJECT)
            kp = jv_object_get(jv_copy(cls), jv_string("keypoint"));
        jv_free(cls);
    }
    jv pairs = jv_get_kind(kp) == JV_KIND_OBJECT ? jv_object_get(jv_copy(kp), jv_string("flip_pairs")) : jv_invalid();
    if (jv_get_kind(pairs) != JV_KIND_ARRAY && jv_get_kind(conf) == JV_KIND_OBJECT) {
        jv_free(pairs);
        pairs = jv_object_get(jv_copy(conf), jv_string("flip_pairs"));
    }
    jv_free(kp);
    jv_free(conf);
    if (jv_get_kind(pairs) != JV_KIND_ARRAY) {
        jv_free(pairs);
        return jv_null();
    }
    return pairs;
}

/* A keypoint of a flip pair, a name or a 0-based index: its final index,
 * or -1. @k borrowed. */
static int flip_keypoint(sx_yolo *y, jv k)
{
    int n = sx_classmap_count(y->kp);
    if (jv_get_kind(k) == JV_KIND_NUMBER) {
        double d = jv_number_value(k);
        return d >= 0 && d < n && d == (int)d ? (int)d : -1;
    }
    if (jv_get_kind(k) != JV_KIND_STRING)
        return -1;
    int i = sx_classmap_get(y->kp, jv_string_value(k), (size_t)jv_string_length_bytes(jv_copy(k)));
    return i < 0 ? -1 : sx_classmap_final(y->kp, i);
}

/* dataset.yaml's flip_idx: the identity, each configured pair swapped. A
 * pair that names no keypoint, or a keypoint already paired, is warned
 * about and left out. */
static void put_flip_idx(sx_yolo *y, sx_conv *cv, sx_strbuf *o)
{
    int n = sx_classmap_count(y->kp), pairs = 0;
    int *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx) {
        o->failed = 1;
        return;
    }
    for (int i = 0; i < n; i++)
        idx[i] = i;
    if (jv_get_kind(y->flip) == JV_KIND_ARRAY) {
        jv_array_foreach(y->flip, i, pair) {
            jv a = jv_array_get(jv_copy(pair), 0), b = jv_array_get(jv_copy(pair), 1);
            int ia = jv_get_kind(pair) == JV_KIND_ARRAY && jv_array_length(jv_copy(pair)) == 2 ? flip_keypoint(y, a) : -1;
            int ib = ia >= 0 ? flip_keypoint(y, b) : -1;
            jv text = jv_dump_string(jv_copy(pair), 0);
            char q[300];
            sx_quote(jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)), 200, q, sizeof q);
            if (ia < 0 || ib < 0 || ia == ib)
                sx_conv_warn(cv, "flip pair %s of the configuration does not name two keypoints: left out", q);
            else if (idx[ia] != ia || idx[ib] != ib)
                sx_conv_warn(cv, "flip pair %s of the configuration names a keypoint already paired: left out", q);
            else
                idx[ia] = ib, idx[ib] = ia, pairs++;
            jv_free(text);
            jv_free(a);
            jv_free(b);
            jv_free(pair);
        }
    }
    sx_sb_puts(o, pairs ? "flip_idx: [" : "# the identity: the configuration lists no flip_pairs\nflip_idx: [");
    for (int i = 0; i < n; i++)
        sx_sb_printf(o, "%s%d", i ? ", " : "", idx[i]);
    sx_sb_puts(o, "]\n");
    free(idx);
}

static int yolo_meta(void *ctx, sx_conv *cv, jv meta)
{
    sx_yolo *y = ctx;
    sx_conv_classes(cv, y->cm, meta, det_tools);
    if (y->o.task == SX_YOLO_POSE) {
        sx_classmap_load_meta(y->kp, meta, kp_tools);
        jv_free(y->flip);
        y->flip = flip_pairs(meta);
    }
    return 0;
}

static int ready(const sx_yolo *y)
{
    return sx_classmap_fixed(y->cm) && (y->o.task != SX_YOLO_POSE || sx_classmap_fixed(y->kp));
}

static void xy(sx_strbuf *b, double x, double y, double W, double H)
{
    sx_sb_putc(b, ' ');
    sx_sb_fixed6(b, x / W);
    sx_sb_putc(b, ' ');
    sx_sb_fixed6(b, y / H);
}

/* Final label text of intermediate lines p[0,n) into y->out, emitted as the
 * file `path`. */
static int render_file(sx_yolo *y, sx_conv *cv, const char *path, const char *item, const char *p, size_t n)
{
    sx_strbuf *o = &y->out;
    sx_sb_reset(o);
    int nk = sx_classmap_count(y->kp);
    const char *e = p + n;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl)
            nl = e;
        const char *q = p;
        int cls = 0;
        while (q < nl && *q >= '0' && *q <= '9')
            cls = cls * 10 + (*q++ - '0');
        sx_sb_u64(o, (unsigned long long)sx_classmap_final(y->cm, cls));
        const char *bar = memchr(q, '|', (size_t)(nl - q));
        if (!bar) {
            sx_sb_put(o, q, (size_t)(nl - q));
        } else {
            sx_sb_put(o, q, (size_t)(bar - 1 - q));
            const char *t = bar + 1;
            typedef struct { int k; const char *x, *y; size_t xl, yl; } kpt;
            sx_strbuf tail = SX_SB_INIT;
            kpt *kps = NULL;
            int nkp = 0, cap = 0;
            while (t < nl) {
                while (t < nl && *t == ' ')
                    t++;
                if (t >= nl)
                    break;
                char *c1;
                long k = strtol(t, &c1, 10);
                const char *xs = c1 + 1, *xe = memchr(xs, ':', (size_t)(nl - xs));
                const char *ys = xe + 1, *ye = ys;
                while (ye < nl && *ye != ' ')
                    ye++;
                if (nkp == cap) {
                    cap = cap ? cap * 2 : 8;
                    kpt *np = realloc(kps, (size_t)cap * sizeof *np);
                    if (!np) {
                        free(kps);
                        return sx_conv_fatal(cv, "out of memory");
                    }
                    kps = np;
                }
                kps[nkp++] = (kpt){sx_classmap_final(y->kp, (int)k), xs, ys, (size_t)(xe - xs), (size_t)(ye - ys)};
                t = ye;
            }
            for (int k = 0; k < nk; k++) {
                int found = -1;
                for (int j = 0; j < nkp; j++)
                    if (kps[j].k == k)
                        found = j; /* the last one of a name wins */
                if (found < 0) {
                    sx_sb_puts(&tail, " 0.000000 0.000000 0");
                } else {
                    sx_sb_putc(&tail, ' ');
                    sx_sb_put(&tail, kps[found].x, kps[found].xl);
                    sx_sb_putc(&tail, ' ');
                    sx_sb_put(&tail, kps[found].y, kps[found].yl);
                    sx_sb_puts(&tail, " 2");
                }
            }
            sx_sb_put(o, tail.p, tail.len);
            sx_sb_free(&tail);
            free(kps);
        }
        sx_sb_putc(o, '\n');
        p = nl + 1;
    }
    if (o->failed)
        return sx_conv_fatal(cv, "out of memory");
    return sx_conv_file_text(cv, path, item, "data_file", o->p ? o->p : "", o->len);
}

/* Intermediate label lines "<cls> <numbers…>[ |k:x:y …]\n", class ids and
 * keypoint ids not yet final; render() maps them. */
static int yolo_item(void *ctx, sx_conv *cv, const sx_conv_item *it)
{
    sx_yolo *y = ctx;
    const sx_dm *dm = it->dm;
    double W = it->width, H = it->height;
    if (note_split(y, it->split) < 0)
        return sx_conv_fatal(cv, "too many splits (more than %d)", MAX_SPLITS);
    if (dm->n > y->cap) {
        int *c = realloc(y->cls, dm->n * sizeof *c), *o = c ? realloc(y->owner, dm->n * sizeof *o) : NULL;
        if (c)
            y->cls = c;
        if (!c || !o)
            return sx_conv_fatal(cv, "out of memory");
        y->owner = o;
        y->cap = dm->n;
    }
    int pose = y->o.task == SX_YOLO_POSE;
    uint64_t kept = 0, dropped = 0;
    size_t unused[SX_DM_NTOOLS] = {0}; /* tools this task has no place for */
    for (size_t i = 0; i < dm->n; i++) {
        const sx_dm_ann *a = &dm->ann[i];
        sx_classmap *m = NULL;
        if (a->tool == SX_DM_BOX || (a->tool == SX_DM_POLYGON && !pose))
            m = y->cm;
        else if (a->tool == SX_DM_KEYPOINT && pose)
            m = y->kp;
        y->cls[i] = -1;
        if (!m) {
            unused[a->tool]++;
            continue;
        }
        y->cls[i] = sx_classmap_get(m, a->cls, a->cls_len);
        if (y->cls[i] < 0) {
            y->cls[i] = -2; /* dropped */
            dropped++;
            if (sx_conv_item_warn(cv, "class not in the class list", "class '%s' of %s %s", a->cls,
                                  sx_dm_tool_name(a->tool), *a->id ? a->id : "?") < 0)
                return -1;
        }
    }

    for (int t = 0; t < SX_DM_NTOOLS; t++)
        if (unused[t] && sx_conv_item_ignored(cv, t == SX_DM_POLYLINE ? "polyline (YOLO has none)"
                                                  : t == SX_DM_POLYGON ? "polygon (not in a pose dataset)"
                                                                       : "keypoint (only in a pose dataset)",
                                              unused[t]) < 0)
            return -1;
    /* boxes (clipped in corner form) */
    for (size_t i = 0; i < dm->n; i++) {
        const sx_dm_ann *a = &dm->ann[i];
        y->owner[i] = -1;
        if (y->cls[i] < 0 || a->tool == SX_DM_KEYPOINT)
            continue;
        double x0, y0, x1, y1;
        sx_dm_clip_box(a, W, H, &x0, &y0, &x1, &y1);
        if (x1 - x0 <= 0 || y1 - y0 <= 0) {
            y->cls[i] = -2; /* dropped */
            dropped++;
            if (sx_conv_item_warn(cv, "annotation outside the image", "%s %s has no area inside the %gx%g image", sx_dm_tool_name(a->tool),
                                  *a->id ? a->id : "?", W, H) < 0)
                return -1;
        }
    }
    if (pose) { /* each keypoint to the smallest box containing it */
        for (size_t k = 0; k < dm->n; k++) {
            const sx_dm_ann *p = &dm->ann[k];
            if (p->tool != SX_DM_KEYPOINT || y->cls[k] < 0)
                continue;
            double best = INFINITY;
            for (size_t i = 0; i < dm->n; i++) {
                const sx_dm_ann *a = &dm->ann[i];
                if (a->tool != SX_DM_BOX || y->cls[i] < 0)
                    continue;
                if (p->x >= a->x && p->x <= a->x + a->w && p->y >= a->y && p->y <= a->y + a->h &&
                    a->w * a->h < best && p->x >= 0 && p->y >= 0 && p->x <= W && p->y <= H) {
                    best = a->w * a->h;
                    y->owner[k] = (int)i;
                }
            }
            if (y->owner[k] < 0) {
                dropped++;
                if (sx_conv_item_warn(cv, "keypoint outside every box", "keypoint %s is not inside any bounding box of the image",
                                      *p->id ? p->id : "?") < 0)
                    return -1;
            }
        }
    }
    sx_strbuf *b = &y->lines;
    sx_sb_reset(b);
    for (size_t i = 0; i < dm->n; i++) {
        const sx_dm_ann *a = &dm->ann[i];
        if (y->cls[i] < 0 || a->tool == SX_DM_KEYPOINT)
            continue;
        double x0, y0, x1, y1;
        sx_dm_clip_box(a, W, H, &x0, &y0, &x1, &y1);
        sx_sb_i64(b, y->cls[i]);
        if (y->o.task == SX_YOLO_SEGMENT) {
            if (a->tool == SX_DM_POLYGON) {
                const double *p = dm->pts + 2 * a->pt;
                for (size_t j = 0; j < a->npt; j++)
                    xy(b, sx_dm_clamp(p[2 * j], 0, W), sx_dm_clamp(p[2 * j + 1], 0, H), W, H);
            } else {
                xy(b, x0, y0, W, H);
                xy(b, x1, y0, W, H);
                xy(b, x1, y1, W, H);
                xy(b, x0, y1, W, H);
            }
        } else {
            xy(b, (x0 + x1) / 2, (y0 + y1) / 2, W, H);
            xy(b, x1 - x0, y1 - y0, W, H);
        }
        if (pose) {
            sx_sb_puts(b, " |");
            for (size_t k = 0; k < dm->n; k++)
                if (dm->ann[k].tool == SX_DM_KEYPOINT && y->owner[k] == (int)i) {
                    sx_sb_putc(b, ' ');
                    sx_sb_i64(b, y->cls[k]);
                    sx_sb_putc(b, ':');
                    sx_sb_fixed6(b, dm->ann[k].x / W);
                    sx_sb_putc(b, ':');
                    sx_sb_fixed6(b, dm->ann[k].y / H);
                    kept++;
                }
        }
        sx_sb_putc(b, '\n');
        kept++;
    }
    sx_strbuf *path = &y->path;
    sx_sb_reset(path);
    sx_sb_puts(path, "labels/");
    if (*it->split) {
        sx_sb_puts(path, it->split);
        sx_sb_putc(path, '/');
    }
    sx_sb_put(path, it->name, it->stem_len);
    sx_sb_puts(path, ".txt");
    if (b->failed || path->failed)
        return sx_conv_fatal(cv, "out of memory");
    sx_conv_annotations(cv, kept, dropped);
    if (ready(y))
        return render_file(y, cv, path->p, it->idjson, b->p, b->len);
    if (!y->spool && !(y->spool = sx_spool_new()))
        return sx_conv_fatal(cv, "cannot create a temporary file: %s", strerror(errno));
    sx_strbuf *o = &y->out;
    sx_sb_reset(o);
    sx_sb_puts(o, "F ");
    sx_sb_puts(o, it->idjson);
    sx_sb_putc(o, '\t');
    sx_sb_puts(o, path->p);
    sx_sb_putc(o, '\n');
    if (o->failed || sx_spool_write(y->spool, o->p, o->len) < 0 || sx_spool_write(y->spool, b->p, b->len) < 0)
        return sx_conv_fatal(cv, "cannot write a temporary file: %s", strerror(errno));
    return 0;
}

/* A name on one line of classes.txt. */
static void put_line_name(sx_strbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sx_sb_putc(b, s[i] == '\n' || s[i] == '\r' ? ' ' : s[i]);
    sx_sb_putc(b, '\n');
}

static const char *find_split(const sx_yolo *y, const char *const *names)
{
    for (; *names; names++)
        for (int i = 0; i < y->nsp; i++)
            if (strcmp(y->splits[i], *names) == 0)
                return y->splits[i];
    return NULL;
}

static void yaml_dir(sx_strbuf *b, const char *key, const char *split)
{
    sx_sb_puts(b, key);
    sx_sb_puts(b, ": ");
    sx_strbuf d = SX_SB_INIT;
    sx_sb_puts(&d, "images");
    if (split) {
        sx_sb_putc(&d, '/');
        sx_sb_puts(&d, split);
    }
    sx_sb_yaml_str(b, d.p, d.len);
    sx_sb_free(&d);
    sx_sb_putc(b, '\n');
}

/* The names of a class map as dataset.yaml lists them: "  <id>: <name>",
 * the name a double-quoted YAML scalar. */
static void yaml_names(sx_strbuf *o, const sx_classmap *cm)
{
    for (int i = 0; i < sx_classmap_count(cm); i++) {
        size_t nl;
        const char *nm = sx_classmap_name(cm, i, &nl);
        sx_sb_printf(o, "  %d: ", i);
        sx_sb_yaml_str(o, nm, nl);
        sx_sb_putc(o, '\n');
    }
}

static int yolo_end(void *ctx, sx_conv *cv)
{
    sx_yolo *y = ctx;
    if (sx_classmap_seal(y->cm) < 0 || sx_classmap_seal(y->kp) < 0)
        return sx_conv_fatal(cv, "out of memory");
    if (y->spool) {
        if (sx_spool_finish(y->spool) < 0)
            return sx_conv_fatal(cv, "cannot read a temporary file: %s", strerror(errno));
        const char *line;
        size_t len;
        int rc;
        sx_strbuf cur = SX_SB_INIT, item = SX_SB_INIT, lines = SX_SB_INIT;
        int have = 0;
        while ((rc = sx_spool_line(y->spool, &line, &len)) >= 0) {
            if (rc == 0 || line[0] == 'F') {
                if (have && render_file(y, cv, cur.p, item.p, lines.p ? lines.p : "", lines.len) < 0)
                    break;
                if (rc == 0)
                    break;
                const char *tab = memchr(line, '\t', len);
                sx_sb_reset(&item);
                sx_sb_put(&item, line + 2, (size_t)(tab - line - 2));
                sx_sb_reset(&cur);
                sx_sb_put(&cur, tab + 1, len - (size_t)(tab + 1 - line));
                sx_sb_reset(&lines);
                have = 1;
            } else {
                sx_sb_put(&lines, line, len);
                sx_sb_putc(&lines, '\n');
            }
        }
        sx_sb_free(&cur);
        sx_sb_free(&item);
        sx_sb_free(&lines);
        if (rc < 0)
            return sx_conv_fatal(cv, "cannot read a temporary file: %s", strerror(errno));
        if (rc != 0)
            return -1;
    }
    sx_strbuf *o = &y->out;
    sx_sb_reset(o);
    int n = sx_classmap_count(y->cm);
    for (int i = 0; i < n; i++) {
        size_t nl;
        const char *nm = sx_classmap_name(y->cm, i, &nl);
        put_line_name(o, nm, nl);
    }
    if (sx_conv_file_text(cv, "classes.txt", NULL, "data_file", o->p ? o->p : "", o->len) < 0)
        return -1;
    sx_sb_reset(o);
    sx_sb_puts(o, "# written by sx-convert-yolo\n");
    if (y->o.dataset_path) {
        sx_sb_puts(o, "path: ");
        sx_sb_yaml_str(o, y->o.dataset_path, strlen(y->o.dataset_path));
        sx_sb_putc(o, '\n');
    } else {
        sx_sb_puts(o, "path: \"\"  # empty: the directory of this file\n");
    }
    static const char *const tr[] = {"train", "training", NULL};
    static const char *const va[] = {"val", "valid", "validation", NULL};
    static const char *const te[] = {"test", "testing", NULL};
    const char *t = find_split(y, tr), *v = find_split(y, va), *s = find_split(y, te);
    if (y->nsp == 0) {
        yaml_dir(o, "train", NULL);
        yaml_dir(o, "val", NULL);
    } else {
        yaml_dir(o, "train", t ? t : y->splits[0]);
        yaml_dir(o, "val", v ? v : t ? t : y->splits[0]);
        if (s)
            yaml_dir(o, "test", s);
    }
    sx_sb_printf(o, "nc: %d\nnames:\n", n);
    yaml_names(o, y->cm);
    if (y->o.task == SX_YOLO_POSE) {
        sx_sb_printf(o, "kpt_shape: [%d, 3]\n", sx_classmap_count(y->kp));
        put_flip_idx(y, cv, o);
        sx_sb_puts(o, "kpt_names:\n");
        yaml_names(o, y->kp);
    }
    if (o->failed)
        return sx_conv_fatal(cv, "out of memory");
    return sx_conv_file_text(cv, y->o.layout == SX_YOLO_LAYOUT_DATUMARO ? "data.yaml" : "dataset.yaml", NULL,
                             "data_file", o->p, o->len);
}

sx_conv_ops sx_yolo_ops(sx_yolo *y)
{
    return (sx_conv_ops){.ctx = y, .meta = yolo_meta, .item = yolo_item, .end = yolo_end};
}
