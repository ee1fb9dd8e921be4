#include "sx_csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sx_classmap.h"
#include "sx_fmt.h"
#include "sx_spool.h"

struct sx_csv {
    sx_classmap *cm;
    sx_spool *rows;
    sx_strbuf row, img, icls;
};

static const char *const tools[] = {"bounding_box", "polygon", NULL};

void sx_csv_free(sx_csv *c)
{
    if (!c)
        return;
    sx_classmap_free(c->cm);
    sx_spool_free(c->rows);
    sx_sb_free(&c->row);
    sx_sb_free(&c->img);
    sx_sb_free(&c->icls);
    free(c);
}

sx_csv *sx_csv_new(const sx_csv_opts *o, char *err, size_t errlen)
{
    sx_csv *c = calloc(1, sizeof *c);
    if (!c || !(c->cm = sx_classmap_new())) {
        snprintf(err, errlen, "out of memory");
        sx_csv_free(c);
        return NULL;
    }
    if (!(c->rows = sx_spool_new())) {
        snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
        sx_csv_free(c);
        return NULL;
    }
    if (o->classes_file && sx_classmap_load_file(c->cm, o->classes_file, err, errlen) < 0) {
        sx_csv_free(c);
        return NULL;
    }
    return c;
}

static int csv_meta(void *ctx, sx_conv *cv, jv meta)
{
    sx_csv *c = ctx;
    sx_conv_classes(cv, c->cm, meta, tools);
    return 0;
}

static int csv_item(void *ctx, sx_conv *cv, const sx_conv_item *it)
{
    sx_csv *c = ctx;
    const sx_dm *dm = it->dm;
    double W = it->width, H = it->height;
    sx_strbuf *r = &c->row, *img = &c->img, *icls = &c->icls;
    sx_sb_reset(r);
    sx_sb_reset(img);
    sx_sb_reset(icls);
    sx_conv_image_path(cv, it, img);
    for (size_t i = 0; i < dm->nimg_cls; i++) { /* image-level classes: one field */
        if (i)
            sx_sb_putc(icls, ';');
        sx_sb_puts(icls, dm->img_cls[i]);
    }
    uint64_t kept = 0, dropped = 0;
    for (size_t i = 0; i < dm->n; i++) {
        const sx_dm_ann *a = &dm->ann[i];
        if (a->tool != SX_DM_BOX && a->tool != SX_DM_POLYGON)
            continue;
        if (sx_classmap_get(c->cm, a->cls, a->cls_len) < 0) {
            dropped++;
            if (sx_conv_item_warn(cv, "class not in the class list", "class '%s' of %s %s", a->cls,
                                  sx_dm_tool_name(a->tool), *a->id ? a->id : "?") < 0)
                return -1;
            continue;
        }
        double x0, y0, x1, y1;
        sx_dm_clip_box(a, W, H, &x0, &y0, &x1, &y1);
        if (x1 - x0 <= 0 || y1 - y0 <= 0) {
            dropped++;
            if (sx_conv_item_warn(cv, "annotation outside the image", "%s %s has no area inside the %gx%g image", sx_dm_tool_name(a->tool),
                                  *a->id ? a->id : "?", W, H) < 0)
                return -1;
            continue;
        }
        sx_sb_csv(r, img->p, img->len);
        sx_sb_putc(r, ',');
        sx_sb_num(r, W);
        sx_sb_putc(r, ',');
        sx_sb_num(r, H);
        sx_sb_putc(r, ',');
        sx_sb_csv(r, a->cls, a->cls_len);
        double v[4] = {x0, y0, x1, y1};
        for (int k = 0; k < 4; k++) {
            sx_sb_putc(r, ',');
            sx_sb_num(r, v[k]);
        }
        sx_sb_putc(r, ',');
        sx_sb_csv(r, icls->p ? icls->p : "", icls->len);
        sx_sb_puts(r, "\r\n");
        kept++;
    }
    if (!kept && icls->len) { /* no box: the image's classes still get their row */
        sx_sb_csv(r, img->p, img->len);
        sx_sb_putc(r, ',');
        sx_sb_num(r, W);
        sx_sb_putc(r, ',');
        sx_sb_num(r, H);
        sx_sb_puts(r, ",,,,,,");
        sx_sb_csv(r, icls->p, icls->len);
        sx_sb_puts(r, "\r\n");
    }
    if (r->failed || img->failed)
        return sx_conv_fatal(cv, "out of memory");
    if (sx_spool_write(c->rows, r->p, r->len) < 0)
        return sx_conv_fatal(cv, "cannot write a temporary file: %s", strerror(errno));
    sx_conv_annotations(cv, kept, dropped);
    return 0;
}

static int csv_end(void *ctx, sx_conv *cv)
{
    sx_csv *c = ctx;
    sx_textout *t = sx_conv_text_begin(cv, "annotations.csv", "data_file");
    if (!t)
        return -1;
    static const char head[] = "image,width,height,class,xmin,ymin,xmax,ymax,image_classes\r\n";
    if (sx_textout_put(t, head, sizeof head - 1) < 0 || sx_spool_finish(c->rows) < 0)
        goto fail;
    char buf[65536];
    long n;
    while ((n = sx_spool_read(c->rows, buf, sizeof buf)) > 0)
        if (sx_textout_put(t, buf, (size_t)n) < 0)
            goto fail;
    if (n < 0) {
        sx_conv_fatal(cv, "cannot read a temporary file: %s", strerror(errno));
        goto fail;
    }
    return sx_textout_end(t);
fail:
    sx_textout_abort(t);
    return -1;
}

sx_conv_ops sx_csv_ops(sx_csv *c)
{
    return (sx_conv_ops){.ctx = c, .meta = csv_meta, .item = csv_item, .end = csv_end};
}
