/* Unit tests of the JSON writer (lib/sx_json.h): same values as libjq. */
#include "sx_json.h"
#include "unit.h"

#include <math.h>
#include <string.h>

static int dumps_as(jv v, const char *want)
{
    sx_buf b = {0};
    int ok = sx_json_dump(&b, v) == 0 && b.len == strlen(want) && memcmp(b.p, want, b.len) == 0;
    if (!ok)
        printf("#   got [%.*s] want [%s]\n", (int)b.len, b.p, want);
    sx_buf_free(&b);
    jv_free(v);
    return ok;
}

/* the text parses back to a value equal to the original */
static int round_trips(const char *text)
{
    jv v = jv_parse(text);
    sx_buf b = {0};
    sx_json_dump(&b, v);
    jv back = jv_parse_sized(b.p, (int)b.len);
    int ok = jv_equal(v, back);
    if (!ok)
        printf("#   %s -> %.*s\n", text, (int)b.len, b.p);
    sx_buf_free(&b);
    return ok;
}

static void test_scalars(void)
{
    CHECK(dumps_as(jv_null(), "null"));
    CHECK(dumps_as(jv_true(), "true"));
    CHECK(dumps_as(jv_number(42), "42"));
    CHECK(dumps_as(jv_number(-3), "-3"));
    CHECK(dumps_as(jv_number(0.1), "0.1"));
    CHECK(dumps_as(jv_number(30.5), "30.5"));
    CHECK(dumps_as(jv_number(1.0 / 3), "0.3333333333333333"));
    CHECK(dumps_as(jv_number(1.5e300), "1.5e+300"));
    CHECK(dumps_as(jv_number(NAN), "null"));
    CHECK(dumps_as(jv_number(INFINITY), "1.7976931348623157e+308"));
    CHECK(dumps_as(jv_number(9007199254740991.0), "9007199254740991"));
}

static void test_strings(void)
{
    CHECK(dumps_as(jv_string("a\"b\\c"), "\"a\\\"b\\\\c\""));
    CHECK(dumps_as(jv_string("l1\nl2\t\r\b\f"), "\"l1\\nl2\\t\\r\\b\\f\""));
    CHECK(dumps_as(jv_string("\x01\x1f\x7f"), "\"\\u0001\\u001f\\u007f\""));
    CHECK(dumps_as(jv_string("caf\xc3\xa9 \xe8\xbb\x8a"), "\"caf\xc3\xa9 \xe8\xbb\x8a\""));
    CHECK(dumps_as(jv_string("a/b"), "\"a/b\""));
}

static void test_containers_keep_order(void)
{
    CHECK(dumps_as(jv_parse("{\"sx\":\"end\",\"b\":[1,{\"z\":null,\"a\":[]}],\"a\":{}}"),
                   "{\"sx\":\"end\",\"b\":[1,{\"z\":null,\"a\":[]}],\"a\":{}}"));
    CHECK(round_trips("[0.1, 2.5e-7, -1e-300, 123456789.123, 1e22, 4.35, 100, -0.0]"));
    CHECK(round_trips("{\"k\\u0000x\": \"\\ud83d\\ude00\"}"));
}

int main(void)
{
    RUN(test_scalars);
    RUN(test_strings);
    RUN(test_containers_keep_order);
    return UNIT_DONE();
}
