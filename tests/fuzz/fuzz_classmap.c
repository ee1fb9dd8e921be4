/*
 * fuzz_classmap.c : class names to indices (lib/sx_classmap.h), from a
 * --classes file, a project configuration or the names seen.
 *
 * The first byte picks the source: 0 a --classes file, 1 the configuration
 * of a meta record (JSON, read by libjq), 2 none (an open map). The rest is
 * that source, then a line "--", then one class name a line as the items
 * would give them. Properties: every name gets the index of that name;
 * a fixed map gives no index to a name it does not hold; after sealing, an
 * open map's names are distinct and in byte order, every index maps to its
 * own name, and the count is the number of distinct names.
 */
#include "fuzz.h"
#include "sx_classmap.h"

#include <unistd.h>

#define MAX_NAMES 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (256u << 10))
        return 0;
    int mode = data[0] % 3;
    const uint8_t *rest = data + 1, *names;
    size_t n = size - 1, src = fuzz_split(rest, n, "--", &names);
    sx_classmap *cm = sx_classmap_new();
    if (!cm)
        abort();
    static const char *const tools[] = {"bounding_box", "polygon", NULL};
    if (mode == 0) {
        char path[64], err[600] = "";
        int fd = fuzz_memfd(rest, src, path, sizeof path);
        if (fd < 0)
            abort();
        if (sx_classmap_load_file(cm, path, err, sizeof err) < 0)
            FUZZ_ASSERT(*err && !sx_classmap_fixed(cm), "a refused file without a message, or fixed");
        else
            FUZZ_ASSERT(sx_classmap_fixed(cm) && sx_classmap_count(cm) > 0, "a file taken without names");
        close(fd);
    } else if (mode == 1) {
        jv meta = jv_parse_sized((const char *)rest, (int)src);
        int k = sx_classmap_load_meta(cm, meta, tools);
        FUZZ_ASSERT(k == sx_classmap_count(cm) && (k > 0) == sx_classmap_fixed(cm), "%d names taken", k);
        jv_free(meta);
    }
    int fixed = sx_classmap_fixed(cm), before = sx_classmap_count(cm);
    const char *line[MAX_NAMES];
    size_t len[MAX_NAMES];
    int idx[MAX_NAMES], count = 0;
    const uint8_t *p = names, *e = names ? data + size : NULL;
    while (p && p < e && count < MAX_NAMES) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(e - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(e - p);
        line[count] = (const char *)p;
        len[count] = l;
        idx[count] = sx_classmap_get(cm, (const char *)p, l);
        if (fixed)
            FUZZ_ASSERT(sx_classmap_count(cm) == before, "a fixed map grew");
        else
            FUZZ_ASSERT(idx[count] >= 0, "an open map gave no index");
        count++;
        p = nl ? nl + 1 : e;
    }
    FUZZ_ASSERT(sx_classmap_seal(cm) == 0, "seal failed");
    int total = sx_classmap_count(cm);
    for (int i = 0; i < count; i++) {
        if (idx[i] < 0)
            continue;
        int f = sx_classmap_final(cm, idx[i]);
        size_t nl;
        const char *nm = f >= 0 && f < total ? sx_classmap_name(cm, f, &nl) : NULL;
        FUZZ_ASSERT(nm && nl == len[i] && !memcmp(nm, line[i], nl), "name %d has the index of another", i);
    }
    for (int i = 1; !fixed && i < total; i++) {
        size_t la, lb;
        const char *a = sx_classmap_name(cm, i - 1, &la), *b = sx_classmap_name(cm, i, &lb);
        int c = memcmp(a, b, la < lb ? la : lb);
        FUZZ_ASSERT(c < 0 || (c == 0 && la < lb), "names %d and %d out of byte order or equal", i - 1, i);
    }
    sx_classmap_free(cm);
    return 0;
}
