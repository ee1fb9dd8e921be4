/*
 * fuzz_target.c : the target mappings (lib/sx_target.h): the fast path that
 * picks fields from a record's text against the jq program it stands for.
 *
 * The input is a backend record: only what the page validator passes and is
 * an object is mapped (sx-fetch hands out nothing else). Property: for the
 * built-in targets and a custom projection (nested paths, a shorthand
 * field, to_entries[0].value), when sx_target_map_text() gives an item, it
 * is the value sx_target_map() (libjq) gives.
 */
#include "fuzz.h"
#include "sx_pager.h"
#include "sx_target.h"

static const char custom[] =
    "[{\"name\": \"custom\", \"path\": \"x/\","
    " \"item\": \"{a: .x.y.z, id, c: (.d | to_entries[0].value), e: (.data_unit.files)}\"}]";

#define NTARGETS 4
static sx_target *targets[NTARGETS];
static char *buf;
static size_t cap;

static void free_targets(void)
{
    for (int i = 0; i < NTARGETS; i++)
        sx_target_free(targets[i]);
    free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    atexit(free_targets);
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/targets.json", fuzz_tmpdir());
    if (fuzz_write_file(path, custom, sizeof custom - 1) < 0)
        abort();
    static const char *const names[NTARGETS] = {"assignment", "task", "ground_truth", "custom"};
    for (int i = 0; i < NTARGETS; i++) {
        targets[i] = sx_target_open(names[i], i == 3 ? path : NULL, err, sizeof err);
        FUZZ_ASSERT(targets[i] != NULL, "target %s: %s", names[i], err);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *rec = (const char *)data, *e = rec + size;
    if (size > (1u << 20))
        return 0;
    const char *end = sx_json_scan(rec, e), *p = rec;
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (end != e || *p != '{')
        return 0; /* the pager hands out whole objects only */
    for (int i = 0; i < NTARGETS; i++) {
        long n = sx_target_map_text(targets[i], rec, size, &buf, &cap);
        if (n < 0)
            continue; /* the jq path decides */
        jv item = sx_target_map(targets[i], jv_parse_sized(rec, (int)size));
        FUZZ_ASSERT(jv_is_valid(item), "target %s: the fast path maps a record jq fails on: %s",
                    sx_target_name(targets[i]), fuzz_show(rec, size));
        jv fast = jv_parse_sized(buf, (int)n);
        char *a = fuzz_jv_text(fast), *b = fuzz_jv_text(item);
        FUZZ_ASSERT(!strcmp(a, b), "target %s: fast path %.300s, jq %.300s (record %s)", sx_target_name(targets[i]),
                    a, b, fuzz_show(rec, size));
        free(a);
        free(b);
        jv_free(fast);
        jv_free(item);
    }
    return 0;
}
