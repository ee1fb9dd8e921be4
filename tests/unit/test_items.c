/* Unit tests of sx-save's item and path tables (lib/sx_items.h). */
#include "sx_items.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

struct seen {
    char paths[8][64];
    int cats[8];
    int n;
};

static void collect(void *ctx, const char *path, int cat)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->paths[s->n], sizeof s->paths[0], "%s", path);
        s->cats[s->n] = cat;
    }
    s->n++;
}

static void test_items(void)
{
    sx_items *t = sx_items_new();
    CHECK(sx_items_touch(t, "1", 1) == 0);
    CHECK(sx_items_add_file(t, "1", 1, "labels/a.txt", 0) == 0);
    CHECK(sx_items_add_file(t, "\"x\"", 3, "images/x.jpg", 1) == 0); /* made known by its file */
    CHECK(sx_items_add_file(t, "1", 1, "images/a.jpg", 1) == 0);
    CHECK(!sx_items_failed(t, "1", 1) && !sx_items_failed(t, "2", 1));
    uint64_t ok, up, bad;
    sx_items_count(t, &ok, &up, &bad);
    CHECK(ok == 2 && up == 0 && bad == 0);
    struct seen s = {0};
    CHECK(sx_items_fail(t, "1", 1, 0, collect, &s) == 0);
    /* its files, oldest first, and only its own */
    CHECK(s.n == 2 && strcmp(s.paths[0], "labels/a.txt") == 0 && s.cats[0] == 0 &&
          strcmp(s.paths[1], "images/a.jpg") == 0 && s.cats[1] == 1);
    CHECK(sx_items_failed(t, "1", 1));
    /* failing again finds nothing left to remove */
    struct seen again = {0};
    CHECK(sx_items_fail(t, "1", 1, 0, collect, &again) == 0 && again.n == 0);
    /* an item never seen fails as a known item without files; failed
     * upstream (an error record) is counted apart from failed here */
    struct seen none = {0};
    CHECK(sx_items_fail(t, "9", 1, 1, collect, &none) == 0 && none.n == 0 && sx_items_failed(t, "9", 1));
    sx_items_count(t, &ok, &up, &bad);
    CHECK(ok == 1 && up == 1 && bad == 1);
    /* an item failed here and later upstream too counts once, upstream */
    CHECK(sx_items_fail(t, "1", 1, 1, collect, &again) == 0);
    sx_items_count(t, &ok, &up, &bad);
    CHECK(ok == 1 && up == 2 && bad == 0);
    sx_items_free(t);
}

/* many items and files: the tables and the arena grow, nothing is lost */
static void test_growth(void)
{
    sx_items *t = sx_items_new();
    char key[32], path[64];
    int errors = 0;
    for (int i = 0; i < 50000; i++) {
        int kl = snprintf(key, sizeof key, "%d", i);
        snprintf(path, sizeof path, "labels/train/img_%07d.txt", i);
        errors += sx_items_add_file(t, key, (size_t)kl, path, 0) < 0;
        errors += sx_paths_add(t, path) < 0;
    }
    CHECK(errors == 0);
    uint64_t ok, up, bad;
    sx_items_count(t, &ok, &up, &bad);
    CHECK(ok == 50000 && up == 0 && bad == 0);
    struct seen s = {0};
    CHECK(sx_items_fail(t, "31337", 5, 0, collect, &s) == 0 && s.n == 1 &&
          strcmp(s.paths[0], "labels/train/img_0031337.txt") == 0);
    CHECK(sx_paths_has(t, "labels/train/img_0049999.txt") && sx_paths_has(t, "labels/train/img_0000000.txt"));
    CHECK(!sx_paths_has(t, "labels/train/img_0050000.txt") && !sx_paths_has(t, ""));
    sx_items_free(t);
}

static void test_paths_empty(void)
{
    sx_items *t = sx_items_new();
    CHECK(!sx_paths_has(t, "a"));
    CHECK(sx_paths_add(t, "a") == 0 && sx_paths_add(t, "a") == 0 && sx_paths_has(t, "a"));
    CHECK(!sx_paths_has(t, "A"));
    sx_items_free(t);
}

/* a window forgets the least recently used items, counted as they stood,
 * never one pinned (a file of it on its way) */
static void test_window(void)
{
    sx_items *t = sx_items_new_window(4);
    char key[16];
    CHECK(sx_items_pin(t, "0", 1) == 0);
    CHECK(sx_items_add_file(t, "0", 1, "a/0", 0) == 0);
    CHECK(sx_items_fail(t, "1", 1, 1, collect, &(struct seen){0}) == 0);
    for (int i = 2; i < 100; i++) {
        int kl = snprintf(key, sizeof key, "%d", i);
        CHECK(sx_items_touch(t, key, (size_t)kl) == 0);
        CHECK(sx_items_live(t) <= 5);
    }
    uint64_t ok, up, bad;
    sx_items_count(t, &ok, &up, &bad);
    CHECK(ok == 99 && up == 1 && bad == 0);
    /* the pinned item is still there with its file; item 1 was forgotten */
    struct seen s = {0};
    CHECK(!sx_items_failed(t, "1", 1));
    CHECK(sx_items_fail(t, "0", 1, 0, collect, &s) == 0 && s.n == 1 && !strcmp(s.paths[0], "a/0"));
    sx_items_count(t, &ok, &up, &bad);
    CHECK(ok == 98 && up == 1 && bad == 1);
    sx_items_unpin(t, "0", 1);
    for (int i = 100; i < 110; i++) {
        int kl = snprintf(key, sizeof key, "%d", i);
        CHECK(sx_items_touch(t, key, (size_t)kl) == 0);
    }
    CHECK(sx_items_live(t) == 4);
    sx_items_count(t, &ok, &up, &bad);
    CHECK(ok == 108 && up == 1 && bad == 1);
    sx_items_free(t);
}

int main(void)
{
    RUN(test_items);
    RUN(test_growth);
    RUN(test_paths_empty);
    RUN(test_window);
    return UNIT_DONE();
}
