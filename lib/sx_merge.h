/*
 * sx_merge.h : merging the COCO files of the shards of one export.
 *
 * N workers each export part of a listing (sx-fetch --shard I/N) to COCO;
 * sx_merge joins their annotations.json files into one: image and
 * annotation ids renumbered from 1, categories unified by name, an image
 * present in two shards (same sx_item, else same file_name) kept once, and
 * a file_name that different images of several shards use given to the one
 * with the smallest sx_item, the others named stem_<sx_item>.ext (the
 * converters' rule: what one export over a listing in id order does).
 *
 * Shards are read as byte streams: a small scanner walks each file and
 * hands out one element of "images" or "annotations" at a time, which is
 * parsed, rewritten and written out at once. Memory holds the categories
 * and a bounded amount besides (about 30 MB at most), however many images:
 * what becomes of each image (dropped as a duplicate, its new id, its new
 * name) is planned before anything is written, with external sorts in
 * temporary files ($TMPDIR, unlinked at once; about 150 bytes of disk per
 * image) and two sorted tables on disk (file_name -> the image kept under
 * it, old id -> new id) whose sparse indexes are all that stays in memory.
 * The one thing held per image is the name made up for a renamed image.
 * Each shard file is read three times (categories and names, images,
 * annotations).
 *
 * Shards of different exports are refused before anything is written: when
 * a shard carries a marker (sx-shard.json, written by export-* --shard:
 * format, target, source, page size and the I/N of the shard) every shard
 * must carry one, and they must name the same export, the same N and
 * different parts; a category of the same name with different keypoints is
 * refused too.
 *
 * The library never prints and never exits: functions return -1 and leave
 * a message (sx_merge_error()).
 */
#ifndef SX_MERGE_H
#define SX_MERGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sx_merge sx_merge;

/* Where the merged JSON goes: returns 0, or -1 with errno set. */
typedef int (*sx_merge_write_fn)(void *ctx, const void *p, size_t n);

/* Called for every image kept, in output order: the shard's index (from 0,
 * in the order of sx_merge_add()), the file_name it has in its shard and
 * the one it has in the merged file. Returns 0, or -1 to stop the merge
 * (with errno set). */
typedef int (*sx_merge_image_fn)(void *ctx, int shard, const char *old_name, const char *new_name);

/*! sx_merge_new() : an empty merge. @return it, or NULL when out of memory. */
sx_merge *sx_merge_new(void);

/*! sx_merge_add() : adds a shard.
 *  @json    path of its COCO file (borrowed: copied)
 *  @marker  path of its sx-shard.json, or NULL when it has none (copied)
 *  @return 0, or -1 when out of memory. Files are opened by sx_merge_check(). */
int sx_merge_add(sx_merge *m, const char *json, const char *marker);

/*! sx_merge_partial() : allows shards 1..N to be incomplete (some missing). */
void sx_merge_partial(sx_merge *m, int yes);

/*! sx_merge_check_shards() : only the marker check of sx_merge_check():
 *  refuses shards of different exports (for a caller that merges the
 *  splits of the shards one by one, each split with the shards that have
 *  it, under sx_merge_partial()). Reads only the markers.
 *  @return 0, or -1. */
int sx_merge_check_shards(sx_merge *m);

/*! sx_merge_check() : reads every shard's marker (refusing shards of
 *  different exports), then its categories and images, unifies the
 *  categories and plans every image (duplicate, new id, new name) in
 *  temporary files. Nothing is written.
 *  @return 0, or -1 (unreadable or malformed file, different exports, an
 *          image without id or an id twice in a shard, a temporary file
 *          that cannot be written). */
int sx_merge_check(sx_merge *m);

/*! sx_merge_write() : after sx_merge_check(), writes the merged COCO JSON
 *  through `write` (one image or annotation per line, like
 *  sx-convert-coco), calling `on_image` (may be NULL) for each image kept.
 *  @return 0, or -1 (a shard changed or is malformed, a write failed). */
int sx_merge_write(sx_merge *m, sx_merge_write_fn write, sx_merge_image_fn on_image, void *ctx);

/*! sx_merge_counts() : after sx_merge_write(): images and annotations
 *  written, duplicate images dropped, images renamed. */
void sx_merge_counts(const sx_merge *m, uint64_t *images, uint64_t *annotations, uint64_t *dup_images,
                     uint64_t *renamed);

/*! sx_merge_error() : what went wrong at the last -1 (names the file). */
const char *sx_merge_error(const sx_merge *m);

/*! sx_merge_free() : frees; NULL is accepted. */
void sx_merge_free(sx_merge *m);

#endif
