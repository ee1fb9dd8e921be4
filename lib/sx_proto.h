/*
 * sx_proto.h : the stream protocol of DESIGN.md.
 *
 * A stream is NDJSON. Control records are objects whose first key is "sx",
 * written compact, so that they are recognised by their byte prefix
 * `{"sx":"` without parsing; everything else is a data record, which a stage
 * parses only when it needs its values and otherwise forwards byte for byte.
 *
 * jv ownership follows jq: a jv parameter is consumed unless it is marked
 * "borrowed"; a returned jv belongs to the caller.
 */
#ifndef SX_PROTO_H
#define SX_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#include "sx_json.h"

#define SX_CTL_PREFIX "{\"sx\":\""
#define SX_CTL_PREFIX_LEN 7

typedef enum {
    SX_DATA = 0,     /* not a control record */
    SX_META,
    SX_FILE,
    SX_ERROR,
    SX_PROGRESS,
    SX_METRICS,
    SX_LOG,
    SX_RESULT,
    SX_END,
    SX_WARNING,
    SX_CTL_OTHER     /* a control record of a kind this version does not know */
} sx_kind;

/*! sx_proto_kind() : the kind of a record from its bytes alone (no parse).
 *  Leading spaces are not allowed before `{"sx":"`: control records are
 *  always written in canonical compact form. */
sx_kind sx_proto_kind(const char *line, size_t len);

/*! sx_kind_name() : "meta", "file", …; "data" for SX_DATA. */
const char *sx_kind_name(sx_kind k);

/*! sx_data_guard() : makes sure that the compact JSON text of a data record
 *  (an object, as sx_json_dump() or sx_json_compact() writes it) is never
 *  taken for a control record. Data comes from the backend or a dataset; a
 *  record of theirs whose first key is "sx" would otherwise be obeyed by
 *  every stage after it. Such an object is written again with its "sx" key
 *  moved last: the same object to any JSON reader, and data to sx.
 *  @text, @len the record (borrowed).
 *  @return 0 when the text is safe as it is; 1 when the safe text was
 *          written into `out` (emptied first); 2 when the object's only key
 *          is "sx" (it cannot travel as data); -1 out of memory or not an
 *          object. */
int sx_data_guard(const char *text, size_t len, sx_buf *out);

/*! sx_parse_object() :
 *  Parses one line that must hold one JSON object (strict JSON through
 *  sx_tape.h, anything else through libjq; the value is the one libjq
 *  gives). Not for two threads at once.
 *  @return the object, or an invalid jv whose message (jv_invalid_get_msg)
 *          says what is wrong ("not a JSON object (array)", jq's parse
 *          message, …). */
jv sx_parse_object(const char *line, size_t len);

/*! sx_parse_reason() :
 *  The reason libjq gives for refusing the `len` bytes at `text` (borrowed),
 *  from the invalid jv its parser returned (consumed), with libjq's quote
 *  of the whole text ("(while parsing '…')", however long the text) replaced
 *  by a bounded one that says when it is cut (sx_quote()).
 *  @return a jv string. */
jv sx_parse_reason(jv invalid, const char *text, size_t len);

/*! sx_rec() : a new control record {"sx": kind}; add fields with
 *  jv_object_set(), which keeps "sx" first. */
jv sx_rec(const char *kind);

/*! Builders for the common control records. `item` is consumed (jv_null()
 *  when the record concerns no item). */
jv sx_rec_end(uint64_t count);
jv sx_rec_error(jv item, const char *stage, const char *message);
jv sx_rec_progress(const char *category, uint64_t current, uint64_t total);

/*! sx_rec_warning() : part of an item was left out or ignored, and the item
 *  goes on (a warning never fails an item). `kind` "dropped" (annotations
 *  left out) or "ignored" (keys and tools sx does not export); `reason` a
 *  short stable phrase the summaries group by ("box outside the image");
 *  `count` how many; `message` the details (which annotations). */
jv sx_rec_warning(jv item, const char *stage, const char *kind, const char *reason, uint64_t count,
                  const char *message);
jv sx_rec_metrics(const char *category, uint64_t stand_by, uint64_t success, uint64_t failed);

/*! sx_rec_metrics_line() : the text of sx_rec_metrics() (no newline), for
 *  writers that send one per file without building a jv. @category an
 *  identifier such as "data_file", written as it is. @return its length
 *  (snprintf's: out holds at least 160 bytes to be sure of the whole). */
int sx_rec_metrics_line(char *out, size_t n, const char *category, uint64_t stand_by, uint64_t success,
                        uint64_t failed);

/*! sx_item_id() : the "id" of a data record, or jv_null(). @item borrowed. */
jv sx_item_id(jv item);

/*! sx_get_str() : a string field of an object, or NULL when absent or not a
 *  string. @obj borrowed; the pointer lives as long as obj. */
const char *sx_get_str(jv obj, const char *key);

/*! sx_get_num() : a number field, or `dflt` when absent or not a number.
 *  @obj borrowed. */
double sx_get_num(jv obj, const char *key, double dflt);

#endif
