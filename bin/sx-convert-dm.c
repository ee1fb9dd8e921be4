/* sx-convert-dm : items in, the file operations of the SDK raw DM layout out. */
#include "sx_cli.h"
#include "sx_convcli.h"
#include "sx_dmexport.h"

static const char usage_text[] =
    "usage: sx-convert-dm [options] [FILE...]\n"
    "\n"
    "Reads export items (NDJSON, zstd or plain; standard input without FILE) and\n"
    "writes the file operations of the synapse-sdk default export layout for sx-save:\n"
    "[<split>/]json/<stem>.json (the item's data, indented 4) and\n"
    "[<split>/]origin_files/<name> (the original file), which the SDK's converters\n"
    "and sx-fetch --dir read back. Control records are forwarded in order; an item\n"
    "without data becomes an error record and the stream goes on.\n"    "\n"
    "options:\n"
    SX_CONVCLI_HELP_IO
    SX_CONVCLI_HELP_SPLIT
    SX_CONVCLI_HELP_TAIL
    "example:\n"
    "  sx-fetch --target assignment -f project=123 | sx-convert-dm \\\n"
    "    | sx-save -o exports/dm-123\n";

int main(int argc, char **argv)
{
    sx_cli_init("sx-convert-dm");
    sx_convcli cli = {0};
    static const struct option longopts[] = {
        SX_COMMON_LONGOPTS,
        SX_CONVCLI_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    /* no options of its own: anything left over is a usage error */
    if (sx_convcli_next(&cli, argc, argv, SX_CONVCLI_SHORTOPTS, longopts, usage_text) != -1)
        sx_bad_option('?', argv);
    sx_conv_opts co = {.stage = "sx-convert-dm", .images_dir = "origin_files", .images_in_split = 1};
    sx_convcli_finish(&cli, &co, argc - optind, argv + optind);
    sx_dmexport *conv = sx_dmexport_new();
    if (!conv)
        sx_die(SX_EXIT_FAIL, "out of memory");
    sx_conv_ops ops = sx_dmexport_ops(conv);
    int code = sx_convcli_run(&cli, &co, &ops);
    sx_dmexport_free(conv);
    sx_convcli_free(&cli);
    return code;
}
