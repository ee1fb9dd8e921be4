/* sx-convert-coco : items in, the file operations of a COCO dataset out. */
#include "sx_cli.h"
#include "sx_convcli.h"
#include "sx_coco.h"

#include <string.h>

static const char usage_text[] =
    "usage: sx-convert-coco [options] [FILE...]\n"
    "\n"
    "Reads export items (NDJSON, zstd or plain; standard input without FILE) and\n"
    "writes the file operations of a COCO dataset for sx-save: [<split>/]annotations.json\n"
    "and the images under images/[<split>/]. Control records are forwarded in order;\n"
    "a failing item becomes an error record and the stream goes on.\n"
    "\n"
    "options:\n"
    SX_CONVCLI_HELP_IO
    "      --classes FILE  category names, one per line, in id order (ids from 1);\n"
    "                      default: the project configuration in meta, else sorted names\n"
    SX_CONVCLI_HELP_SPLIT
    "      --move          hand annotations.json over as a temporary file (src + move)\n"
    "                      instead of inline text records\n"
    "      --layout NAME   where the files go: sx (default: [<split>/]annotations.json,\n"
    "                      images/[<split>/]); coco (annotations/instances_<split>.json,\n"
    "                      images/<split>/: Datumaro); fiftyone ([<split>/]labels.json,\n"
    "                      [<split>/]data/: FiftyOne). coco and fiftyone write an\n"
    "                      attribute with a reserved name (id, bbox, area, label,\n"
    "                      bounding_box, mask, confidence, index, ...) as attr_<name>\n"
    SX_CONVCLI_HELP_TAIL
    "example:\n"
    "  sx-fetch --target assignment -f project=123 | sx-convert-coco --split train=0.8,val=0.2 \\\n"
    "    | sx-save -o exports/coco-123\n";

int main(int argc, char **argv)
{
    sx_cli_init("sx-convert-coco");
    sx_convcli cli = {0};
    enum { OPT_LAYOUT = SX_CONVCLI_FIRST_FREE };
    static const struct option longopts[] = {
        SX_COMMON_LONGOPTS,
        SX_CONVCLI_LONGOPTS,
        SX_CONVCLI_CLASSES_OPT,
        SX_CONVCLI_MOVE_OPT,
        {"layout", required_argument, NULL, OPT_LAYOUT},
        {NULL, 0, NULL, 0},
    };
    const char *layout = NULL;
    int c;
    while ((c = sx_convcli_next(&cli, argc, argv, SX_CONVCLI_SHORTOPTS, longopts, usage_text)) != -1) {
        if (c == OPT_LAYOUT)
            layout = optarg;
        else
            sx_bad_option('?', argv);
    }
    sx_conv_opts co = {.stage = "sx-convert-coco", .parse_dm = 1, .need_size = 1, .image_classes = 1};
    sx_coco_layout lay = SX_COCO_LAYOUT_SX;
    if (layout && strcmp(layout, "coco") == 0) {
        lay = SX_COCO_LAYOUT_COCO;
    } else if (layout && strcmp(layout, "fiftyone") == 0) {
        lay = SX_COCO_LAYOUT_FIFTYONE;
        co.images_dir = "data";
        co.images_in_split = 1;
    } else if (layout && strcmp(layout, "sx") != 0) {
        sx_usage_error("--layout: '%s' is not sx, coco or fiftyone", layout);
    }
    sx_convcli_finish(&cli, &co, argc - optind, argv + optind);
    sx_coco_opts fo = {.classes_file = cli.classes, .split = cli.split, .layout = lay};
    char err[512];
    sx_coco *conv = sx_coco_new(&fo, err, sizeof err);
    if (!conv)
        sx_die(SX_EXIT_FAIL, "%s", err);
    sx_conv_ops ops = sx_coco_ops(conv);
    int code = sx_convcli_run(&cli, &co, &ops);
    sx_coco_free(conv);
    sx_convcli_free(&cli);
    return code;
}
