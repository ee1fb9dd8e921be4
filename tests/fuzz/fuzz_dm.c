/*
 * fuzz_dm.c : the DM annotation model (lib/sx_dm.h), v1 and v2, read from a
 * tape as the converters read an item's data.
 *
 * The first byte picks how the rest is read: 0 as a whole data object
 * (either version, detected); 1 as the first image of DM v2
 * ({"images": [REST]}); 2 as DM v1, the rest being the annotations and the
 * annotationsData of image_1 separated by a line "--". Text the tape
 * refuses goes through libjq, as in the converters. Properties, when the
 * data is taken: version 1 or 2, a known tool, a class of its stated
 * length, an extent of finite numbers with a size >= 0, points within the
 * model's (3 at least for a polygon, 2 for a polyline, 1 for a keypoint),
 * finite; attributes written as a JSON object that the tape reads. When it
 * is refused: a reason.
 */
#include "fuzz.h"
#include "sx_dm.h"
#include "sx_json.h"

#include <math.h>

static sx_tape *tape;
static sx_dm *dm;

static void check_model(void)
{
    FUZZ_ASSERT(dm->version == 1 || dm->version == 2, "version %d", dm->version);
    FUZZ_ASSERT(isfinite(dm->width) && isfinite(dm->height) && dm->width >= 0 && dm->height >= 0,
                "image size %g x %g", dm->width, dm->height);
    sx_strbuf attrs = SX_SB_INIT;
    sx_tape *t = sx_tape_new();
    for (size_t i = 0; i < dm->n; i++) {
        const sx_dm_ann *a = &dm->ann[i];
        FUZZ_ASSERT(a->tool < SX_DM_NTOOLS, "tool %d", (int)a->tool);
        FUZZ_ASSERT(a->cls && a->cls_len > 0 && a->id, "annotation %zu without a class or id", i);
        FUZZ_ASSERT(isfinite(a->x) && isfinite(a->y) && isfinite(a->w) && isfinite(a->h) && a->w >= 0 && a->h >= 0,
                    "annotation %zu extent %g %g %g %g", i, a->x, a->y, a->w, a->h);
        if (a->tool != SX_DM_BOX) {
            size_t need = a->tool == SX_DM_POLYGON ? 3 : a->tool == SX_DM_POLYLINE ? 2 : 1;
            FUZZ_ASSERT(a->npt >= need && (a->tool != SX_DM_KEYPOINT || a->npt == 1), "%s with %zu points",
                        sx_dm_tool_name(a->tool), a->npt);
            FUZZ_ASSERT(a->pt + a->npt <= dm->npts, "points past the model's %zu", dm->npts);
            for (size_t k = 0; k < 2 * a->npt; k++)
                FUZZ_ASSERT(isfinite(dm->pts[2 * a->pt + k]), "a point that is not finite");
        }
        sx_sb_reset(&attrs);
        sx_dm_attrs_json(a, &attrs);
        FUZZ_ASSERT(!attrs.failed, "attributes: out of memory");
        const sx_tnode *o = sx_tape_parse(t, attrs.p, attrs.len);
        FUZZ_ASSERT(sx_tape_is(o, SX_T_OBJECT), "attributes %s are not a JSON object (%s)", fuzz_show(attrs.p, attrs.len),
                    sx_tape_error(t));
    }
    sx_tape_free(t);
    sx_sb_free(&attrs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    if (!tape && (!(tape = sx_tape_new()) || !(dm = sx_dm_new())))
        abort();
    int mode = data[0] % 3;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    sx_buf text = {0};
    if (mode == 0) {
        sx_buf_put(&text, rest, n);
    } else if (mode == 1) {
        sx_buf_puts(&text, "{\"images\":[");
        sx_buf_put(&text, rest, n);
        sx_buf_puts(&text, "]}");
    } else {
        const uint8_t *second;
        size_t first = fuzz_split((const uint8_t *)rest, n, "--", &second);
        sx_buf_puts(&text, "{\"annotations\":{\"image_1\":");
        sx_buf_put(&text, rest, first);
        sx_buf_puts(&text, "},\"annotationsData\":{\"image_1\":");
        if (second)
            sx_buf_put(&text, second, n - (size_t)((const char *)second - rest));
        else
            sx_buf_puts(&text, "[]");
        sx_buf_puts(&text, "}}");
    }
    const sx_tnode *root = sx_tape_parse(tape, text.p ? text.p : "", text.len);
    if (!root) {
        jv v = jv_parse_sized(text.p ? text.p : "", (int)text.len);
        root = jv_is_valid(v) ? sx_tape_parse_jv(tape, v) : NULL;
        jv_free(v);
    }
    if (root) {
        dm->skip_size = size & 1;
        if (sx_dm_parse(dm, tape, root) == 0)
            check_model();
        else
            FUZZ_ASSERT(*sx_dm_error(dm), "a refusal without a reason");
    }
    sx_buf_free(&text);
    return 0;
}
