/*
 * sx_classmap.h : class names to stable 0-based indices.
 *
 * The numbering rule of every converter (COCO adds 1 to the index):
 *   1. --classes FILE: one name per line, in file order (blank lines and a
 *      trailing CR ignored, duplicates refused);
 *   2. else the project configuration from `meta`: `classification` maps a
 *      tool to its classes, in any shape a Synapse project has: a list of
 *      names, a list of objects whose `code`, else `name`, is the class, or
 *      an object wrapping such a list (`classification_schema`, `classes`,
 *      or its only list); the lists of the wanted tools are joined in the
 *      order given, duplicates dropped;
 *   3. else the names seen in the data, sorted by byte order (UTF-8), known
 *      only at the end of the stream.
 * With 1 or 2 the map is fixed: a class outside it is an error for the item
 * (sx_classmap_get() returns -1). With 3 it is open: names get provisional
 * indices in order of appearance, and sx_classmap_seal() sorts them; the
 * final index of a provisional one is sx_classmap_final().
 *
 * Only the names are held in memory: the map is the one structure of a
 * converter that grows with the data (with the number of distinct classes).
 */
#ifndef SX_CLASSMAP_H
#define SX_CLASSMAP_H

#include <stddef.h>
#include <jv.h>

typedef struct sx_classmap sx_classmap;

/*! sx_classmap_new() : an empty, open map. @return it, or NULL. */
sx_classmap *sx_classmap_new(void);

/*! sx_classmap_load_file() : fixes the map to the names in `path`.
 *  @return 0, or -1 with a message in `err` (unreadable file, duplicate,
 *          empty list). */
int sx_classmap_load_file(sx_classmap *cm, const char *path, char *err, size_t errlen);

/*! sx_classmap_load_config() : fixes the map to the classes the project
 *  configuration lists for `tools` (NULL-terminated), unless the map is
 *  already fixed. Nothing happens when the configuration lists none.
 *  @config borrowed (the `configuration` object of `meta`, or anything).
 *  @return the number of names taken (0: the map stays open). */
int sx_classmap_load_config(sx_classmap *cm, jv config, const char *const *tools);

/*! sx_classmap_config_empty() : 1 when `meta` (borrowed) carries a
 *  configuration from which no class of any tool can be read (a shape this
 *  rule does not know, or none listed): worth a warning, since classes are
 *  then numbered by name. */
int sx_classmap_config_empty(jv meta);

#define SX_CLASSMAP_EMPTY_WARNING \
    "the project configuration in meta lists no class (classification: a list of names, of {code, name} " \
    "objects, or an object holding such a list): classes are numbered by name"

/*! sx_classmap_load_meta() : sx_classmap_load_config() with the
 *  `configuration` of a `meta` record. @meta borrowed. */
int sx_classmap_load_meta(sx_classmap *cm, jv meta, const char *const *tools);

/*! sx_classmap_fixed() : 1 when the map was fixed by a file or a
 *  configuration (final indices known from the start). */
int sx_classmap_fixed(const sx_classmap *cm);

/*! sx_classmap_get() : the index of `name` (`len` bytes): final when the map
 *  is fixed, provisional when open (the name is added).
 *  @return the index, or -1 (fixed map without that name; out of memory). */
int sx_classmap_get(sx_classmap *cm, const char *name, size_t len);

/*! sx_classmap_seal() : at the end of the stream, sorts an open map.
 *  @return 0, or -1 when out of memory. */
int sx_classmap_seal(sx_classmap *cm);

/*! sx_classmap_final() : after sealing, the final index of an index that
 *  sx_classmap_get() returned. */
int sx_classmap_final(const sx_classmap *cm, int idx);

/*! sx_classmap_count() : the number of names. */
int sx_classmap_count(const sx_classmap *cm);

/*! sx_classmap_name() : the name at final index `i` (after sealing, or any
 *  time for a fixed map), NUL-terminated; its length in *len if non-NULL. */
const char *sx_classmap_name(const sx_classmap *cm, int i, size_t *len);

/*! sx_classmap_free() : NULL is accepted. */
void sx_classmap_free(sx_classmap *cm);

#endif
