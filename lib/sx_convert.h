/*
 * sx_convert.h : the driver every converter (sx-convert-*) runs on.
 *
 * It reads the item stream, forwards every control record it does not
 * consume in order (`meta` is forwarded after the converter saw it; upstream
 * `end` records are consumed), parses each data record, checks that it is an
 * item ({"id", "files", "data"}), decides its split and its image file name,
 * parses its DM data (sx_dm.h) and image size when the converter wants them,
 * and hands it to the converter. A failing item becomes an `error` record
 * ({"sx":"error","item":id,"stage":prog,"message":…}) and the stream goes on.
 * When the input ended with `end`, the converter writes its final files, the
 * driver adds `metrics` and its own `end`; a cut stream gets neither.
 *
 * Image names (`--images`): an item's image is named after
 * files.file_name_original (else the base name of files.path or of the URL,
 * else the item id), reduced to a safe base name. Names are unique per split
 * directory, compared by stem without case (a.jpg and A.png would share a
 * YOLO label a.txt): a later item whose stem is taken gets "<stem>_<id>.<ext>".
 * Names seen are remembered in a fixed 8 MiB Bloom filter, so memory does not
 * grow with the stream; a false positive only renames an image that did not
 * need it.
 *
 * Splits: `--split train=0.8,val=0.2 --seed N` assigns every item a split
 * from a hash of the seed and its id (the same item always lands in the same
 * split); without it the item's own `split` field is used; without either,
 * the item has no split (flat layout).
 *
 * Data records are read onto a tape (sx_tape.h), not into jv values: the
 * item's fields are tape nodes, valid during the item callback. `meta` is
 * a jv. Everything handed to a callback is borrowed.
 */
#ifndef SX_CONVERT_H
#define SX_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#include "sx_dm.h"
#include "sx_stream.h"
#include "sx_tape.h"

typedef struct sx_conv sx_conv;
typedef struct sx_split sx_split;
typedef struct sx_textout sx_textout;

typedef enum { SX_IMG_AUTO = 0, SX_IMG_URL, SX_IMG_COPY, SX_IMG_LINK, SX_IMG_NONE } sx_img_mode;

/*! sx_img_mode_parse() : "url", "copy", "link", "none" (or "auto").
 *  @return 0 with *m set, or -1. */
int sx_img_mode_parse(const char *s, sx_img_mode *m);

/*! sx_split_parse() : "train=0.8,val=0.2[,test=…]": names of [A-Za-z0-9_.-]
 *  (not "." or ".."), positive weights (normalised by their sum).
 *  @return a spec, or NULL with a message in `err`. */
sx_split *sx_split_parse(const char *spec, uint64_t seed, char *err, size_t errlen);

/*! sx_split_pick() : the split of an item whose id (as text) is `key`. */
const char *sx_split_pick(const sx_split *sp, const char *key, size_t len);

/*! sx_split_count(), sx_split_name() : the splits of a spec, in order. */
int sx_split_count(const sx_split *sp);
const char *sx_split_name(const sx_split *sp, int i);

/*! sx_split_free() : NULL is accepted. */
void sx_split_free(sx_split *sp);

/*! sx_split_name_ok() : 1 when `s` can be a split directory name. */
int sx_split_name_ok(const char *s);

typedef struct {
    const char *stage;       /* program name, for error records */
    int keep_going;          /* invalid JSON: error record instead of exit 1 */
    int items;               /* the input is items only (--items): its end is
                                their end, no meta or end record needed; a
                                meta record is refused */
    int move;                /* big files handed over as src + move:true */
    sx_img_mode images;
    const char *images_dir;  /* "images" (sx-convert-dm: "origin_files") */
    int images_in_split;     /* images at <split>/<dir>/ (sx-convert-dm)
                                instead of <dir>/<split>/ */
    int parse_dm;            /* parse data into it->dm */
    int need_size;           /* an item without a known size fails */
    const sx_split *split;   /* borrowed; NULL: the items' own split */
    int image_classes;       /* the format writes image-level classes
                                (dm->img_cls); else they are ignored, with
                                a warning */
    /* a warning about the whole conversion (not an item), for the program
     * to show; NULL: none shown */
    void (*warn)(const char *msg);
} sx_conv_opts;

typedef struct {
    const sx_tnode *rec;     /* the record (an object) */
    const sx_tnode *id;      /* never NULL */
    const sx_tnode *files;   /* NULL when absent */
    const sx_tnode *data;    /* never NULL */
    const char *idtext;      /* the id as text (numbers in %.17g) */
    const char *idjson;      /* the id as JSON (for `item` fields) */
    const char *split;       /* "" when none */
    const char *name;        /* collision-safe image file name */
    size_t stem_len;         /* name[0, stem_len) is its stem */
    double width, height;    /* image size, 0 when unknown */
    const sx_dm *dm;         /* parsed data when opts.parse_dm, else NULL */
    const char *local;       /* files.path made absolute, when it is a
                                regular file under the stream's src_roots
                                (meta: the dataset sx-fetch --dir read) or in
                                its spool (meta: sx-download's), else NULL: a
                                path from anywhere else is not read */
    int spooled;             /* local is a file sx-download spooled: it is
                                handed over (`move`), not copied */
} sx_conv_item;

