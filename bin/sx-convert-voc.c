/* sx-convert-voc : items in, the file operations of a Pascal VOC dataset out. */
#include "sx_cli.h"
#include "sx_convcli.h"
#include "sx_voc.h"

static const char usage_text[] =
    "usage: sx-convert-voc [options] [FILE...]\n"
    "\n"
    "Reads export items (NDJSON, zstd or plain; standard input without FILE) and\n"
    "writes the file operations of a Pascal VOC dataset for sx-save:\n"
    "Annotations/[<split>/]<stem>.xml per item, classes.txt, and the images under\n"
    "images/[<split>/]. One object per box (and per polygon, its extent), clipped to\n"
    "the image, with VOC's 1-based integer pixels: xmin = round(x1) + 1,\n"
    "xmax = round(x2) (likewise y). Control records are forwarded in order; a\n"
    "failing item becomes an error record and the stream goes on.\n"    "\n"
    "options:\n"
    SX_CONVCLI_HELP_IO
    "      --classes FILE  class names, one per line (classes.txt order); a class\n"
    "                      outside the list fails its item;\n"
    "                      default: the project configuration in meta, else sorted names\n"
    SX_CONVCLI_HELP_SPLIT
    SX_CONVCLI_HELP_TAIL
    "example:\n"
    "  sx-fetch --target assignment -f project=123 | sx-convert-voc \\\n"
    "    | sx-save -o exports/voc-123\n";

int main(int argc, char **argv)
{
    sx_cli_init("sx-convert-voc");
    sx_convcli cli = {0};
    static const struct option longopts[] = {
        SX_COMMON_LONGOPTS,
        SX_CONVCLI_LONGOPTS,
        SX_CONVCLI_CLASSES_OPT,
        {NULL, 0, NULL, 0},
    };
    /* no options of its own: anything left over is a usage error */
    if (sx_convcli_next(&cli, argc, argv, SX_CONVCLI_SHORTOPTS, longopts, usage_text) != -1)
        sx_bad_option('?', argv);
    sx_conv_opts co = {.stage = "sx-convert-voc", .parse_dm = 1, .need_size = 1};
    sx_convcli_finish(&cli, &co, argc - optind, argv + optind);
    sx_voc_opts fo = {.classes_file = cli.classes};
    char err[512];
    sx_voc *conv = sx_voc_new(&fo, err, sizeof err);
    if (!conv)
        sx_die(SX_EXIT_FAIL, "%s", err);
    sx_conv_ops ops = sx_voc_ops(conv);
    int code = sx_convcli_run(&cli, &co, &ops);
    sx_voc_free(conv);
    sx_convcli_free(&cli);
    return code;
}
