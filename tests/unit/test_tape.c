/* Unit tests of the tape reader (lib/sx_tape.h): the values libjq reads,
 * strict JSON only, and the fallback through libjq meeting on one tape. */
#include "sx_tape.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the tape reads `text` as libjq does */
static int same_as_libjq(const char *text)
{
    sx_tape *t = sx_tape_new();
    const sx_tnode *root = sx_tape_parse(t, text, strlen(text));
    int ok = 0;
    if (!root) {
        printf("#   tape refused %s: %s\n", text, sx_tape_error(t));
    } else {
        jv want = jv_parse(text), got = sx_tape_value(root);
        ok = jv_equal(want, got);
        if (!ok)
            printf("#   tape differs from libjq on %s\n", text);
        else
            ok = root->end - root->start <= strlen(text);
    }
    sx_tape_free(t);
    return ok;
}

static int refused(const char *text)
{
    sx_tape *t = sx_tape_new();
    int ok = sx_tape_parse(t, text, strlen(text)) == NULL && *sx_tape_error(t);
    if (!ok)
        printf("#   tape accepted %s\n", text);
    sx_tape_free(t);
    return ok;
}

static void test_values(void)
{
    CHECK(same_as_libjq("null"));
    CHECK(same_as_libjq(" true "));
    CHECK(same_as_libjq("false"));
    CHECK(same_as_libjq("{}"));
    CHECK(same_as_libjq("[]"));
    CHECK(same_as_libjq("{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}"));
    CHECK(same_as_libjq("\r\n\t[ 1 , [ ] , { } , \"x\" ]\n"));
    CHECK(same_as_libjq("\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\""));
    CHECK(same_as_libjq("\"é 中 😀\""));
    CHECK(same_as_libjq("{\"k\":1,\"k\":2}"));
}

static void test_numbers(void)
{
    const char *nums[] = {"0", "-0", "1", "-1", "1508.30", "0.1", "0.000123", "123456789012345",
                          "1234567890123456789", "12345678901234567890123", "9007199254740993",
                          "1e22", "1e23", "1.5e-7", "2.2250738585072014e-308", "4.9e-324", "1e400",
                          "-1e400", "1E+2", "0.30000000000000004", "3.14159265358979323846",
                          "1.7976931348623157e308", "100e-2", "0.0000000000000000000000001"};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
        CHECK(same_as_libjq(nums[i]));
    /* printed forms of many doubles read back exactly as libjq reads them */
    srand(7);
    char buf[64];
    sx_tape *t = sx_tape_new();
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        double d = (rand() / (double)RAND_MAX - 0.5) * pow(10, rand() % 30 - 10);
        const char *fmt = i % 3 == 0 ? "%.17g" : i % 3 == 1 ? "%.2f" : "%g";
        snprintf(buf, sizeof buf, fmt, d);
        const sx_tnode *n = sx_tape_parse(t, buf, strlen(buf));
        jv v = jv_parse(buf);
        if (!n || n->u.num != jv_number_value(v))
            bad++;
        jv_free(v);
    }
    sx_tape_free(t);
    CHECK(bad == 0);
}

static void test_strict(void)
{
    CHECK(refused(""));
    CHECK(refused("   "));
    CHECK(refused("01"));
    CHECK(refused("1."));
    CHECK(refused(".5"));
    CHECK(refused("+1"));
    CHECK(refused("nan"));
    CHECK(refused("[1,]"));
    CHECK(refused("{\"a\":1,}"));
    CHECK(refused("{\"a\" 1}"));
    CHECK(refused("{1:2}"));
    CHECK(refused("[1 2]"));
    CHECK(refused("1 2"));
    CHECK(refused("\"tab\there\""));
    CHECK(refused("\"\\x\""));
    CHECK(refused("\"\\ud800\""));
    CHECK(refused("\"\\udc00x\""));
    CHECK(refused("\"\xff\""));
    CHECK(refused("\"\xc0\xaf\""));
    CHECK(refused("\"\xed\xa0\x80\""));
    CHECK(refused("\"abc"));
    CHECK(refused("[[[[["));
    CHECK(refused("tru"));
    char deep[600];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    CHECK(refused((deep[599] = 0, deep)));
}

/* what libjq accepts and the tape does not meets it through the dump */
static void test_fallback(void)
{
    const char *text = "{\"name\":\"bad \xff byte\",\"v\":nan}";
    jv v = jv_parse(text);
    CHECK(jv_is_valid(v));
    sx_tape *t = sx_tape_new();
    CHECK(sx_tape_parse(t, text, strlen(text)) == NULL);
    const sx_tnode *root = sx_tape_parse_jv(t, v);
    CHECK(root && root->kind == SX_T_OBJECT);
    if (root) {
        jv back = sx_tape_value(root);
        jv name = jv_object_get(jv_copy(back), jv_string("name"));
        CHECK(strcmp(jv_string_value(name), "bad \xef\xbf\xbd byte") == 0);
        CHECK(sx_tape_is(sx_tget(root, "v"), SX_T_NULL));
        jv_free(name);
        jv_free(back);
    }
    jv_free(v);
    sx_tape_free(t);
}

