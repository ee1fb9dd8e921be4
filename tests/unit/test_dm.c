/* test_dm.c : the DM model: v1 join, v2 lists, rotation, attributes, errors. */
#include <math.h>
#include <string.h>

#include "sx_dm.h"
#include "unit.h"

static sx_dm *dm;

static sx_tape *tape;

/* strings in dm point into the tape (and the tape into `json`, a literal) */
static int parse(const char *json)
{
    const sx_tnode *v = sx_tape_parse(tape, json, strlen(json));
    return v ? sx_dm_parse(dm, tape, v) : -2;
}

static void test_v1_join_by_id(void)
{
    CHECK(parse("{\"annotations\":{\"image_1\":[{\"id\":\"a\",\"tool\":\"bounding_box\",\"classification\":{\"class\":\"car\",\"color\":\"red\"}},"
                "{\"id\":\"b\",\"tool\":\"polygon\",\"classification\":{\"class\":\"p\"}}]},"
                "\"annotationsData\":{\"image_1\":[{\"id\":\"b\",\"coordinate\":[{\"x\":0,\"y\":0},{\"x\":4,\"y\":0},{\"x\":4,\"y\":3}]},"
                "{\"id\":\"a\",\"coordinate\":{\"x\":1,\"y\":2,\"width\":3,\"height\":4}}]}}") == 0);
    CHECK(dm->version == 1 && dm->n == 2);
    CHECK(dm->ann[0].tool == SX_DM_BOX && dm->ann[0].x == 1 && dm->ann[0].h == 4 && strcmp(dm->ann[0].cls, "car") == 0);
    CHECK(dm->ann[1].tool == SX_DM_POLYGON && dm->ann[1].npt == 3 && dm->ann[1].w == 4 && dm->ann[1].h == 3);
    sx_strbuf b = SX_SB_INIT;
    sx_dm_attrs_json(&dm->ann[0], &b);
    CHECK(strcmp(b.p, "{\"color\":\"red\"}") == 0);
    sx_sb_free(&b);
}

static void test_v1_other_asset_and_size(void)
{
    CHECK(parse("{\"annotations\":{\"image_2\":[{\"id\":\"k\",\"tool\":\"keypoint\",\"classification\":{\"class\":\"nose\"}}]},"
                "\"annotationsData\":{\"image_2\":[{\"id\":\"k\",\"coordinate\":{\"x\":5,\"y\":6}}]},"
                "\"extra\":{\"image_2\":{\"width\":640,\"height\":480}}}") == 0);
    CHECK(dm->n == 1 && dm->ann[0].tool == SX_DM_KEYPOINT && dm->pts[0] == 5 && dm->pts[1] == 6);
    CHECK(dm->width == 640 && dm->height == 480);
    CHECK(parse("{}") == 0 && dm->n == 0);
}

static void test_rotation(void)
{
    CHECK(parse("{\"annotations\":{\"image_1\":[{\"id\":\"r\",\"tool\":\"bounding_box\",\"classification\":{\"class\":\"c\"}}]},"
                "\"annotationsData\":{\"image_1\":[{\"id\":\"r\",\"coordinate\":{\"x\":0,\"y\":0,\"width\":20,\"height\":10,\"rotation\":0.7853981633974483}}]}}") == 0);
    const sx_dm_ann *a = &dm->ann[0];
    double side = (20 + 10) * sqrt(0.5);
    CHECK(a->rotated && fabs(a->w - side) < 1e-9 && fabs(a->h - side) < 1e-9);
    CHECK(fabs(a->x + a->w / 2 - 10) < 1e-9 && fabs(a->y + a->h / 2 - 5) < 1e-9);
    sx_strbuf b = SX_SB_INIT;
    sx_dm_attrs_json(a, &b);
    CHECK(strcmp(b.p, "{\"rotation\":0.78539816339744828}") == 0);
    sx_sb_free(&b);
}

static void test_v2(void)
{
    CHECK(parse("{\"images\":[{\"width\":10,\"height\":20,\"bounding_box\":[{\"id\":\"a\",\"classification\":\"car\",\"attrs\":[{\"name\":\"z\",\"value\":1}],\"data\":[1,2,3,4]}],"
                "\"polyline\":[{\"id\":\"l\",\"classification\":\"lane\",\"attrs\":[],\"data\":[[0,0],[5,5]]}]}]}") == 0);
    CHECK(dm->version == 2 && dm->n == 2 && dm->width == 10 && dm->height == 20);
    CHECK(dm->ann[1].tool == SX_DM_POLYLINE && dm->ann[1].npt == 2);
    sx_strbuf b = SX_SB_INIT;
    sx_dm_attrs_json(&dm->ann[0], &b);
    CHECK(strcmp(b.p, "{\"z\":1}") == 0);
    sx_sb_free(&b);
}

/* The one note of the last parse has this kind and reason, and no
 * annotation was kept. */
static int one_note(const char *kind, const char *reason)
{
    return dm->n == 0 && dm->nnotes == 1 && strcmp(dm->notes[0].kind, kind) == 0 &&
           strcmp(dm->notes[0].reason, reason) == 0;
}

