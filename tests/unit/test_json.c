/* Unit tests of the JSON writer (lib/sx_json.h): same values as libjq. */
#include "sx_json.h"
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The printf way numbers were always written: the shortest of 15, 16 and 17
 * significant digits that reads back equal. */
static void printf_number(double d, char *out, size_t n)
{
    snprintf(out, n, "%.15g", d);
    if (strtod(out, NULL) != d) {
        snprintf(out, n, "%.16g", d);
        if (strtod(out, NULL) != d)
            snprintf(out, n, "%.17g", d);
    }
}

/* Numbers with a few decimals take a path without printf: the same text. */
static void test_numbers_as_printf(void)
{
    srand(5);
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        double d;
        int kind = i % 4;
        if (kind == 0) /* pixel coordinates as annotation tools write them */
            d = (rand() % 400000) / 100.0;
        else if (kind == 1) /* normalised values */
            d = (rand() % 1000000) / 1e6;
        else if (kind == 2) /* any magnitude, any digits */
            d = (rand() / (double)RAND_MAX - 0.5) * pow(10, rand() % 40 - 20);
        else /* small ones, negative ones */
            d = -(rand() % 100000) / pow(10, rand() % 10);
        if (d == floor(d))
            continue;
        char want[64];
        printf_number(d, want, sizeof want);
        sx_buf b = {0};
        sx_json_number(&b, d);
        if (b.len != strlen(want) || memcmp(b.p, want, b.len) != 0) {
            if (bad++ < 5)
                printf("#   %.17g: got [%.*s] want [%s]\n", d, (int)b.len, b.p, want);
        }
        sx_buf_free(&b);
    }
    CHECK(bad == 0);
}

int main(void)
{
    RUN(test_scalars);
    RUN(test_strings);
    RUN(test_containers_keep_order);
    RUN(test_numbers_as_printf);
    return UNIT_DONE();
}
