/*
 * sx_cli.h : what every sx program does the same way: its name in messages,
 * error reports (`prog: what: why`, `prog: <input>:<line>: message`), exit
 * codes, number options, --help/--version, and a quiet end on a closed pipe.
 *
 * This is the one part of libsx that prints and exits: it is the programs'
 * side of the library (zstd's programs/ util), shared so that every program
 * speaks the same way. Nothing else in lib/ calls it.
 */
#ifndef SX_CLI_H
#define SX_CLI_H

#include <stdint.h>
#include <stdio.h>

#define SX_VERSION "0.1.0"

/* The four exit codes of DESIGN.md; 130/143 are reserved to sx-save for
 * SIGINT/SIGTERM. */
enum {
    SX_EXIT_OK = 0,
    SX_EXIT_FAIL = 1,     /* bad data, I/O, cut stream */
    SX_EXIT_USAGE = 2,    /* bad options or arguments */
    SX_EXIT_BACKEND = 3   /* backend or network failure after retries */
};

/* Long-option values shared by every program's getopt_long table. */
enum { SX_OPT_HELP = 'h', SX_OPT_VERSION = 0x1000, SX_OPT_ZSTD, SX_OPT_KEEP_GOING, SX_OPT_FIRST_FREE };

/* The common entries of every program's option table. */
#define SX_COMMON_LONGOPTS                                   \
    {"help", no_argument, NULL, SX_OPT_HELP},                \
    {"version", no_argument, NULL, SX_OPT_VERSION}

/*! sx_cli_init() : names the program for every message and makes a closed
 *  pipe an ordinary write error (EPIPE) instead of a signal. */
void sx_cli_init(const char *prog);

/*! sx_prog() : the name given to sx_cli_init(). */
const char *sx_prog(void);

/*! sx_die() : prints `prog: message` on stderr and exits with `code`. */
_Noreturn void sx_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*! sx_die_at() : `prog: input:line: message`, then exit(code). */
_Noreturn void sx_die_at(int code, const char *input, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*! sx_warn(), sx_warn_at() : the same messages without exiting. */
void sx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sx_warn_at(const char *input, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*! sx_usage_error() : `prog: message` and a hint to --help; exit 2. */
_Noreturn void sx_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*! sx_bad_option() : the usage error for getopt_long's '?' or ':' answer
 *  (call with opterr = 0 and an optstring that starts with ':'). */
_Noreturn void sx_bad_option(int c, char **argv);

/*! sx_getopt() : getopt_long() that takes long options only as written in
 *  full: GNU getopt accepts any unique prefix (`--tok` for `--token-file`),
 *  and an abbreviation could turn the secret meant for one option into the
 *  value of another, printed back in a message. An abbreviated option is a
 *  usage error. Same arguments and return value as getopt_long(). */
struct option;
int sx_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/*! sx_help() : prints `text` on stdout and exits 0 (or 1 if stdout fails). */
_Noreturn void sx_help(const char *text);

/*! sx_version() : prints `prog (sx) VERSION` on stdout and exits 0. */
_Noreturn void sx_version(void);

/*! sx_write_failed() : after a failed write to an output named `what`:
 *  a closed pipe (EPIPE) ends the program quietly with exit 0; any other
 *  error is reported and exits 1. Reads errno. */
_Noreturn void sx_write_failed(const char *what);

/*! sx_parse_u64() : parses a whole decimal number in [min, max].
 *  @return 0, or -1 (not a number, trailing junk, out of range). */
int sx_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*! sx_opt_u64() : sx_parse_u64() for option `name`, a usage error
 *  (`prog: --jobs: '0' is not a number from 1 to 64`) on a bad value. */
uint64_t sx_opt_u64(const char *name, const char *s, uint64_t min, uint64_t max);

/*! sx_opt_bytes() : a number of bytes with an optional suffix K, M or G
 *  (powers of 1024) in [min, max]; a usage error otherwise. */
uint64_t sx_opt_bytes(const char *name, const char *s, uint64_t min, uint64_t max);

/*! sx_opt_seconds() : a non-negative decimal number of seconds (0.5, 30) no
 *  larger than max; a usage error otherwise. */
double sx_opt_seconds(const char *name, const char *s, double max);

#endif
