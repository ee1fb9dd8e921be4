/*
 * fuzz_merge.c : merging the COCO files of shards (lib/sx_merge.h), the
 * scanner that walks them and the fast path that copies annotations.
 *
 * The input is up to 8 shards separated by lines "--"; a shard is its
 * annotations.json, then optionally a line "++" and its sx-shard.json
 * marker. Properties:
 *  - a merge never aborts and never leaks, whatever it refuses;
 *  - when it succeeds (sx-merge-coco exits 0), its output is strict JSON
 *    (UTF-8 included): an object with "categories", "images" and
 *    "annotations" arrays, images numbered 1..N with file_names that differ,
 *    annotations numbered 1..M, each naming a written image and category,
 *    and as many as sx_merge_counts() says.
 */
#include "fuzz.h"
#include "sx_json.h"
#include "sx_merge.h"
#include "sx_tape.h"

#define MAX_SHARDS 8

static sx_tape *tape;

struct merged {
    sx_buf out;
    uint64_t kept; /* images announced to the on_image callback */
};

static int to_buf(void *ctx, const void *p, size_t n) { return sx_buf_put(&((struct merged *)ctx)->out, p, n); }

static int count_image(void *ctx, int shard, const char *old_name, const char *new_name)
{
    (void)shard;
    FUZZ_ASSERT(old_name && new_name, "an image kept without a name");
    ((struct merged *)ctx)->kept++;
    return 0;
}

/* a whole number in [1, max] */
static int is_index(const sx_tnode *n, double max)
{
    return sx_tape_is(n, SX_T_NUMBER) && n->u.num >= 1 && n->u.num <= max && n->u.num == (double)(uint64_t)n->u.num;
}

static void check_output(const sx_buf *out, const sx_merge *m, uint64_t kept)
{
    const sx_tnode *root = sx_tape_parse(tape, out->p, out->len);
    FUZZ_ASSERT(sx_tape_is(root, SX_T_OBJECT), "the merged file is not strict JSON: %s (%s)", sx_tape_error(tape),
                fuzz_show(out->p, out->len));
    const sx_tnode *cats = sx_tget(root, "categories"), *imgs = sx_tget(root, "images"),
                   *anns = sx_tget(root, "annotations");
    FUZZ_ASSERT(sx_tape_is(cats, SX_T_ARRAY) && sx_tape_is(imgs, SX_T_ARRAY) && sx_tape_is(anns, SX_T_ARRAY),
                "the merged file lacks an array");
    uint64_t ni, na, nd, nr;
    sx_merge_counts(m, &ni, &na, &nd, &nr);
    FUZZ_ASSERT(imgs->len == ni && anns->len == na && kept == ni, "%u images, %u annotations written; counts %llu, %llu",
                imgs->len, anns->len, (unsigned long long)ni, (unsigned long long)na);
    jv names = jv_object(), catids = jv_object();
    const sx_tnode *c = sx_tape_first(cats);
    for (uint32_t i = 0; i < cats->len; i++, c = sx_tape_after(c)) {
        const sx_tnode *id = sx_tget(c, "id");
        FUZZ_ASSERT(sx_tape_is(id, SX_T_NUMBER), "category %u has no numeric id", i + 1);
        catids = jv_object_set(catids, jv_string_fmt("%.17g", id->u.num), jv_true());
    }
    const sx_tnode *img = sx_tape_first(imgs);
    for (uint32_t i = 0; i < imgs->len; i++, img = sx_tape_after(img)) {
        const sx_tnode *id = sx_tget(img, "id"), *name = sx_tget(img, "file_name");
        FUZZ_ASSERT(sx_tape_is(id, SX_T_NUMBER) && id->u.num == i + 1, "image %u has id %g", i + 1,
                    sx_tape_is(id, SX_T_NUMBER) ? id->u.num : -1.0);
        FUZZ_ASSERT(sx_tape_is(name, SX_T_STRING), "image %u has no file_name", i + 1);
        jv k = jv_string_sized(name->u.str, (int)name->len);
        FUZZ_ASSERT(!jv_is_valid(jv_object_get(jv_copy(names), jv_copy(k))), "file_name '%s' twice", name->u.str);
        names = jv_object_set(names, k, jv_true());
    }
    const sx_tnode *a = sx_tape_first(anns);
    for (uint32_t i = 0; i < anns->len; i++, a = sx_tape_after(a)) {
        const sx_tnode *id = sx_tget(a, "id"), *im = sx_tget(a, "image_id"), *ca = sx_tget(a, "category_id");
        FUZZ_ASSERT(sx_tape_is(id, SX_T_NUMBER) && id->u.num == i + 1, "annotation %u is misnumbered", i + 1);
        FUZZ_ASSERT(is_index(im, (double)imgs->len), "annotation %u names no written image", i + 1);
        FUZZ_ASSERT(sx_tape_is(ca, SX_T_NUMBER), "annotation %u has no numeric category_id", i + 1);
        jv got = jv_object_get(jv_copy(catids), jv_string_fmt("%.17g", ca->u.num));
        FUZZ_ASSERT(jv_is_valid(got), "annotation %u names category %g, which is not written", i + 1, ca->u.num);
        jv_free(got);
    }
    jv_free(names);
    jv_free(catids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (256u << 10))
        return 0;
    if (!tape && !(tape = sx_tape_new()))
        abort();
    const char *dir = fuzz_tmpdir();
    sx_merge *m = sx_merge_new();
    if (!m)
        abort();
    const uint8_t *next = data;
    for (int i = 0; next && i < MAX_SHARDS; i++) {
        const uint8_t *part = next, *mk = NULL;
        size_t n = fuzz_split(part, size - (size_t)(part - data), "--", &next), jn = fuzz_split(part, n, "++", &mk);
        char json[4200], marker[4200];
        snprintf(json, sizeof json, "%s/shard%d.json", dir, i);
        snprintf(marker, sizeof marker, "%s/shard%d.marker", dir, i);
        if (fuzz_write_file(json, part, jn) < 0 ||
            (mk && fuzz_write_file(marker, mk, n - (size_t)(mk - part)) < 0))
            abort();
        if (sx_merge_add(m, json, mk ? marker : NULL) < 0)
            abort();
    }
    struct merged r = {{0}, 0};
    if (sx_merge_check(m) == 0 && sx_merge_write(m, to_buf, count_image, &r) == 0)
        check_output(&r.out, m, r.kept);
    else
        FUZZ_ASSERT(*sx_merge_error(m), "a refusal without a message");
    sx_buf_free(&r.out);
    sx_merge_free(m);
    return 0;
}
