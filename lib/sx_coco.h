/*
 * sx_coco.h : the COCO converter (sx-convert-coco) on the sx_convert driver.
 *
 * Per split ("" = no split): `[<split>/]annotations.json` (see the layouts
 * below) with `info`,
 * `licenses`, `images` (every converted item, with or without annotations),
 * `annotations` and `categories`. Images and annotations are spooled to
 * anonymous temporary files while the stream is read and assembled at the
 * upstream `end`; only the class maps stay in memory.
 *
 *  - ids: images and annotations numbered from 1 in each file, in stream
 *    order; categories from 1 in class-map order (sx_classmap.h); when any
 *    keypoint exists, one more category "keypoints" whose `keypoints` are
 *    the keypoint class names (same numbering rule, tool "keypoint").
 *  - every annotation has a `bbox` with an area and a `segmentation` COCO
 *    tools rasterise to at least one pixel (sx_cocomask.h): the ground truth
 *    evaluated against itself scores AP 1.0 for bbox and segm. An extent
 *    narrower than a pixel becomes the whole pixel its centre lies in.
 *  - bounding_box: `bbox` clipped to the image, `area` = w*h,
 *    `segmentation` its rectangle; a box with nothing left inside the image
 *    is dropped, counted and reported with an `error` record.
 *  - polygon: points clamped into the image, `segmentation` [[x1,y1,…]],
 *    `area` by the shoelace formula, `bbox` their extent (dropped like a box
 *    when that extent is empty, or when it covers no pixel centre).
 *  - polyline: `polyline` [x1,y1,…] (clamped), `bbox` the extent,
 *    `segmentation` its rectangle, `area` w*h (the SDK's rule).
 *  - keypoint: all keypoints of an image form one annotation of category
 *    "keypoints": `keypoints` [x,y,2 …] in category order (0,0,0 for a name
 *    the image lacks, and for a point outside the image), `num_keypoints`,
 *    `bbox` their extent, its rectangle, `area` w*h.
 *  - other DM keys of an annotation go to `attributes` (when any).
 */
#ifndef SX_COCO_H
#define SX_COCO_H

#include "sx_convert.h"

typedef struct sx_coco sx_coco;

/* Where the files go, for the tools that find them by name (the program sets
 * the images' place in sx_conv_opts to match):
 *   SX_COCO_LAYOUT_SX        [<split>/]annotations.json, images/[<split>/]
 *   SX_COCO_LAYOUT_COCO      annotations/instances_<split>.json ("default"
 *                            without splits), images/<split>/: Datumaro's
 *                            coco_instances, and COCO's own naming
 *   SX_COCO_LAYOUT_FIFTYONE  [<split>/]labels.json, [<split>/]data/: FiftyOne's
 *                            COCODetectionDataset
 * The other layouts also keep attributes out of reserved names: an
 * attribute named as an annotation member or a FiftyOne label field (id,
 * bbox, area, label, bounding_box, mask, confidence, index, points, tags, …,
 * or starting with '_') is written as attr_<name>, since FiftyOne merges
 * `attributes` into the annotation. */
typedef enum { SX_COCO_LAYOUT_SX = 0, SX_COCO_LAYOUT_COCO, SX_COCO_LAYOUT_FIFTYONE } sx_coco_layout;

typedef struct {
    const char *classes_file;   /* --classes FILE, or NULL */
    const sx_split *split;      /* --split, borrowed; NULL */
    sx_coco_layout layout;
} sx_coco_opts;

/*! sx_coco_new() : @return a converter, or NULL with a message in err. */
sx_coco *sx_coco_new(const sx_coco_opts *o, char *err, size_t errlen);

/*! sx_coco_ops() : the driver callbacks of `c`. */
sx_conv_ops sx_coco_ops(sx_coco *c);

/*! sx_coco_free() : NULL is accepted. */
void sx_coco_free(sx_coco *c);

#endif
