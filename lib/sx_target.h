/*
 * sx_target.h : export targets as data.
 *
 * A target is a JSON object:
 *
 *   {"name": "assignment",
 *    "path": "sdk/assignments/",               DRF-paginated listing
 *    "params": {"expand": ["data"]},           fixed query parameters
 *    "required": ["project"],                  filter keys that must be given
 *    "rename": {"a": "b"},                     filter key a is sent as b
 *    "item": "{id: .id, files: .file, data: .data}",   jq: record -> item
 *    "lookups": {"ground_truth_dataset_version":       read before the
 *                "ground_truth_dataset_versions/{ground_truth_dataset_version}/"},
 *                                              listing, into `meta` ({key}:
 *                                              the filter's value)
 *    "project_field": "project"}               when the filter names no
 *                                              project: the member of the
 *                                              first record that does, whose
 *                                              configuration goes to `meta`
 *
 * The built-in targets (assignment, task, ground_truth) are such objects, and
 * a user's --target-file holds one object or an array of them. The mapping is
 * compiled once with libjq and run on every record.
 *
 * A filter is a jv array of [key, value] string pairs, in order; a key given
 * twice becomes a repeated query parameter.
 *
 * jv ownership follows jq: a jv parameter is consumed unless marked borrowed.
 */
#ifndef SX_TARGET_H
#define SX_TARGET_H

#include <stddef.h>
#include <jv.h>

typedef struct sx_target sx_target;

/*! sx_target_builtin_json() : the built-in targets as a JSON array (text). */
const char *sx_target_builtin_json(void);

/*! sx_target_list() : the known targets: the built-ins and, when `file` is
 *  not NULL, the targets of that file. @return an array of target objects,
 *  or an invalid jv with a message (file unreadable, not JSON, a target
 *  without `name` or `path`). */
jv sx_target_list(const char *file);

/*! sx_target_open() :
 *  Finds target `name` (the file's first target when NULL and a file is
 *  given, "assignment" when both are NULL) among sx_target_list(file), checks
 *  its shape and compiles its mapping.
 *  @return the target, or NULL with a message in err ("unknown target 'x'",
 *          "'f.json': target 'x': the item mapping does not compile: ..."). */
sx_target *sx_target_open(const char *name, const char *file, char *err, size_t errlen);

/*! sx_target_free() : NULL is accepted. */
void sx_target_free(sx_target *t);

/*! sx_target_name(), sx_target_path() : as in the target's JSON. */
const char *sx_target_name(const sx_target *t);
const char *sx_target_path(const sx_target *t);

/*! sx_filter_add() : appends pair key=value to `filter` (consumed, an
 *  array). @arg "key=value" @return the new filter, or an invalid jv with a
 *  message when arg has no '=' or an empty key. */
jv sx_filter_add(jv filter, const char *arg);

/*! sx_filter_add_json() : appends the pairs of a JSON object given as text
 *  (strings, numbers and booleans as text; an array value gives one pair per
 *  element; null values are dropped). @filter consumed. @return the new
 *  filter or an invalid jv with a message. */
jv sx_filter_add_json(jv filter, const char *json);

/*! sx_filter_get() : the first value of `key`, or NULL. @filter borrowed; the
 *  pointer lives as long as filter. */
const char *sx_filter_get(jv filter, const char *key);

/*! sx_filter_object() : the filter as an object for `meta` (a repeated key
 *  gives an array). @filter borrowed. */
jv sx_filter_object(jv filter);

/*! sx_target_check() : 0 when `filter` (borrowed) holds every required key,
 *  else -1 with "target 'x' needs filter 'project' (-f project=ID)". */
int sx_target_check(const sx_target *t, jv filter, char *err, size_t errlen);

/*! sx_target_query() : the query string (no '?') for `filter` (borrowed):
 *  the filter's pairs renamed and URL-encoded, then the fixed params, then
 *  page_size=N when page_size > 0. @return malloc'ed, or NULL. */
char *sx_target_query(const sx_target *t, jv filter, unsigned page_size);

/*! sx_target_map_text() :
 *  The item for the record text rec[0..len) (one validated JSON object, see
 *  sx_pager.h) without parsing it, when the mapping only picks fields:
 *  `{name: .a.b, name: (.a.b | to_entries[0].value), name, ...}` (the
 *  built-in mappings are such). The item is written compact into *out
 *  (malloc'ed, grown as needed; *cap its size), numbers and strings as the
 *  backend wrote them.
 *  @return the item's length, or -1 when the mapping must run through jq
 *          (another kind of program, or a record it would fail on): parse
 *          the record and call sx_target_map(). */
long sx_target_map_text(const sx_target *t, const char *rec, size_t len, char **out, size_t *cap);

/*! sx_target_lookups() : the target's lookups for `filter` (borrowed): an
 *  array of [meta key, path] with the filter's values put in (escaped).
 *  @return it (empty when none), or an invalid jv with a message in err
 *          when the filter lacks a key a lookup needs. */
jv sx_target_lookups(const sx_target *t, jv filter, char *err, size_t errlen);

/*! sx_target_project_field() : `project_field`, or NULL. The pointer lives
 *  as long as the target. */
const char *sx_target_project_field(const sx_target *t);

/*! sx_target_map() : runs the item mapping on `record` (consumed).
 *  @return the item (the mapping's first output, which must be an object),
 *          or an invalid jv with jq's message. */
jv sx_target_map(sx_target *t, jv record);

#endif
