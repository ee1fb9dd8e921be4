/* Unit tests of how messages quote and cut input (lib/sx_errbuf.h) and
 * show it on a terminal (lib/sx_utf8.h). */
#include "sx_errbuf.h"
#include "sx_utf8.h"

#include <string.h>
#include "unit.h"

/* 1 when s is whole UTF-8 (no sequence cut). */
static int utf8_whole(const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + strlen(s);
    while (p < e) {
        size_t k = *p < 0x80 ? 1 : sx_utf8_seq(p, e);
        if (!k)
            return 0;
        p += k;
    }
    return 1;
}

static void test_quote_short_is_whole(void)
{
    char out[64];
    CHECK(!strcmp(sx_quote("{\"a\":1}", 7, 120, out, sizeof out), "'{\"a\":1}'"));
}

static void test_quote_cut_says_so(void)
{
    char in[300], out[200];
    memset(in, 'y', sizeof in);
    memcpy(in, "{\"k\": \"", 7);
    sx_quote(in, sizeof in, 20, out, sizeof out);
    CHECK(!strcmp(out, "'{\"k\": \"yyyyyyyyyyyyy'\xE2\x80\xA6 (cut: the first 20 of 300 bytes)"));
}

static void test_quote_cuts_between_characters(void)
{
    char in[301] = {0}, out[400];
    for (int i = 0; i < 150; i++)
        memcpy(in + 2 * i, "\xC3\xA9", 2); /* é */
    for (size_t max = 1; max < 40; max++) {
        sx_quote(in, 300, max, out, sizeof out);
        CHECK(utf8_whole(out));
        CHECK(strstr(out, "(cut: the first ") != NULL);
    }
    /* a small buffer: the quote shrinks, the note stays, nothing overflows */
    for (size_t n = 1; n < 70; n++) {
        char small[70];
        memset(small, 'X', sizeof small);
        sx_quote(in, 300, 120, small, n);
        CHECK(strlen(small) < n);
        CHECK(utf8_whole(small));
    }
}

static void test_errf_cut_marks_the_cut(void)
{
    char buf[16];
    sx_errf(buf, sizeof buf, "%s", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
    CHECK(utf8_whole(buf));
    CHECK(strlen(buf) >= 3 && !strcmp(buf + strlen(buf) - 3, "..."));
    sx_errf(buf, sizeof buf, "%s", "short");
    CHECK(!strcmp(buf, "short"));
}

static void test_neutralise_fffd_and_bad_bytes(void)
{
    char s[] = "a\xEF\xBF\xBD" "b\xFF" "c\x1b[31m\xC2\x9B" "d";
    size_t n = sx_utf8_neutralise(s, strlen(s), 0);
    CHECK(n == strlen("a?b?c?[31m??d"));
    CHECK(!strcmp(s, "a?b?c?[31m??d"));
}

int main(void)
{
    RUN(test_quote_short_is_whole);
    RUN(test_quote_cut_says_so);
    RUN(test_quote_cuts_between_characters);
    RUN(test_errf_cut_marks_the_cut);
    RUN(test_neutralise_fffd_and_bad_bytes);
    return UNIT_DONE();
}
