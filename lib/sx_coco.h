/*
 * sx_coco.h : the COCO converter (sx-convert-coco) on the sx_convert driver.
 *
 * Per split ("" = no split): `[<split>/]annotations.json` with `info`,
 * `licenses`, `images` (every converted item, with or without annotations),
 * `annotations` and `categories`. Images and annotations are spooled to
 * anonymous temporary files while the stream is read and assembled at the
 * upstream `end`; only the class maps stay in memory.
 *
 *  - ids: images and annotations numbered from 1 in each file, in stream
 *    order; categories from 1 in class-map order (sx_classmap.h); when any
 *    keypoint exists, one more category "keypoints" whose `keypoints` are
 *    the keypoint class names (same numbering rule, tool "keypoint").
 *  - bounding_box: `bbox` clipped to the image, `area` = w*h,
 *    `segmentation` []; a box with nothing left inside the image is dropped,
 *    counted and reported with an `error` record.
 *  - polygon: points clamped into the image, `segmentation` [[x1,y1,…]],
 *    `area` by the shoelace formula, `bbox` their extent (dropped like a box
 *    when that extent is empty).
 *  - polyline: `polyline` [x1,y1,…] (clamped), `segmentation` [], `bbox` the
 *    extent, `area` w*h (the SDK's rule).
 *  - keypoint: all keypoints of an image form one annotation of category
 *    "keypoints": `keypoints` [x,y,2 …] in category order (0,0,0 for a name
 *    the image lacks, and for a point outside the image), `num_keypoints`,
 *    `bbox` their extent, `area` w*h.
 *  - other DM keys of an annotation go to `attributes` (when any).
 */
#ifndef SX_COCO_H
#define SX_COCO_H

#include "sx_convert.h"

typedef struct sx_coco sx_coco;

typedef struct {
    const char *classes_file;   /* --classes FILE, or NULL */
    const sx_split *split;      /* --split, borrowed; NULL */
} sx_coco_opts;

/*! sx_coco_new() : @return a converter, or NULL with a message in err. */
sx_coco *sx_coco_new(const sx_coco_opts *o, char *err, size_t errlen);

/*! sx_coco_ops() : the driver callbacks of `c`. */
sx_conv_ops sx_coco_ops(sx_coco *c);

/*! sx_coco_free() : NULL is accepted. */
void sx_coco_free(sx_coco *c);

#endif
