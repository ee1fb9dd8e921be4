/*
 * fuzz_tape.c : the tape (lib/sx_tape.h), with libjq as the oracle, and
 * sx_parse_object() (lib/sx_proto.h), the path every record takes.
 *
 * Properties, for any bytes:
 *  - what the tape accepts, libjq accepts, with the same value (libjq's
 *    printer gives the same text for both);
 *  - what the tape refuses and libjq accepts (a repair: invalid UTF-8, a
 *    lone low surrogate, nan, ...) reaches a tape through
 *    sx_tape_parse_jv() with libjq's value;
 *  - every node's span lies in the text, every subtree in the tape, and
 *    sx_tape_get() finds what jv_object_get() finds (the last of repeated
 *    keys);
 *  - sx_parse_object() gives libjq's value when it is an object, and
 *    refuses everything else.
 */
#include "fuzz.h"
#include "sx_proto.h"
#include "sx_tape.h"

static sx_tape *tape;

static void check_nodes(const sx_tnode *n, const sx_tnode *end, size_t textlen)
{
    FUZZ_ASSERT(n->skip >= 1 && n + n->skip <= end, "subtree past the tape");
    FUZZ_ASSERT(n->start <= n->end && n->end <= textlen, "span %u..%u past the text", n->start, n->end);
    if (n->kind == SX_T_ARRAY || n->kind == SX_T_OBJECT) {
        const sx_tnode *c = n + 1, *stop = n + n->skip;
        uint32_t members = 0;
        while (c < stop) {
            if (n->kind == SX_T_OBJECT) {
                FUZZ_ASSERT(c->kind == SX_T_STRING && c->skip == 1, "an object key is not a string");
                c++;
                FUZZ_ASSERT(c < stop, "a key without a value");
            }
            check_nodes(c, stop, textlen);
            c += c->skip;
            members++;
        }
        FUZZ_ASSERT(c == stop && members == n->len, "%u members counted, %u recorded", members, n->len);
    } else {
        FUZZ_ASSERT(n->skip == 1, "a scalar with children");
    }
}

/* @ref borrowed */
static void check_same(const char *what, jv mine, jv ref)
{
    char *a = fuzz_jv_text(mine), *b = fuzz_jv_text(ref);
    FUZZ_ASSERT(!strcmp(a, b), "%s: tape %.200s, libjq %.200s", what, a, b);
    free(a);
    free(b);
}

/* sx_tape_get() against jv_object_get() for every key of the object. */
static void check_get(const sx_tnode *obj, jv ref)
{
    const sx_tnode *k = sx_tape_first(obj);
    for (uint32_t i = 0; i < obj->len; i++, k = sx_tape_after(k + 1)) {
        const sx_tnode *v = sx_tape_get(obj, k->u.str, k->len);
        FUZZ_ASSERT(v != NULL, "a key of the object is not found");
        jv want = jv_object_get(jv_copy(ref), jv_string_sized(k->u.str, (int)k->len));
        jv got = sx_tape_value(v);
        check_same("sx_tape_get", got, want);
        jv_free(got);
        jv_free(want);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    if (!tape && !(tape = sx_tape_new()))
        abort();
    const char *text = (const char *)data;
    jv ref = jv_parse_sized(text, (int)size);
    const sx_tnode *root = sx_tape_parse(tape, text, size);
    if (root) {
        FUZZ_ASSERT(jv_is_valid(ref), "the tape accepts what libjq refuses: %s", fuzz_show(text, size));
        check_nodes(root, root + root->skip, size);
        jv mine = sx_tape_value(root);
        check_same("value", mine, ref);
        jv_free(mine);
        if (root->kind == SX_T_OBJECT)
            check_get(root, ref);
    } else if (jv_is_valid(ref)) {
        root = sx_tape_parse_jv(tape, ref);
        FUZZ_ASSERT(root != NULL, "libjq's value does not fit a tape: %s", sx_tape_error(tape));
        check_nodes(root, root + root->skip, root->end); /* compact text: the root spans it all */
        jv mine = sx_tape_value(root);
        check_same("value through libjq", mine, ref);
        jv_free(mine);
    }
    jv obj = sx_parse_object(text, size);
    if (jv_get_kind(ref) == JV_KIND_OBJECT) {
        FUZZ_ASSERT(jv_is_valid(obj), "sx_parse_object refuses an object libjq reads");
        check_same("sx_parse_object", obj, ref);
    } else {
        FUZZ_ASSERT(!jv_is_valid(obj), "sx_parse_object accepts what is not an object");
        jv msg = jv_invalid_get_msg(jv_copy(obj));
        FUZZ_ASSERT(jv_get_kind(msg) == JV_KIND_STRING, "sx_parse_object refuses without a message");
        jv_free(msg);
    }
    jv_free(obj);
    jv_free(ref);
    return 0;
}
