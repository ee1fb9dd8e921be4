/*
 * sx_voc.h : the Pascal VOC converter (sx-convert-voc) on the sx_convert
 * driver.
 *
 * Files: `Annotations/[<split>/]<stem>.xml` per converted item, written as
 * the item is read, and `classes.txt` at the end (the class map of
 * sx_classmap.h, tools bounding_box and polygon; a CR or LF inside a name is
 * written as a space there, the XML keeps it escaped).
 *
 * One <object> per bounding box and per polygon (its extent), with `name`,
 * `pose` Unspecified, `truncated` 0, `difficult` 0 and `bndbox`. Rounding
 * (VOC's 1-based pixel convention): the box is clipped to the image in
 * corner form (x1, y1, x2, y2), then
 *     xmin = round(x1) + 1, ymin = round(y1) + 1, xmax = round(x2), ymax = round(y2)
 * with round() to nearest, halves up; so a box covering pixels 0..9 (x = 0,
 * width = 10) becomes xmin 1, xmax 10. A box left with xmax < xmin or
 * ymax < ymin is dropped and reported with an `error` record. Text is
 * escaped for XML (&amp; &lt; &gt; &quot; &apos;), UTF-8 kept.
 */
#ifndef SX_VOC_H
#define SX_VOC_H

#include "sx_convert.h"

typedef struct sx_voc sx_voc;

typedef struct {
    const char *classes_file;   /* --classes FILE, or NULL */
} sx_voc_opts;

/*! sx_voc_new() : @return a converter, or NULL with a message in err. */
sx_voc *sx_voc_new(const sx_voc_opts *o, char *err, size_t errlen);

/*! sx_voc_ops() : the driver callbacks of `v`. */
sx_conv_ops sx_voc_ops(sx_voc *v);

/*! sx_voc_free() : NULL is accepted. */
void sx_voc_free(sx_voc *v);

/*! sx_voc_round() : VOC's integer pixel of a clipped corner coordinate:
 *  round(v) + 1 for a minimum (is_min), round(v) for a maximum. */
long sx_voc_round(double v, int is_min);

#endif
