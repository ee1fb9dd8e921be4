/*
 * sx_items.h : what sx-save remembers of the items of an export, and an
 * exact set of paths.
 *
 * Items are known by their key, the compact JSON text of the item id. Each
 * has a failed flag and the list of its files that are in place, in the
 * order they were added, so that a failure arriving later (another file of
 * the item could not be downloaded) removes them.
 *
 * A window (sx_items_new_window()) holds at most `cap` items besides the
 * pinned ones (an item with a file still on its way is pinned): when more
 * come, the least recently used unpinned item is forgotten, counted as it
 * stood (ok, failed upstream, failed here). Items come together in a stream
 * (a converter writes an item's files one after the other), so an item is
 * done long before it is forgotten; one named again after `cap` other items
 * is a new item to the window: counted twice, and a failure of it then
 * cannot remove the files it had before. sx_items_new() never forgets.
 *
 * Paths are remembered as two 64-bit hashes each (a collision, at 2^-128 a
 * pair, is not a concern): 16 bytes a path, 32 to 64 with the free slots.
 * sx-save keeps there the paths of the files that failed.
 *
 * Strings passed in are copied; the library never prints.
 */
#ifndef SX_ITEMS_H
#define SX_ITEMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sx_items sx_items;

/*! sx_items_new() : empty tables that remember every item. @return them,
 *  or NULL when out of memory. */
sx_items *sx_items_new(void);

/*! sx_items_new_window() : empty tables that hold at most `cap` unpinned
 *  items (see above). @return them, or NULL when out of memory. */
sx_items *sx_items_new_window(size_t cap);

/*! sx_items_pin(), sx_items_unpin() : a file of the item is on its way (the
 *  item is made known and kept), or no longer. @return 0, or -1 when out of
 *  memory (pin). */
int sx_items_pin(sx_items *t, const char *key, size_t klen);
void sx_items_unpin(sx_items *t, const char *key, size_t klen);

/*! sx_items_live() : the items held now. */
size_t sx_items_live(const sx_items *t);

/*! sx_items_free() : NULL is accepted. */
void sx_items_free(sx_items *t);

/*! sx_items_touch() : makes the item known (not failed, no files).
 *  @return 0, or -1 when out of memory. */
int sx_items_touch(sx_items *t, const char *key, size_t klen);

/*! sx_items_failed() : 1 when the item is known and failed, else 0. */
int sx_items_failed(const sx_items *t, const char *key, size_t klen);

/*! sx_items_add_file() : a file of the item is in place (the item is made
 *  known). @return 0, or -1 when out of memory. */
int sx_items_add_file(sx_items *t, const char *key, size_t klen, const char *path, int cat);

/*! sx_items_fail() : marks the item failed (making it known), calls
 *  `each(ctx, path, cat)` for each of its files in place, oldest first, and
 *  forgets them. `upstream`: an earlier stage failed it (an error record),
 *  not one of its files here. @return 0, or -1 when out of memory. */
int sx_items_fail(sx_items *t, const char *key, size_t klen, int upstream,
                  void (*each)(void *ctx, const char *path, int cat), void *ctx);

/*! sx_items_count() : known items (forgotten ones included) that did not
 *  fail, that failed upstream, and that failed only here. */
void sx_items_count(const sx_items *t, uint64_t *ok, uint64_t *failed_upstream, uint64_t *failed_here);

/*! sx_paths_has() : 1 when sx_paths_add() was given this path. */
int sx_paths_has(const sx_items *t, const char *path);

/*! sx_paths_add() : remembers a path. @return 0, or -1 when out of memory. */
int sx_paths_add(sx_items *t, const char *path);

#endif
