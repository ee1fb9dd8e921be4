/*
 * sx_jqprog.h : a compiled jq program run on one value at a time through
 * libjq, with its compile errors collected instead of printed.
 */
#ifndef SX_JQPROG_H
#define SX_JQPROG_H

#include <jv.h>

typedef struct sx_jqprog sx_jqprog;
struct jq_state;

/*! sx_jq_library_path() : where `import` and `include` of programs compiled
 *  by `jq` look for modules (libjq aborts on an import when none is set).
 *  @paths an array of directories (consumed; "~/" and "$ORIGIN/" as jq reads
 *  them), or jv_null() for none: an import is then a compile error. */
void sx_jq_library_path(struct jq_state *jq, jv paths);

/*! sx_jq_default_library_path() : jq's own default, ["~/.jq",
 *  "$ORIGIN/../lib/jq", "$ORIGIN/../lib"], after the directories `dirs`
 *  (consumed, an array: sx-jq's -L). */
jv sx_jq_default_library_path(jv dirs);

/*! sx_jqprog_new() :
 *  Compiles `text` with named arguments `args` (an object {name: value},
 *  consumed; each becomes $name). `origin` names the program in messages
 *  (a file name, or "program"). `libpath` (consumed) is given to
 *  sx_jq_library_path().
 *  @return the program, or NULL with *err set to a message the caller owns
 *          (free()) saying why it did not compile. */
sx_jqprog *sx_jqprog_new(const char *text, jv args, jv libpath, const char *origin, char **err);

/*! sx_jqprog_start() : runs the program on `input` (consumed); results come
 *  from sx_jqprog_next(). */
void sx_jqprog_start(sx_jqprog *p, jv input);

/*! sx_jqprog_next() :
 *  @return 1 with *out set to the next result (owned by the caller),
 *          0 when the results of this input are exhausted,
 *         -1 on a runtime error, with *out set to its message (a jv string,
 *          owned by the caller). */
int sx_jqprog_next(sx_jqprog *p, jv *out);

/*! sx_jqprog_free() : NULL is accepted. */
void sx_jqprog_free(sx_jqprog *p);

#endif
