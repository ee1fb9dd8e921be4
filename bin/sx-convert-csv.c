/* sx-convert-csv : items in, the file operations of a CSV of boxes out. */
#include "sx_cli.h"
#include "sx_convcli.h"
#include "sx_csv.h"

static const char usage_text[] =
    "usage: sx-convert-csv [options] [FILE...]\n"
    "\n"
    "Reads export items (NDJSON, zstd or plain; standard input without FILE) and\n"
    "writes the file operations of one CSV of boxes for sx-save: annotations.csv with\n"
    "the header image,width,height,class,xmin,ymin,xmax,ymax and one row per box (and\n"
    "per polygon, its extent), clipped to the image, RFC 4180 quoting, plus the images\n"
    "under images/[<split>/]. Control records are forwarded in order; a failing item\n"
    "becomes an error record and the stream goes on.\n"    "\n"
    "options:\n"
    SX_CONVCLI_HELP_IO
    "      --classes FILE  class names, one per line (classes.txt order); a class\n"
    "                      outside the list fails its item;\n"
    "                      default: the project configuration in meta, else sorted names\n"
    SX_CONVCLI_HELP_SPLIT
    "      --move          hand annotations.csv over as a temporary file (src + move)\n"
    "                      instead of inline text records\n"
    SX_CONVCLI_HELP_TAIL
    "example:\n"
    "  sx-fetch --target assignment -f project=123 | sx-convert-csv \\\n"
    "    | sx-save -o exports/csv-123\n";

int main(int argc, char **argv)
{
    sx_cli_init("sx-convert-csv");
    sx_convcli cli = {0};
    static const struct option longopts[] = {
        SX_COMMON_LONGOPTS,
        SX_CONVCLI_LONGOPTS,
        SX_CONVCLI_CLASSES_OPT,
        SX_CONVCLI_MOVE_OPT,
        {NULL, 0, NULL, 0},
    };
    /* no options of its own: anything left over is a usage error */
    if (sx_convcli_next(&cli, argc, argv, SX_CONVCLI_SHORTOPTS, longopts, usage_text) != -1)
        sx_bad_option('?', argv);
    sx_conv_opts co = {.stage = "sx-convert-csv", .parse_dm = 1, .need_size = 1, .image_classes = 1};
    sx_convcli_finish(&cli, &co, argc - optind, argv + optind);
    sx_csv_opts fo = {.classes_file = cli.classes};
    char err[512];
    sx_csv *conv = sx_csv_new(&fo, err, sizeof err);
    if (!conv)
        sx_die(SX_EXIT_FAIL, "%s", err);
    sx_conv_ops ops = sx_csv_ops(conv);
    int code = sx_convcli_run(&cli, &co, &ops);
    sx_csv_free(conv);
    sx_convcli_free(&cli);
    return code;
}
