/*
 * sx_convcli.h : the command line every sx-convert-* program shares: the
 * common options, their checks, and the run from the input to the exit
 * status. A converter's main() adds its own options and its format object
 * (the sx_conv_ops of sx_convert.h) and calls sx_convcli_run().
 *
 * Like sx_cli.h this is the programs' side of the library: it prints and
 * exits (usage errors, a failed conversion).
 */
#ifndef SX_CONVCLI_H
#define SX_CONVCLI_H

#include <getopt.h>
#include <stdint.h>

#include "sx_cli.h"
#include "sx_convert.h"

enum {
    SX_CONVCLI_IMAGES = SX_OPT_FIRST_FREE,
    SX_CONVCLI_CLASSES,
    SX_CONVCLI_SPLIT,
    SX_CONVCLI_SEED,
    SX_CONVCLI_MOVE,
    SX_CONVCLI_ITEMS,
    SX_CONVCLI_FIRST_FREE   /* a converter's own options start here */
};

/* The options every converter has (with SX_COMMON_LONGOPTS). */
#define SX_CONVCLI_LONGOPTS                                            \
    {"output", required_argument, NULL, 'o'},                          \
    {"zstd", no_argument, NULL, SX_OPT_ZSTD},                          \
    {"quiet", no_argument, NULL, 'q'},                                 \
    {"keep-going", no_argument, NULL, SX_OPT_KEEP_GOING},              \
    {"images", required_argument, NULL, SX_CONVCLI_IMAGES},            \
    {"split", required_argument, NULL, SX_CONVCLI_SPLIT},              \
    {"seed", required_argument, NULL, SX_CONVCLI_SEED},                \
    {"items", no_argument, NULL, SX_CONVCLI_ITEMS}
/* Those of converters that number classes, or that can hand a big file over. */
#define SX_CONVCLI_CLASSES_OPT {"classes", required_argument, NULL, SX_CONVCLI_CLASSES}
#define SX_CONVCLI_MOVE_OPT {"move", no_argument, NULL, SX_CONVCLI_MOVE}
#define SX_CONVCLI_SHORTOPTS ":o:qh"

/* Pieces of every converter's --help, in this order around its own lines:
 * "options:\n" SX_CONVCLI_HELP_IO [--classes] SX_CONVCLI_HELP_SPLIT [its own]
 * SX_CONVCLI_HELP_TAIL "example:\n" … */
#define SX_CONVCLI_HELP_IO \
    "  -o, --output FILE   write to FILE ('-' is standard output, '.zst' compresses)\n" \
    "      --zstd          compress the output with zstd\n" \
    "  -q, --quiet         no warnings on standard error\n" \
    "      --keep-going    a line that is not JSON becomes an error record instead of\n" \
    "                      stopping the conversion (exit 1 at the end)\n" \
    "      --images MODE   url, copy, link or none: how images enter the dataset\n" \
    "                      (default: url for items with files.url, link for local ones)\n" \
    "      --items         the input is items only, made by hand or by another tool:\n" \
    "                      no meta or end record needed, the end of the input is\n" \
    "                      their end (an input with a meta record is refused)\n"
#define SX_CONVCLI_HELP_SPLIT \
    "      --split SPEC    assign splits by item id hash: train=0.8,val=0.2[,test=…]\n" \
    "                      (default: the items' own \"split\" field, else no split)\n" \
    "      --seed N        seed of --split (default 0)\n"
#define SX_CONVCLI_HELP_TAIL \
    "  -h, --help          this help\n" \
    "      --version       the version\n" \
    "\n" \
    "environment: TMPDIR (spool files, default /tmp).\n" \
    "\n" \
    "exit status: 0 done, 1 bad input (invalid JSON, cut stream) or I/O error, 2 usage.\n" \
    "\n"

typedef struct {
    const char *output, *classes, *split_spec, *images;
    int zstd, quiet, keep_going, move, items;
    uint64_t seed;
    char **inputs;
    int ninputs;
    sx_split *split;        /* parsed by sx_convcli_finish(), owned */
} sx_convcli;

/*! sx_convcli_next() : the converter's getopt_long loop: takes the common
 *  options, answers -h (with `usage`) and --version, and stops on a bad
 *  option (usage error, exit 2). @shortopts SX_CONVCLI_SHORTOPTS plus the
 *  converter's own. @return the next option of the converter's own (its
 *  argument in optarg), or -1 at the end of the options. */
int sx_convcli_next(sx_convcli *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
                    const char *usage);

/*! sx_convcli_finish() : after the options: takes the inputs, checks and
 *  parses --images and --split into `co` (usage error, exit 2, when bad),
 *  and copies keep_going, move and items into `co`. @argv borrowed. */
void sx_convcli_finish(sx_convcli *c, sx_conv_opts *co, int argc, char **argv);

/*! sx_convcli_run() : converts the inputs to the output with `ops` (its
 *  object stays the caller's): spool files are removed on SIGINT, SIGTERM
 *  and SIGHUP; errors are reported as `prog: input:line: message`.
 *  @return the exit status (it exits itself only when writing failed). */
int sx_convcli_run(sx_convcli *c, const sx_conv_opts *co, const sx_conv_ops *ops);

/*! sx_convcli_free() : frees what sx_convcli_finish() parsed. */
void sx_convcli_free(sx_convcli *c);

#endif
