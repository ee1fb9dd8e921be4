/*
 * sx_dm.h : the Synapse DM annotation model, read from an item's `data`.
 *
 * Two layouts exist (SYNAPSE-API.md), detected per item:
 *   DM v1: `annotations` and `annotationsData`, both keyed by asset
 *          ("image_1", …) and joined by annotation `id`; the class is
 *          `classification.class`, the other keys of `classification` are
 *          attributes; a bounding box may carry `coordinate.rotation`.
 *   DM v2: `images[0]` holding one list per tool; the class is
 *          `classification`, attributes are `attrs` [{name, value}], `data`
 *          holds the coordinates.
 * A data object with an `images` array is v2, anything else is v1 (a v1
 * object without `annotations` simply has no objects). For v1 the asset
 * "image_1" is read, or when absent the first asset by name.
 *
 * Tools: bounding_box (x, y, width, height; a rotation in radians about the
 * box centre is turned into the axis-aligned extent of the rotated box and
 * kept as the attribute "rotation"), polygon (>= 3 points), polyline
 * (>= 2 points), keypoint (one point). Coordinates are absolute pixels with
 * the origin top-left. The image-level tool `classification` (v1) or list
 * `classification` (v2) gives image classes (img_cls).
 *
 * Part of an item is never a reason to fail all of it: an annotation with a
 * missing class, no coordinates, a coordinate that is not a finite number of
 * magnitude <= 1e7, a negative box size or too few points is left out, and a
 * tool or key sx does not export (relation, group, v1 relations and
 * annotationGroups, any future tool) is ignored, each with a note (notes[])
 * that the converter turns into a `warning` record. Only data that is not
 * an object of annotations fails the item (sx_dm_parse() returns -1).
 *
 * The data is read from a tape (sx_tape.h). Nothing is copied from it:
 * strings and attribute values are borrowed from the tape, which must not
 * be parsed again while the result is in use. A sx_dm is reused from item
 * to item so that parsing allocates nothing in the steady state.
 */
#ifndef SX_DM_H
#define SX_DM_H

#include <stddef.h>

#include "sx_tape.h"
#include "sx_fmt.h"

typedef enum { SX_DM_BOX = 0, SX_DM_POLYGON, SX_DM_POLYLINE, SX_DM_KEYPOINT, SX_DM_NTOOLS } sx_dm_tool;

/* Largest coordinate magnitude accepted, in pixels. */
#define SX_DM_COORD_MAX 1e7

typedef struct {
    sx_dm_tool tool;
    const char *id;         /* annotation id, "" when none (borrowed) */
    const char *cls;        /* class name (borrowed), never NULL */
    size_t cls_len;
    double x, y, w, h;      /* axis-aligned extent: box (after rotation),
                               points' extent, or the keypoint (w = h = 0) */
    double rotation;        /* radians; meaningful when rotated != 0 */
    int rotated;
    size_t pt, npt;         /* points (x, y) at pts[2*pt] … for polygon and
                               polyline; the keypoint itself for keypoint */
    const sx_tnode *attrs;  /* borrowed: v1 classification object or v2
                               attrs array, or NULL */
} sx_dm_ann;

/* A part of the item left out ("dropped") or not read ("ignored"). */
typedef struct {
    const char *kind;       /* "dropped" or "ignored" */
    char reason[48];        /* stable, for grouping: "polygon with fewer than
                               3 points", "tool 'relation'" */
    size_t count;           /* annotations or entries concerned */
    char detail[96];        /* which: "polygon p1 has 2 points (needs 3)" */
} sx_dm_note;

typedef struct {
    int version;            /* 1 or 2 */
    double width, height;   /* image size from the data, 0 when not given */
    int skip_size;          /* set by the caller: do not look for the size
                               (it is known from elsewhere) */
    size_t n;               /* annotations */
    sx_dm_ann *ann;
    double *pts;            /* point pairs referred to by sx_dm_ann.pt */
    sx_dm_note *notes;      /* what was left out or ignored, in order */
    size_t nnotes;
    const char **img_cls;   /* image-level classes (borrowed from the tape) */
    size_t nimg_cls;
    /* private */
    size_t ann_cap, npts, pts_cap, notes_cap, img_cls_cap;
    int *hash;
    size_t hash_cap;
    const sx_tnode **elems; /* annotationsData entries by index */
    size_t elems_cap;
    char err[256];
} sx_dm;

/*! sx_dm_new() : an empty model. @return it, or NULL when out of memory. */
sx_dm *sx_dm_new(void);

/*! sx_dm_parse() : reads DM data into the model, replacing what it held.
 *  @t, @data borrowed: `data` is a node of `t`; strings and attrs in the
 *  result point into the tape.
 *  @return 0 (annotations left out are in notes[]), or -1 with the reason
 *          in sx_dm_error(): "data is Null", "data is not an object",
 *          "annotations is not an object keyed by asset", "out of memory". */
int sx_dm_parse(sx_dm *dm, const sx_tape *t, const sx_tnode *data);

/*! sx_dm_error() : the reason of the last failed parse. */
const char *sx_dm_error(const sx_dm *dm);

/*! sx_dm_tool_name() : "bounding_box", "polygon", "polyline", "keypoint". */
const char *sx_dm_tool_name(sx_dm_tool t);

/*! sx_dm_attrs_json() : appends the annotation's attributes as a JSON
 *  object ({} when none): v1 classification keys other than "class", v2
 *  attrs by name, and "rotation" for a rotated box. @a borrowed. */
void sx_dm_attrs_json(const sx_dm_ann *a, sx_strbuf *b);

/*! sx_dm_clamp() : v limited to [lo, hi]. */
static inline double sx_dm_clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/*! sx_dm_clip_box() : the extent of `a` in corner form, clipped to a W x H
 *  image (every format clips before it rounds or normalises). */
static inline void sx_dm_clip_box(const sx_dm_ann *a, double W, double H, double *x0, double *y0, double *x1,
                                  double *y1)
{
    *x0 = sx_dm_clamp(a->x, 0, W), *y0 = sx_dm_clamp(a->y, 0, H);
    *x1 = sx_dm_clamp(a->x + a->w, 0, W), *y1 = sx_dm_clamp(a->y + a->h, 0, H);
}

/*! sx_dm_free() : frees the model; NULL is accepted. */
void sx_dm_free(sx_dm *dm);

#endif
