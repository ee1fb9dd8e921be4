#include "sx_cli.h"
#include "sx_utf8.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog_name = "sx";

void sx_cli_init(const char *prog)
{
    prog_name = prog;
    signal(SIGPIPE, SIG_IGN);
}

const char *sx_prog(void) { return prog_name; }

/* Messages quote what they were given (a line of garbage, a file name):
 * control characters and bytes that are not UTF-8 (and U+FFFD, libjq's
 * stand-in for them) are shown as '?', so that a message never garbles the
 * terminal, and it is cut at 2 KiB, saying so. */
static void vsay(const char *input, uint64_t line, const char *fmt, va_list ap)
{
    char msg[2048 + 4];
    int n = input ? snprintf(msg, 2048, "%s: %s:%llu: ", prog_name, input, (unsigned long long)line)
                  : snprintf(msg, 2048, "%s: ", prog_name);
    if (n < 0)
        n = 0;
    if (n < 2048) {
        int m = vsnprintf(msg + n, (size_t)(2048 - n), fmt, ap);
        n = m < 0 ? n : n + m;
    }
    size_t len = (size_t)n;
    static const char cut[] = "... (message cut at 2 KiB)";
    if (len >= 2048) {
        len = 2047 - (sizeof cut - 1);
        while (len > 0 && ((unsigned char)msg[len] & 0xC0) == 0x80) /* not inside a character */
            len--;
        memcpy(msg + len, cut, sizeof cut - 1);
        len += sizeof cut - 1;
    }
    len = sx_utf8_neutralise(msg, len, 1);
    fflush(stdout);
    msg[len] = '\n';
    fwrite(msg, 1, len + 1, stderr);
}

void sx_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(NULL, 0, fmt, ap);
    va_end(ap);
    exit(code);
}

void sx_die_at(int code, const char *input, uint64_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(input, line, fmt, ap);
    va_end(ap);
    exit(code);
}

void sx_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(NULL, 0, fmt, ap);
    va_end(ap);
}

void sx_warn_at(const char *input, uint64_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(input, line, fmt, ap);
    va_end(ap);
}

void sx_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(NULL, 0, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", prog_name);
    exit(SX_EXIT_USAGE);
}

void sx_bad_option(int c, char **argv)
{
    extern int optind, optopt;
    const char *opt = argv[optind - 1];
    if (c == ':')
        sx_usage_error("option '%s' needs a value", opt);
    if (optopt && strncmp(opt, "--", 2) != 0)
        sx_usage_error("unknown option '-%c'", optopt);
    sx_usage_error("unknown option '%s'", opt);
}

int sx_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    int li = -1;
    int c = getopt_long(argc, argv, shortopts, longopts, &li);
    if (c == -1 || li < 0)
        return c;
    /* the option's own text: before its value when that came separately */
    const char *text = argv[optind - 1];
    if (longopts[li].has_arg == required_argument && optarg == argv[optind - 1] && optind >= 2)
        text = argv[optind - 2];
    if (strncmp(text, "--", 2) != 0)
        return c;
    const char *name = text + 2;
    size_t n = strcspn(name, "=");
    if (n != strlen(longopts[li].name) || strncmp(name, longopts[li].name, n) != 0)
        sx_usage_error("unknown option '--%.*s' (options are not abbreviated: did you mean '--%s'?)", (int)n,
                       name, longopts[li].name);
    return c;
}

void sx_help(const char *text)
{
    fputs(text, stdout);
    if (fflush(stdout) != 0 || ferror(stdout))
        sx_write_failed("stdout");
    exit(SX_EXIT_OK);
}

void sx_version(void)
{
    printf("%s (sx) %s\n", prog_name, SX_VERSION);
    if (fflush(stdout) != 0)
        sx_write_failed("stdout");
    exit(SX_EXIT_OK);
}

void sx_write_failed(const char *what)
{
    if (errno == EPIPE) {
        /* the reader downstream is gone: nothing left to say to anyone.
         * _exit: the records in flight are not ours to tidy up */
        fflush(NULL);
        _exit(SX_EXIT_OK);
    }
    sx_die(SX_EXIT_FAIL, "%s: write error: %s", what, strerror(errno));
}

int sx_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

uint64_t sx_opt_u64(const char *name, const char *s, uint64_t min, uint64_t max)
{
    uint64_t v;
    if (sx_parse_u64(s, min, max, &v) < 0)
        sx_usage_error("%s: '%s' is not a number from %llu to %llu", name, s,
                       (unsigned long long)min, (unsigned long long)max);
    return v;
}

uint64_t sx_opt_bytes(const char *name, const char *s, uint64_t min, uint64_t max)
{
    char num[32];
    size_t n = strlen(s);
    int shift = 0;
    if (n && strchr("KkMmGg", s[n - 1])) {
        shift = strchr("Kk", s[n - 1]) ? 10 : strchr("Mm", s[n - 1]) ? 20 : 30;
        n--;
    }
    uint64_t v;
    if (n == 0 || n >= sizeof num)
        v = 0, shift = -1;
    else {
        memcpy(num, s, n);
        num[n] = 0;
        if (sx_parse_u64(num, 0, UINT64_MAX >> 30, &v) < 0)
            shift = -1;
    }
    if (shift < 0 || (v << shift) < min || (v << shift) > max)
        sx_usage_error("%s: '%s' is not a number of bytes (K, M, G) from %llu to %llu", name, s,
                       (unsigned long long)min, (unsigned long long)max);
    return v << shift;
}

double sx_opt_seconds(const char *name, const char *s, double max)
{
    char *end;
    errno = 0;
    double v = (s && *s >= '0' && *s <= '9') || (s && *s == '.') ? strtod(s, &end) : -1;
    if (v < 0 || errno || *end || !isfinite(v) || v > max)
        sx_usage_error("%s: '%s' is not a number of seconds from 0 to %g", name, s, max);
    return v;
}
