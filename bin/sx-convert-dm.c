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
    "  -o, --output FILE   write to FILE ('-' is standard output, '.zst' compresses)\n"
    "      --zstd          compress the output with zstd\n"
    "  -q, --quiet         no warnings on standard error\n"
    "      --keep-going    a line that is not JSON becomes an error record instead of\n"
    "                      stopping the conversion (exit 1 at the end)\n"
    "      --images MODE   url, copy, link or none: how images enter the dataset\n"
    "                      (default: url for items with files.url, link for local ones)\n"

    "      --split SPEC    assign splits by item id hash: train=0.8,val=0.2[,test=…]\n"
    "                      (default: the items' own \"split\" field, else no split)\n"
    "      --seed N        seed of --split (default 0)\n"

    "  -h, --help          this help\n"
    "      --version       the version\n"
    "\n"
    "environment: TMPDIR (spool files, default /tmp); SX_CONVERT_THREADS=0 or 1\n"
    "(read ahead in a second thread; default: when a second core is idle).\n"
    "\n"
    "exit status: 0 done, 1 bad input (invalid JSON, cut stream) or I/O error, 2 usage.\n"
    "\n"
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
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, SX_CONVCLI_SHORTOPTS, longopts, NULL)) != -1) {
        if (sx_convcli_option(&cli, c, optarg))
            continue;
        switch (c) {
        case 'h': sx_help(usage_text);
        case SX_OPT_VERSION: sx_version();
        default: sx_bad_option(c, argv);
        }
    }
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