static void test_access(void)
{
    sx_tape *t = sx_tape_new();
    const char *text = "{\"id\":7,\"files\":{\"url\":\"u\",\"w\":[1,[2,3],{\"x\":4}]},\"id\":8,\"s\":\"a\\u0000b\"}";
    const sx_tnode *r = sx_tape_parse(t, text, strlen(text));
    CHECK(r && r->len == 4 && r->skip == 20);
    if (r) {
        CHECK(sx_tget(r, "id")->u.num == 8); /* the last of a repeated key */
        const sx_tnode *w = sx_tget(sx_tget(r, "files"), "w");
        CHECK(sx_tape_is(w, SX_T_ARRAY) && w->len == 3);
        const sx_tnode *e = sx_tape_first(w);
        e = sx_tape_after(e);
        CHECK(e->kind == SX_T_ARRAY && e->len == 2);
        e = sx_tape_after(e);
        CHECK(e->kind == SX_T_OBJECT && sx_tget(e, "x")->u.num == 4);
        CHECK(sx_tget(r, "missing") == NULL);
        CHECK(sx_tget(w, "x") == NULL);
        const sx_tnode *s = sx_tget(r, "s");
        CHECK(s->len == 3 && memcmp(s->u.str, "a\0b", 3) == 0);
        jv part = sx_tape_value(w);
        CHECK(jv_equal(part, jv_parse("[1,[2,3],{\"x\":4}]")));
        CHECK(strcmp(sx_tape_kind_name(sx_tget(r, "files")), "object") == 0);
    }
    sx_tape_free(t);
}

/* 1 when a string follows a value with no ',' or ':' between ({"a" "b"},
 * [1"x"], {}"k"): libjq 1.6 leaks that string when it refuses the text,
 * which AddressSanitizer would report against this test. */
static int string_after_value(const char *p, size_t n)
{
    int in = 0, after_value = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (in) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in = 0, after_value = 1;
        } else if (c == '"') {
            if (after_value)
                return 1;
            in = 1;
        } else if (c == ',' || c == ':' || c == '[' || c == '{') {
            after_value = 0;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            after_value = 1; /* a number, a word, a closing bracket, a stray byte */
        }
    }
    return 0;
}

/* Mutated records, each read by the tape and by libjq: what the tape
 * accepts, libjq accepts with the same value; what only libjq accepts, the
 * tape reads through sx_tape_parse_jv(). */
static void test_differential(void)
{
    static const char *const seeds[] = {
        "{\"id\":1,\"files\":{\"url\":\"http://h/a b.jpg\",\"width\":640},\"data\":{\"a\":[1.5,-2e3,true,null]}}",
        "[\"caf\\u00e9\",\"\\ud83d\\ude00\",\"tab\\t\",{\"\":0.000123}]",
        "{\"k\":\"Ã©ä¸­\",\"n\":12345678901234567890,\"e\":1E+2}",
    };
    static const char alphabet[] = "{}[]\":,\\/ \t\nu0123456789.eE+-truefalsn\x80\xc3\xa9\xff\xed\xa0";
    srand(11);
    sx_tape *t = sx_tape_new();
    int wrong = 0, accepted = 0, fallback = 0;
    char buf[512];
    for (int i = 0; i < 60000; i++) {
        const char *seed = seeds[i % 3];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        for (int k = 0, edits = 1 + rand() % 3; k < edits; k++) {
            size_t at = (size_t)rand() % (n + 1);
            char c = alphabet[rand() % (int)(sizeof alphabet - 1)];
            int op = rand() % 3;
            if (op == 0 && at < n) { /* replace */
                buf[at] = c;
            } else if (op == 1 && n + 1 < sizeof buf) { /* insert */
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = c;
                n++;
            } else if (at < n) { /* delete */
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
            }
        }
        const sx_tnode *root = sx_tape_parse(t, buf, n);
        if (!root && string_after_value(buf, n))
            continue;
        jv want = jv_parse_sized(buf, (int)n);
        if (root) {
            accepted++;
            jv got = sx_tape_value(root);
            if (!jv_equal(jv_copy(want), got)) {
                if (wrong++ < 3)
                    printf("#   tape read %.*s differently from libjq\n", (int)n, buf);
            }
        } else if (jv_is_valid(want)) {
            fallback++;
            if (!sx_tape_parse_jv(t, want) && wrong++ < 3)
                printf("#   libjq's value of %.*s did not go onto the tape\n", (int)n, buf);
        }
        jv_free(want);
    }
    sx_tape_free(t);
    printf("#   %d accepted by the tape, %d only by libjq\n", accepted, fallback);
    CHECK(wrong == 0);
    CHECK(accepted > 1000); /* the mutations leave many valid texts */
}

int main(void)
{
    RUN(test_values);
    RUN(test_numbers);
    RUN(test_strict);
    RUN(test_fallback);
    RUN(test_access);
    RUN(test_differential);
    return UNIT_DONE();
}
