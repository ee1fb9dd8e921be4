/* test_conv.c : the converters' library pieces: number and text formatting,
 * class maps, splits, image headers, spools. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sx_classmap.h"
#include "sx_convert.h"
#include "sx_fmt.h"
#include "sx_imgsize.h"
#include "sx_spool.h"
#include "unit.h"

static int fmt_is(void (*f)(sx_strbuf *, double), double v, const char *want)
{
    sx_strbuf b = SX_SB_INIT;
    f(&b, v);
    int ok = b.p && strcmp(b.p, want) == 0;
    if (!ok)
        printf("#   %.17g -> [%s], want [%s]\n", v, b.p ? b.p : "", want);
    sx_sb_free(&b);
    return ok;
}

static void test_num(void)
{
    CHECK(fmt_is(sx_sb_num, 10, "10"));
    CHECK(fmt_is(sx_sb_num, 10.5, "10.5"));
    CHECK(fmt_is(sx_sb_num, 1.0 / 3, "0.333333"));
    CHECK(fmt_is(sx_sb_num, -0.0000001, "0"));
    CHECK(fmt_is(sx_sb_num, 1e-7, "0"));
    CHECK(fmt_is(sx_sb_num, 123456789.25, "123456789.25"));
    CHECK(fmt_is(sx_sb_num, 1e12, "1000000000000"));
    CHECK(fmt_is(sx_sb_num, -2.5, "-2.5"));
}

static void test_fixed6_matches_printf(void)
{
    CHECK(fmt_is(sx_sb_fixed6, 0.0390625, "0.039062"));
    CHECK(fmt_is(sx_sb_fixed6, -0.0000001, "0.000000"));
    CHECK(fmt_is(sx_sb_fixed6, 1, "1.000000"));
    srand(42);
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        double v = (double)rand() / RAND_MAX * (i % 2 ? 1.0 : 5000.0);
        if (i % 7 == 0)
            v = (double)(rand() % 100000) / 1e6 + 0.0000005; /* near ties */
        char want[64];
        snprintf(want, sizeof want, "%.6f", v);
        sx_strbuf b = SX_SB_INIT;
        sx_sb_fixed6(&b, v);
        if (strcmp(b.p, want) != 0 && bad++ < 3)
            printf("#   %.17g -> %s, printf %s\n", v, b.p, want);
        sx_sb_free(&b);
    }
    CHECK(bad == 0);
}

static void test_escapes(void)
{
    sx_strbuf b = SX_SB_INIT;
    sx_sb_json_cstr(&b, "a\"b\\c\nd\x01\xc3\xa9");
    CHECK(strcmp(b.p, "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\"") == 0);
    sx_sb_reset(&b);
    sx_sb_xml(&b, "<&>\"'\x02x", 7);
    CHECK(strcmp(b.p, "&lt;&amp;&gt;&quot;&apos;\xEF\xBF\xBDx") == 0);
    sx_sb_reset(&b);
    sx_sb_csv(&b, "a,\"b\"", 5);
    CHECK(strcmp(b.p, "\"a,\"\"b\"\"\"") == 0);
    sx_sb_reset(&b);
    sx_sb_csv(&b, "plain", 5);
    CHECK(strcmp(b.p, "plain") == 0);
    sx_sb_reset(&b);
    sx_sb_csv(&b, "two\nlines", 9);
    CHECK(strcmp(b.p, "\"two\nlines\"") == 0);
    sx_sb_free(&b);
}

static void test_classmap_sorted(void)
{
    sx_classmap *cm = sx_classmap_new();
    CHECK(sx_classmap_get(cm, "zebra", 5) == 0);
    CHECK(sx_classmap_get(cm, "ant", 3) == 1);
    CHECK(sx_classmap_get(cm, "zebra", 5) == 0);
    CHECK(!sx_classmap_fixed(cm));
    CHECK(sx_classmap_seal(cm) == 0);
    CHECK(sx_classmap_final(cm, 0) == 1 && sx_classmap_final(cm, 1) == 0);
    CHECK(strcmp(sx_classmap_name(cm, 0, NULL), "ant") == 0);
    sx_classmap_free(cm);
}