typedef struct {
    void *ctx;
    /* meta: the first `meta` record (borrowed). @return 0, -1 fatal. */
    int (*meta)(void *ctx, sx_conv *cv, jv meta);
    /* item: @return 0 converted, 1 failed (after sx_conv_item_fail()),
     * -1 fatal (after sx_conv_fatal(), or a failed write). */
    int (*item)(void *ctx, sx_conv *cv, const sx_conv_item *it);
    /* end: the upstream stream was complete: write the final files.
     * @return 0, -1 fatal. */
    int (*end)(void *ctx, sx_conv *cv);
} sx_conv_ops;

/*! sx_conv_new() : a driver writing to `w` (borrowed).
 *  @o copied, but the strings and the split it points to are borrowed.
 *  @return it, or NULL when out of memory. */
sx_conv *sx_conv_new(const sx_conv_opts *o, const sx_conv_ops *ops, sx_writer *w);

enum { SX_CONV_OK = 0, SX_CONV_BADLINES = 1, SX_CONV_FAIL = -1, SX_CONV_WRITE = -2 };

/*! sx_conv_run() : converts the whole input of `r`.
 *  @return SX_CONV_OK; SX_CONV_BADLINES when the stream was converted but
 *          --keep-going skipped lines that were not JSON (exit 1);
 *          SX_CONV_FAIL with sx_conv_error() (a cut stream, invalid JSON,
 *          an I/O error); SX_CONV_WRITE when writing the output failed
 *          (errno set: EPIPE when downstream went away). */
int sx_conv_run(sx_conv *cv, sx_reader *r);

/*! sx_conv_error() : the message of SX_CONV_FAIL; *where and *line name the
 *  input and line when it concerns one (else *where is NULL). */
const char *sx_conv_error(const sx_conv *cv, const char **where, uint64_t *line);

/*! sx_conv_free() : frees the driver (and any temporary file it holds). */
void sx_conv_free(sx_conv *cv);

/* ---- for converters, inside the callbacks ---- */

/*! sx_conv_item_fail() : the reason the current item failed; return 1 from
 *  the item callback after it. @return 1. */
int sx_conv_item_fail(sx_conv *cv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*! sx_conv_item_warn() : a `warning` record about the current item: an
 *  annotation left out (kind "dropped"), which never fails the item.
 *  `reason` a short stable phrase ("box outside the image"), the rest the
 *  details. @return 0, or -1 when writing failed. */
int sx_conv_item_warn(sx_conv *cv, const char *reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*! sx_conv_item_ignored() : a `warning` record (kind "ignored") about
 *  `count` parts of the current item the format has no place for. */
int sx_conv_item_ignored(sx_conv *cv, const char *reason, size_t count);

/*! sx_conv_warn() : a warning about the conversion as a whole (a project
 *  configuration without classes), handed to opts.warn. */
void sx_conv_warn(sx_conv *cv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*! sx_conv_classes() : a format's meta callback's class list: the
 *  project's classes for `tools` (NULL-terminated) from `meta` (borrowed),
 *  unless --classes fixed the map; a warning through sx_conv_warn() when
 *  the configuration lists none (classes are then numbered by name). */
typedef struct sx_classmap sx_classmap;
void sx_conv_classes(sx_conv *cv, sx_classmap *cm, jv meta, const char *const *tools);

/*! sx_conv_fatal() : a failure that stops the conversion; return -1 after
 *  it. @return -1. */
int sx_conv_fatal(sx_conv *cv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*! sx_conv_annotations() : counts annotations written and dropped, for the
 *  final `metrics` record of category "annotation". */
void sx_conv_annotations(sx_conv *cv, uint64_t kept, uint64_t dropped);

/*! sx_conv_file_text() : a `file` record with inline content, split into
 *  chunks of 1 MiB (at UTF-8 boundaries) with `append` after the first.
 *  @path relative path; @item the item id as JSON text (it->idjson), or
 *  NULL for no `item`; @category "data_file" or NULL.
 *  @return 0, -1 on a write error. */
int sx_conv_file_text(sx_conv *cv, const char *path, const char *item, const char *category,
                      const char *p, size_t n);

/*! sx_conv_text_begin() : starts a big file written piece by piece: as
 *  chunked `text` records, or with opts.move into a named temporary file
 *  handed over as one {"src", "move": true} record at sx_textout_end().
 *  @return it, or NULL (sx_conv_fatal() was called). */
sx_textout *sx_conv_text_begin(sx_conv *cv, const char *path, const char *category);

/*! sx_textout_put() : appends content. @return 0, -1 (fatal set). */
int sx_textout_put(sx_textout *t, const void *p, size_t n);

/*! sx_textout_end() : emits what is left and frees. @return 0, -1. */
int sx_textout_end(sx_textout *t);

/*! sx_textout_abort() : frees without emitting the rest (after a failure);
 *  a temporary file is removed. */
void sx_textout_abort(sx_textout *t);

/*! sx_conv_image_path() : appends the image's dataset path
 *  ("<dir>/[<split>/]<name>") to `b`. @it borrowed. */
void sx_conv_image_path(const sx_conv *cv, const sx_conv_item *it, sx_strbuf *b);

/*! sx_conv_total() : `total` from meta (0 when unknown). */
uint64_t sx_conv_total(const sx_conv *cv);

#endif
