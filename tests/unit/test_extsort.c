/* Unit tests of the external sort and the sorted table (lib/sx_extsort.h):
 * more records than the sorter holds, so that runs spill to disk and are
 * merged in more than one round; every record comes back once, in order. */
#include "sx_extsort.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* a record: key "k<number>" (varying length), sequence g, a payload */
static size_t make_rec(char *buf, uint32_t key, uint64_t g)
{
    char k[16];
    uint32_t kl = (uint32_t)snprintf(k, sizeof k, "k%u", key);
    memcpy(buf, &kl, 4);
    memcpy(buf + 4, k, kl);
    for (int i = 0; i < 8; i++)
        buf[4 + kl + i] = (char)(g >> (56 - 8 * i));
    memcpy(buf + 12 + kl, "payload", 7);
    return 12 + kl + 7;
}

static void test_sorts_beyond_memory(void)
{
    enum { N = 300000 };
    sx_extsort *s = sx_extsort_new(0); /* the smallest budget: 64 KiB, many runs */
    CHECK(s != NULL);
    uint64_t sum_in = 0, sum_out = 0;
    srand(7);
    char rec[64];
    for (uint64_t g = 0; g < N; g++) {
        uint32_t key = (uint32_t)(rand() % 5000);
        sum_in += key * 31 + g;
        CHECK(sx_extsort_add(s, rec, make_rec(rec, key, g)) == 0);
    }
    CHECK(sx_extsort_count(s) == N);
    CHECK(sx_extsort_done(s) == 0);
    const void *p, *prev = NULL;
    size_t n, pn = 0, count = 0;
    char last[64];
    int k, order_ok = 1;
    while ((k = sx_extsort_next(s, &p, &n)) == 1) {
        if (prev && sx_extsort_cmp(last, pn, p, n) >= 0)
            order_ok = 0;
        uint32_t kl;
        memcpy(&kl, p, 4);
        uint64_t g = 0;
        for (int i = 0; i < 8; i++)
            g = g << 8 | (unsigned char)((const char *)p)[4 + kl + i];
        sum_out += (uint64_t)strtoul((const char *)p + 5, NULL, 10) * 31 + g;
        CHECK(n == 12 + kl + 7 && !memcmp((const char *)p + 12 + kl, "payload", 7));
        memcpy(last, p, n);
        pn = n;
        prev = last;
        count++;
    }
    CHECK(k == 0);
    CHECK(order_ok);
    CHECK(count == N);
    CHECK(sum_in == sum_out);
    sx_extsort_free(s);
}

static void test_small_sort_in_memory(void)
{
    sx_extsort *s = sx_extsort_new(1 << 20);
    char rec[64];
    CHECK(sx_extsort_add(s, rec, make_rec(rec, 20, 1)) == 0);
    CHECK(sx_extsort_add(s, rec, make_rec(rec, 3, 2)) == 0);
    CHECK(sx_extsort_add(s, rec, make_rec(rec, 20, 0)) == 0);
    CHECK(sx_extsort_done(s) == 0);
    const void *p;
    size_t n;
    char want[64];
    CHECK(sx_extsort_next(s, &p, &n) == 1 && n == make_rec(want, 3, 2) && !memcmp(p, want, n));
    CHECK(sx_extsort_next(s, &p, &n) == 1 && n == make_rec(want, 20, 0) && !memcmp(p, want, n));
    CHECK(sx_extsort_next(s, &p, &n) == 1 && n == make_rec(want, 20, 1) && !memcmp(p, want, n));
    CHECK(sx_extsort_next(s, &p, &n) == 0);
    sx_extsort_free(s);
    s = sx_extsort_new(0);
    CHECK(sx_extsort_done(s) == 0 && sx_extsort_next(s, &p, &n) == 0);
    sx_extsort_free(s);
}

static void test_table_lookups(void)
{
    enum { N = 200000 };
    sx_kvtab *t = sx_kvtab_new();
    CHECK(t != NULL);
    char k[16];
    /* keys in (length, bytes) order: the even numbers, as text */
    for (uint64_t i = 0; i < N; i += 2)
        CHECK(sx_kvtab_put(t, k, (size_t)snprintf(k, sizeof k, "%llu", (unsigned long long)i), i * 3) == 0);
    CHECK(sx_kvtab_done(t) == 0);
    int bad = 0;
    for (uint64_t i = 0; i < N; i += 1) { /* in order */
        uint64_t v = 0;
        int r = sx_kvtab_get(t, k, (size_t)snprintf(k, sizeof k, "%llu", (unsigned long long)i), &v);
        bad += i % 2 ? r != 0 : (r != 1 || v != i * 3);
    }
    for (int j = 0; j < 20000; j++) { /* at random */
        uint64_t i = (uint64_t)rand() % N, v = 0;
        int r = sx_kvtab_get(t, k, (size_t)snprintf(k, sizeof k, "%llu", (unsigned long long)i), &v);
        bad += i % 2 ? r != 0 : (r != 1 || v != i * 3);
    }
    uint64_t v;
    bad += sx_kvtab_get(t, "", 0, &v) != 0;
    bad += sx_kvtab_get(t, "99999999", 8, &v) != 0;
    CHECK(bad == 0);
    sx_kvtab_free(t);
}

int main(void)
{
    RUN(test_sorts_beyond_memory);
    RUN(test_small_sort_in_memory);
    RUN(test_table_lookups);
    return UNIT_DONE();
}