static void test_classmap_config(void)
{
    sx_classmap *cm = sx_classmap_new();
    jv conf = jv_parse("{\"classification\":{\"bounding_box\":[\"b\",{\"code\":\"a\",\"name\":\"A\"}],"
                       "\"polygon\":[{\"name\":\"c\"},\"b\"],\"keypoint\":[\"k\"]}}");
    const char *tools[] = {"bounding_box", "polygon", NULL};
    CHECK(sx_classmap_load_config(cm, conf, tools) == 3);
    CHECK(sx_classmap_fixed(cm));
    CHECK(sx_classmap_get(cm, "a", 1) == 1 && sx_classmap_get(cm, "c", 1) == 2);
    CHECK(sx_classmap_get(cm, "k", 1) == -1);
    sx_classmap_seal(cm);
    CHECK(strcmp(sx_classmap_name(cm, 0, NULL), "b") == 0);
    jv_free(conf);
    sx_classmap_free(cm);
}

static void test_classmap_file(void)
{
    char path[] = "/tmp/sx-test-classes.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("dog\r\n\ncat\n", f);
    fclose(f);
    char err[256];
    sx_classmap *cm = sx_classmap_new();
    CHECK(sx_classmap_load_file(cm, path, err, sizeof err) == 0);
    CHECK(sx_classmap_count(cm) == 2 && sx_classmap_get(cm, "cat", 3) == 1);
    sx_classmap_free(cm);
    f = fopen(path, "w");
    fputs("dog\ndog\n", f);
    fclose(f);
    cm = sx_classmap_new();
    CHECK(sx_classmap_load_file(cm, path, err, sizeof err) == -1 && strstr(err, "twice"));
    sx_classmap_free(cm);
    unlink(path);
}

static void test_split(void)
{
    char err[256];
    sx_split *sp = sx_split_parse("train=0.8,val=0.2", 1, err, sizeof err);
    CHECK(sp != NULL);
    int train = 0;
    for (int i = 0; i < 10000; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "%d", i);
        const char *s = sx_split_pick(sp, k, (size_t)n);
        CHECK(s == sx_split_pick(sp, k, (size_t)n));
        train += strcmp(s, "train") == 0;
    }
    CHECK(train > 7700 && train < 8300);
    sx_split_free(sp);
    CHECK(!sx_split_parse("train=0.8,../x=0.2", 1, err, sizeof err));
    CHECK(!sx_split_parse("train=-1", 1, err, sizeof err));
    CHECK(!sx_split_parse("train=1,train=2", 1, err, sizeof err));
    CHECK(sx_split_name_ok("valid") && !sx_split_name_ok("..") && !sx_split_name_ok("a/b"));
}

static void test_imgsize(void)
{
    unsigned char png[24] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                             0, 0, 1, 0x2c, 0, 0, 0, 0xc8};
    unsigned w = 0, h = 0;
    CHECK(sx_imgsize_mem(png, sizeof png, &w, &h) == 0 && w == 300 && h == 200);
    /* JPEG: SOI, APP0 (length 16), SOF0 with height 480, width 640 */
    unsigned char jpg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
                           0xff, 0xc0, 0, 17, 8, 0x01, 0xe0, 0x02, 0x80, 3};
    CHECK(sx_imgsize_mem(jpg, sizeof jpg, &w, &h) == 0 && w == 640 && h == 480);
    CHECK(sx_imgsize_mem((const unsigned char *)"GIF89a", 6, &w, &h) == -1);
    CHECK(sx_imgsize_file("/nonexistent/x.png", &w, &h) == -1);
}

static void test_spool(void)
{
    sx_spool *s = sx_spool_new();
    CHECK(s != NULL);
    for (int i = 0; i < 100000; i++) {
        char l[32];
        int n = snprintf(l, sizeof l, "line %d\n", i);
        sx_spool_write(s, l, (size_t)n);
    }
    sx_spool_write(s, "tail", 4);
    CHECK(sx_spool_finish(s) == 0);
    const char *line;
    size_t len;
    int n = 0, ok = 1;
    while (sx_spool_line(s, &line, &len) == 1) {
        char want[32];
        int k = n < 100000 ? snprintf(want, sizeof want, "line %d", n) : snprintf(want, sizeof want, "tail");
        ok &= (size_t)k == len && memcmp(line, want, len) == 0;
        n++;
    }
    CHECK(ok && n == 100001);
    sx_spool_free(s);
    s = sx_spool_new_named();
    CHECK(s && sx_spool_path(s));
    char *p = strdup(sx_spool_path(s));
    CHECK(access(p, F_OK) == 0);
    sx_spool_free(s);
    CHECK(access(p, F_OK) != 0);
    free(p);
}

int main(void)
{
    RUN(test_num);
    RUN(test_fixed6_matches_printf);
    RUN(test_escapes);
    RUN(test_classmap_sorted);
    RUN(test_classmap_config);
    RUN(test_classmap_file);
    RUN(test_split);
    RUN(test_imgsize);
    RUN(test_spool);
    return UNIT_DONE();
}
