#include "sx_voc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sx_classmap.h"
#include "sx_fmt.h"

struct sx_voc {
    sx_classmap *cm;
    sx_strbuf x, path, dir;
};

static const char *const tools[] = {"bounding_box", "polygon", NULL};

long sx_voc_round(double v, int is_min) { return (long)floor(v + 0.5) + (is_min ? 1 : 0); }

void sx_voc_free(sx_voc *v)
{
    if (!v)
        return;
    sx_classmap_free(v->cm);
    sx_sb_free(&v->x);
    sx_sb_free(&v->path);
    sx_sb_free(&v->dir);
    free(v);
}

sx_voc *sx_voc_new(const sx_voc_opts *o, char *err, size_t errlen)
{
    sx_voc *v = calloc(1, sizeof *v);
    if (!v || !(v->cm = sx_classmap_new())) {
        snprintf(err, errlen, "out of memory");
        sx_voc_free(v);
        return NULL;
    }
    if (o->classes_file && sx_classmap_load_file(v->cm, o->classes_file, err, errlen) < 0) {
        sx_voc_free(v);
        return NULL;
    }
    return v;
}

static int voc_meta(void *ctx, sx_conv *cv, jv meta)
{
    sx_voc *v = ctx;
    sx_conv_classes(cv, v->cm, meta, tools);
    return 0;
}

static void tag_text(sx_strbuf *b, const char *indent, const char *tag, const char *s, size_t n)
{
    sx_sb_printf(b, "%s<%s>", indent, tag);
    sx_sb_xml(b, s, n);
    sx_sb_printf(b, "</%s>\n", tag);
}

static int voc_item(void *ctx, sx_conv *cv, const sx_conv_item *it)
{
    sx_voc *v = ctx;
    const sx_dm *dm = it->dm;
    double W = it->width, H = it->height;
    sx_strbuf *x = &v->x, *dir = &v->dir;
    sx_sb_reset(x);
    sx_sb_reset(dir);
    sx_sb_puts(dir, "images");
    if (*it->split) {
        sx_sb_putc(dir, '/');
        sx_sb_puts(dir, it->split);
    }
    sx_sb_puts(x, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotation>\n");
    tag_text(x, "  ", "folder", dir->p, dir->len);
    tag_text(x, "  ", "filename", it->name, strlen(it->name));
    sx_sb_puts(x, "  <source>\n    <database>sx</database>\n  </source>\n");
    sx_sb_printf(x, "  <size>\n    <width>%.0f</width>\n    <height>%.0f</height>\n    <depth>3</depth>\n  </size>\n",
                 W, H);
    sx_sb_puts(x, "  <segmented>0</segmented>\n");
    uint64_t kept = 0, dropped = 0;
    for (size_t i = 0; i < dm->n; i++) {
        const sx_dm_ann *a = &dm->ann[i];
        if (a->tool != SX_DM_BOX && a->tool != SX_DM_POLYGON)
            continue;
        if (sx_classmap_get(v->cm, a->cls, a->cls_len) < 0) {
            dropped++;
            if (sx_conv_item_warn(cv, "class not in the class list", "class '%s' of %s %s", a->cls,
                                  sx_dm_tool_name(a->tool), *a->id ? a->id : "?") < 0)
                return -1;
            continue;
        }
        double x0, y0, x1, y1;
        sx_dm_clip_box(a, W, H, &x0, &y0, &x1, &y1);
        long xmin = sx_voc_round(x0, 1), ymin = sx_voc_round(y0, 1);
        long xmax = sx_voc_round(x1, 0), ymax = sx_voc_round(y1, 0);
        if (x1 - x0 <= 0 || y1 - y0 <= 0 || xmax < xmin || ymax < ymin) {
            dropped++;
            if (sx_conv_item_warn(cv, "box without a whole pixel inside the image", "%s %s has no whole pixel inside the %gx%g image",
                                  sx_dm_tool_name(a->tool), *a->id ? a->id : "?", W, H) < 0)
                return -1;
            continue;
        }
        sx_sb_puts(x, "  <object>\n");
        tag_text(x, "    ", "name", a->cls, a->cls_len);
        sx_sb_puts(x, "    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n    <difficult>0</difficult>\n");
        sx_sb_printf(x,
                     "    <bndbox>\n      <xmin>%ld</xmin>\n      <ymin>%ld</ymin>\n      <xmax>%ld</xmax>\n"
                     "      <ymax>%ld</ymax>\n    </bndbox>\n  </object>\n",
                     xmin, ymin, xmax, ymax);
        kept++;
    }
    sx_sb_puts(x, "</annotation>\n");
    sx_strbuf *p = &v->path;
    sx_sb_reset(p);
    sx_sb_puts(p, "Annotations/");
    if (*it->split) {
        sx_sb_puts(p, it->split);
        sx_sb_putc(p, '/');
    }
    sx_sb_put(p, it->name, it->stem_len);
    sx_sb_puts(p, ".xml");
    if (x->failed || p->failed || dir->failed)
        return sx_conv_fatal(cv, "out of memory");
    sx_conv_annotations(cv, kept, dropped);
    return sx_conv_file_text(cv, p->p, it->idjson, "data_file", x->p, x->len);
}

static int voc_end(void *ctx, sx_conv *cv)
{
    sx_voc *v = ctx;
    if (sx_classmap_seal(v->cm) < 0)
        return sx_conv_fatal(cv, "out of memory");
    sx_strbuf *o = &v->x;
    sx_sb_reset(o);
    for (int i = 0; i < sx_classmap_count(v->cm); i++) {
        size_t n;
        const char *s = sx_classmap_name(v->cm, i, &n);
        for (size_t j = 0; j < n; j++)
            sx_sb_putc(o, s[j] == '\n' || s[j] == '\r' ? ' ' : s[j]);
        sx_sb_putc(o, '\n');
    }
    if (o->failed)
        return sx_conv_fatal(cv, "out of memory");
    return sx_conv_file_text(cv, "classes.txt", NULL, "data_file", o->p ? o->p : "", o->len);
}

sx_conv_ops sx_voc_ops(sx_voc *v)
{
    return (sx_conv_ops){.ctx = v, .meta = voc_meta, .item = voc_item, .end = voc_end};
}
