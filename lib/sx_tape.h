/*
 * sx_tape.h : one JSON text read into a flat array of nodes, for the hot
 * paths that read many small records and look at a few fields of each (the
 * converters). libjq builds a jv per value: a malloc per string, a hash
 * table per object, a free of each at the end; that is most of a
 * converter's time. A tape is two buffers reused from record to record: the
 * nodes in document order and the unescaped strings, so reading a record
 * allocates nothing in the steady state.
 *
 * Layout: a value is one node followed by the nodes of its children; an
 * object's children alternate key (a string node) and value. `skip` counts
 * the nodes of a value's subtree, itself included, so the value after it is
 * `node + node->skip`. Every node keeps its byte span in the text. A part
 * of the record that must become a jv (for jq, or libjq's printer) is built
 * from its nodes with sx_tape_value().
 *
 * The grammar is strict RFC 8259 (what sx's own writers produce). Anything
 * else fails with a short reason: the caller then asks libjq, which either
 * rejects the text with its message or accepts it (invalid UTF-8 it
 * repairs, lone \u surrogates, `nan`, …); sx_tape_parse_jv() reads the
 * value libjq made, so that both paths meet on the same tape. Numbers are
 * correctly rounded (an exact fast path, else strtod), as libjq's are.
 *
 * Ownership: the tape owns its nodes and strings; the text passed to
 * sx_tape_parse() is borrowed and must outlive the nodes' spans (copied
 * only by sx_tape_parse_jv()). Node pointers are valid until the next
 * parse.
 */
#ifndef SX_TAPE_H
#define SX_TAPE_H

#include <stddef.h>
#include <stdint.h>
#include <jv.h>

typedef enum { SX_T_NULL = 0, SX_T_FALSE, SX_T_TRUE, SX_T_NUMBER, SX_T_STRING, SX_T_ARRAY, SX_T_OBJECT } sx_tkind;

typedef struct {
    uint8_t kind;       /* sx_tkind */
    uint32_t len;       /* string: bytes; array: elements; object: members */
    uint32_t skip;      /* nodes in this subtree, itself included */
    uint32_t start, end; /* byte span of the value in the text */
    union {
        double num;      /* SX_T_NUMBER */
        const char *str; /* SX_T_STRING: unescaped UTF-8, NUL-terminated
                            (may hold a NUL of its own: use len) */
    } u;
} sx_tnode;

typedef struct sx_tape sx_tape;

/*! sx_tape_new() : an empty tape. @return it, or NULL when out of memory. */
sx_tape *sx_tape_new(void);

/*! sx_tape_free() : NULL is accepted. */
void sx_tape_free(sx_tape *t);

/*! sx_tape_parse() : reads one JSON text (surrounding whitespace allowed).
 *  @text borrowed (see above). @return the root node, or NULL when the
 *  text is not strict JSON, with the reason in sx_tape_error(). */
const sx_tnode *sx_tape_parse(sx_tape *t, const char *text, size_t len);

/*! sx_tape_parse_jv() : the tape of a value libjq made (the fallback
 *  path): its compact text is kept by the tape. @v borrowed.
 *  @return the root node, or NULL when out of memory. */
const sx_tnode *sx_tape_parse_jv(sx_tape *t, jv v);

/*! sx_tape_error() : why the last parse failed. */
const char *sx_tape_error(const sx_tape *t);

/*! sx_tape_text() : the text the nodes' spans refer to. */
const char *sx_tape_text(const sx_tape *t);

/*! sx_tape_get() : the value of member `key` of `obj` (the last one when
 *  the key repeats, as in libjq), or NULL when `obj` is NULL, not an
 *  object or has no such member. */
const sx_tnode *sx_tape_get(const sx_tnode *obj, const char *key, size_t keylen);

/*! sx_tget() : sx_tape_get() with a key that is a string literal (its
 *  length known at compile time; anything else does not compile). */
#define sx_tget(obj, literal) sx_tape_get((obj), "" literal, sizeof(literal) - 1)

/*! sx_tape_first() : the first element of an array, or the first key of an
 *  object; NULL when empty. Members: the value of key k is k + 1, the next
 *  key is sx_tape_after(k + 1). */
static inline const sx_tnode *sx_tape_first(const sx_tnode *n) { return n->len ? n + 1 : NULL; }

/*! sx_tape_after() : the node after `n`'s subtree (its next sibling, when
 *  it has one). */
static inline const sx_tnode *sx_tape_after(const sx_tnode *n) { return n + n->skip; }

/*! sx_tape_is() : 1 when n is not NULL and of kind k. */
static inline int sx_tape_is(const sx_tnode *n, sx_tkind k) { return n && n->kind == k; }

/*! sx_tape_kind_name() : "null", "boolean", "number", "string", "array",
 *  "object" (libjq's names). */
const char *sx_tape_kind_name(const sx_tnode *n);

/*! sx_tape_value() : a new jv of the value `n`, built from the nodes (the
 *  value libjq's parse of the same text gives). @return it; the caller owns
 *  it. */
jv sx_tape_value(const sx_tnode *n);

#endif