static void test_errors(void)
{
    /* only what is not annotation data at all fails the item */
    CHECK(parse("null") == -1 && strcmp(sx_dm_error(dm), "data is Null") == 0);
    CHECK(parse("[1]") == -1 && strstr(sx_dm_error(dm), "not an object"));
    CHECK(parse("{\"annotations\":[1]}") == -1 && strstr(sx_dm_error(dm), "not an object keyed by asset"));
    CHECK(parse("{\"images\":[7]}") == -1 && strstr(sx_dm_error(dm), "images[0] is not an object"));
}

static void test_drops(void)
{
    /* a bad annotation is left out with a note; the item goes on */
    CHECK(parse("{\"images\":[{\"polygon\":[{\"id\":\"p\",\"classification\":\"x\",\"data\":[[0,0],[1,1]]}]}]}") == 0 &&
          one_note("dropped", "polygon with fewer than 3 points") && strstr(dm->notes[0].detail, "2 points (needs 3)"));
    CHECK(parse("{\"images\":[{\"bounding_box\":[{\"id\":\"b\",\"classification\":\"x\",\"data\":[0,0,1e999,1]}]}]}") == 0 &&
          one_note("dropped", "coordinates that are not finite numbers"));
    CHECK(parse("{\"images\":[{\"bounding_box\":[{\"id\":\"b\",\"classification\":\"x\",\"data\":[0,0,20000000,1]}]}]}") == 0 &&
          one_note("dropped", "coordinates that are not finite numbers"));
    CHECK(parse("{\"images\":[{\"keypoint\":[{\"id\":\"k\",\"classification\":\"\",\"data\":[0,0]}]}]}") == 0 &&
          one_note("dropped", "annotation without a class"));
    /* the points of a dropped polygon do not stay behind */
    CHECK(parse("{\"images\":[{\"polygon\":[{\"id\":\"p\",\"classification\":\"x\",\"data\":[[0,0],[1,1],[\"a\",2]]},"
                "{\"id\":\"q\",\"classification\":\"y\",\"data\":[[5,5],[6,5],[6,6]]}]}]}") == 0);
    CHECK(dm->n == 1 && dm->npts == 3 && dm->ann[0].pt == 0 && dm->pts[0] == 5 && dm->nnotes == 1);
}

static void test_ignored(void)
{
    /* v2: relation and group lists and unknown tools are ignored, counted;
     * the image-level classification list gives image classes */
    CHECK(parse("{\"images\":[{\"relation\":[{\"id\":\"r1\"},{\"id\":\"r2\"}],\"group\":[{\"id\":\"g\"}],"
                "\"circle\":[{\"id\":\"c\"}],\"classification\":[{\"id\":\"i\",\"classification\":\"night\"}],"
                "\"bounding_box\":[{\"id\":\"b\",\"classification\":\"car\",\"data\":[1,2,3,4]}]}]}") == 0);
    CHECK(dm->n == 1 && dm->nnotes == 3 && dm->nimg_cls == 1 && strcmp(dm->img_cls[0], "night") == 0);
    CHECK(strcmp(dm->notes[0].reason, "tool 'relation'") == 0 && dm->notes[0].count == 2 &&
          strcmp(dm->notes[0].kind, "ignored") == 0);
    CHECK(strcmp(dm->notes[1].reason, "tool 'group'") == 0 && strcmp(dm->notes[2].reason, "tool 'circle'") == 0);
    /* v1: the classification tool, an unknown tool, relations and groups */
    CHECK(parse("{\"annotations\":{\"image_1\":[{\"id\":\"c\",\"tool\":\"classification\",\"classification\":{\"class\":\"day\"}},"
                "{\"id\":\"r\",\"tool\":\"relation\"},{\"id\":\"a\",\"tool\":\"keypoint\",\"classification\":{\"class\":\"k\"}}]},"
                "\"annotationsData\":{\"image_1\":[{\"id\":\"a\",\"coordinate\":{\"x\":1,\"y\":2}}]},"
                "\"relations\":{\"image_1\":[{\"id\":\"x\"},{\"id\":\"y\"}]},\"annotationGroups\":{\"image_1\":[{\"id\":\"g\"}]}}") == 0);
    CHECK(dm->n == 1 && dm->ann[0].tool == SX_DM_KEYPOINT && dm->nimg_cls == 1 && strcmp(dm->img_cls[0], "day") == 0);
    CHECK(dm->nnotes == 3 && strcmp(dm->notes[0].reason, "tool 'relation'") == 0 &&
          strcmp(dm->notes[1].reason, "relations") == 0 && dm->notes[1].count == 2 &&
          strcmp(dm->notes[2].reason, "annotation groups") == 0 && dm->notes[2].count == 1);
}

int main(void)
{
    dm = sx_dm_new();
    tape = sx_tape_new();
    RUN(test_v1_join_by_id);
    RUN(test_v1_other_asset_and_size);
    RUN(test_rotation);
    RUN(test_v2);
    RUN(test_errors);
    RUN(test_drops);
    RUN(test_ignored);
    sx_dm_free(dm);
    sx_tape_free(tape);
    return UNIT_DONE();
}
