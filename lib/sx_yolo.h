/*
 * sx_yolo.h : the YOLO converter (sx-convert-yolo, Ultralytics layout) on
 * the sx_convert driver.
 *
 * Files: `labels/[<split>/]<stem>.txt` per converted item (empty when it has
 * no object), `classes.txt` (one name per line; a CR or LF inside a name is
 * written as a space), `dataset.yaml` (`data.yaml` with SX_YOLO_LAYOUT_DATUMARO:
 * path, train, val, optional test, nc, names as double-quoted YAML scalars
 * (sx_sb_yaml_str()), and for pose kpt_shape, flip_idx and kpt_names).
 * flip_idx, which Ultralytics needs to flip pose images, swaps the pairs
 * the configuration lists as `flip_pairs` (of its keypoint tool's entry, or
 * of itself: [["left_eye", "right_eye"], …], names or 0-based indices); it
 * is the identity without pairs (right for keypoints without a mirror twin:
 * give the pairs, or train with fliplr=0, when they have one).
 *
 * Tasks:
 *   detect   `class cx cy w h` for each bounding box, and for each polygon
 *            (its extent);
 *   segment  `class x1 y1 x2 y2 …` for each polygon (points clamped into the
 *            image) and each bounding box (its 4 corners);
 *   pose     `class cx cy w h` + `x y v` per keypoint name for each bounding
 *            box; a keypoint belongs to the smallest box that contains it;
 *            names the box lacks are `0.000000 0.000000 0`, present ones v=2.
 * Boxes are clipped in corner form (x1 y1 x2 y2) to the image, then
 * normalised by its size and printed %.6f. A box (or polygon) with no width
 * or height left is dropped, counted in the "annotation" metrics and reported
 * with an `error` record; so is a pose keypoint outside every box.
 * Polylines (and keypoints outside pose) are not part of YOLO and are skipped.
 *
 * Class ids are 0-based indices of sx_classmap.h (tools bounding_box and
 * polygon). When they are known from the start (--classes or the project
 * configuration) each label file is written as its item is read; otherwise
 * labels are spooled to a temporary file and written at the upstream `end`.
 */
#ifndef SX_YOLO_H
#define SX_YOLO_H

#include "sx_convert.h"

typedef enum { SX_YOLO_DETECT = 0, SX_YOLO_SEGMENT, SX_YOLO_POSE } sx_yolo_task;

/* Where the dataset file goes: dataset.yaml (Ultralytics, FiftyOne's
 * YOLOv5Dataset), or data.yaml (the name Datumaro detects, Roboflow's). */
typedef enum { SX_YOLO_LAYOUT_SX = 0, SX_YOLO_LAYOUT_DATUMARO } sx_yolo_layout;

typedef struct sx_yolo sx_yolo;

typedef struct {
    sx_yolo_task task;
    const char *classes_file;   /* --classes FILE, or NULL */
    const char *dataset_path;   /* dataset.yaml `path`; NULL: '' (the yaml's directory) */
    sx_yolo_layout layout;
    const sx_split *split;      /* borrowed; NULL */
} sx_yolo_opts;

/*! sx_yolo_task_parse() : "detect", "segment", "pose". @return 0 or -1. */
int sx_yolo_task_parse(const char *s, sx_yolo_task *t);

/*! sx_yolo_new() : @return a converter, or NULL with a message in err. */
sx_yolo *sx_yolo_new(const sx_yolo_opts *o, char *err, size_t errlen);

/*! sx_yolo_ops() : the driver callbacks of `y`. */
sx_conv_ops sx_yolo_ops(sx_yolo *y);

/*! sx_yolo_free() : NULL is accepted. */
void sx_yolo_free(sx_yolo *y);

#endif
