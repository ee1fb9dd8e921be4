/* sx-progress: shows the progress of a stream on stderr and forwards it. */
#include "sx_cli.h"
#include "sx_json.h"
#include "sx_meter.h"
#include "sx_proto.h"
#include "sx_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
"usage: sx-progress [options] [FILE...]\n"
"\n"
"Forwards an sx stream unchanged (byte for byte, after zstd decompression)\n"
"and shows its progress on stderr. It counts data records without parsing\n"
"them, learns the expected total from the meta record and follows progress,\n"
"metrics, log, error, warning, result and end records. When standard output\n"
"is a terminal (and no -o), only the result record is written there, not\n"
"the whole stream.\n"
"\n"
"On a terminal it redraws one line: category, percent, bar, count/total,\n"
"rate, ETA and failures (in red unless NO_COLOR is set). Otherwise it prints\n"
"a line every few seconds in the synapse-sdk console form:\n"
"  [dataset_conversion] Progress: 12.5% | ETA: 3.21s\n"
"  [data_file] Metrics: stand_by 3, success 10, failed 1\n"
"\n"
"options:\n"
"  -o, --output FILE      forward to FILE instead of standard output\n"
"      --zstd             compress the forwarded stream with zstd\n"
"  -i, --interval SECS    seconds between updates (default 0.2 on a terminal,\n"
"                         5 otherwise)\n"
"  -f, --force            draw the terminal bar even when stderr is not one\n"
"  -n, --numeric          print only the percent, one integer a line\n"
"      --json FILE        append the progress and metrics records to FILE\n"
"                         (NDJSON, for a job log)\n"
"  -q, --quiet            show nothing; still check the stream's end\n"
"  -h, --help             show this help\n"
"      --version          show the version\n"
"\n"
"exit status: 0 when the stream ended with its end record, 1 when it was cut\n"
"short, unreadable or not NDJSON, 2 on a usage error.\n"
"\n"
"example:\n"
"  sx-fetch -f project=123 | sx-convert-coco | sx-save -o out | sx-progress\n";

enum mode { MODE_BAR, MODE_LINES, MODE_NUMERIC, MODE_QUIET };

struct opts {
    const char *output, *json;
    double interval;
    int zstd, force, numeric, quiet;
    char **inputs;
    int ninputs;
};

static void parse_options(struct opts *o, int argc, char **argv)
{
    enum { OPT_JSON = SX_OPT_FIRST_FREE };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"zstd", no_argument, NULL, SX_OPT_ZSTD},
        {"interval", required_argument, NULL, 'i'},
        {"force", no_argument, NULL, 'f'},
        {"numeric", no_argument, NULL, 'n'},
        {"json", required_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        SX_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    o->interval = -1;
    while ((c = sx_getopt(argc, argv, ":o:i:fnqh", longopts)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'i': o->interval = sx_opt_seconds("--interval", optarg, 86400); break;
        case 'f': o->force = 1; break;
        case 'n': o->numeric = 1; break;
        case 'q': o->quiet = 1; break;
        case OPT_JSON: o->json = optarg; break;
        case SX_OPT_ZSTD: o->zstd = 1; break;
        case 'h': sx_help(usage_text);
        case SX_OPT_VERSION: sx_version();
        default: sx_bad_option(c, argv);
        }
    }
    o->inputs = argv + optind;
    o->ninputs = argc - optind;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct display {
    enum mode mode;
    int color, last_len;
    FILE *json;
    double interval, next_at;
};

static int term_width(void)
{
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

static void draw(struct display *d, sx_meter *m, double now, int final)
{
    switch (d->mode) {
    case MODE_BAR: {
        char buf[512];
        int w = term_width() - 1;
        int len = (int)sx_meter_bar(m, now, w, d->color, buf, sizeof buf);
        int visible = len - (d->color && sx_meter_failed(m) ? 9 : 0);
        /* pad over what the previous line left */
        fprintf(stderr, "\r%s%*s", buf, d->last_len > visible ? d->last_len - visible : 0, "");
        d->last_len = visible;
        if (final)
            fputc('\n', stderr);
        break;
    }
    case MODE_LINES: {
        char *s = sx_meter_lines(m, now, final, SX_METER_PROGRESS | SX_METER_METRICS);
        if (s)
            fputs(s, stderr);
        free(s);
        break;
    }
    case MODE_NUMERIC: {
        double p = sx_meter_percent(m);
        if (p >= 0)
            fprintf(stderr, "%d\n", (int)p);
        break;
    }
    case MODE_QUIET:
        break;
    }
    fflush(stderr);
}

static void json_append(struct display *d, const char *line, size_t len)
{
    if (d->json) {
        fwrite(line, 1, len, d->json);
        fputc('\n', d->json);
    }
}

static void json_snapshot(struct display *d, sx_meter *m)
{
    if (!d->json)
        return;
    jv snap = sx_meter_snapshot(m);
    if (jv_get_kind(snap) == JV_KIND_OBJECT) {
        jv s = jv_dump_string(snap, 0);
        json_append(d, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
        jv_free(s);
    } else {
        jv_free(snap);
    }
    fflush(d->json);
}

/* Redraws when the interval has passed. */
static void tick(struct display *d, sx_meter *m, double now)
{
    if (now < d->next_at)
        return;
    draw(d, m, now, 0);
    json_snapshot(d, m);
    d->next_at = now + d->interval;
}

/* Strips what the raw reader kept: BOM at line 1, "\r\n", leading blanks. */
static const char *record_bytes(const char *p, size_t *n, uint64_t lineno)
{
    if (lineno == 1 && *n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        *n -= 3;
    }
    while (*n && (p[*n - 1] == '\n' || p[*n - 1] == '\r'))
        (*n)--;
    while (*n && (*p == ' ' || *p == '\t')) {
        p++;
        (*n)--;
    }
    return p;
}

int main(int argc, char **argv)
{
    sx_cli_init("sx-progress");
    struct opts o = {0};
    parse_options(&o, argc, argv);

    struct display d = {0};
    int tty = isatty(2);
    d.mode = o.quiet ? MODE_QUIET : o.numeric ? MODE_NUMERIC : (tty || o.force) ? MODE_BAR : MODE_LINES;
    d.color = d.mode == MODE_BAR && tty && !getenv("NO_COLOR");
    d.interval = o.interval >= 0 ? o.interval : d.mode == MODE_BAR ? 0.2 : 5;
    if (o.json) {
        int fd = open(o.json, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (fd < 0 || !(d.json = fdopen(fd, "a")))
            sx_die(SX_EXIT_FAIL, "cannot open '%s': %s", o.json, strerror(errno));
    }

    sx_reader *in = sx_reader_open(o.inputs, o.ninputs, SX_READ_RAW);
    sx_writer *out = sx_writer_open(o.output, o.zstd);
    const char *outname = o.output ? o.output : "stdout";
    if (!in)
        sx_die(SX_EXIT_FAIL, "out of memory");
    if (!out)
        sx_die(SX_EXIT_FAIL, "cannot write '%s': %s", o.output, strerror(errno));
    /* a person at a terminal wants the result, not a thousand records */
    int terse = (!o.output || !strcmp(o.output, "-")) && isatty(1);
    sx_buf held = {0}; /* result records, written after the bar's last line */
    double t = now_s();
    sx_meter *m = sx_meter_new(t);
    d.next_at = t + (d.mode == MODE_LINES ? d.interval : 0);

    const char *line;
    size_t len;
    uint64_t pending = 0, run;
    int k;
    while ((k = sx_reader_run(in, &line, &len, &run)) > 0) {
        if (k == 1) { /* data records only: counted, forwarded whole */
            if ((pending += run) >= 256) { /* look at the clock now and then */
                t = now_s();
                sx_meter_data(m, pending, t);
                pending = 0;
                tick(&d, m, t);
            }
            if (!terse && sx_writer_write(out, line, len) < 0)
                sx_write_failed(outname);
            goto maybe_wait;
        }
        size_t n = len;
        const char *p = record_bytes(line, &n, sx_reader_lineno(in));
        int forward = !terse;
        int hold = 0;
        if (n > 0) {
            if (*p != '{')
                sx_die_at(SX_EXIT_FAIL, sx_reader_name(in), sx_reader_lineno(in),
                          "not a JSON object: an sx stream is NDJSON, one object a line");
            sx_kind kind = sx_proto_kind(p, n);
            if (kind == SX_DATA) {
                if ((++pending & 255) == 0) { /* look at the clock now and then */
                    t = now_s();
                    sx_meter_data(m, pending, t);
                    pending = 0;
                    tick(&d, m, t);
                }
            } else {
                /* on a terminal the result waits for the bar's last line, which stderr shares */
                hold = terse && kind == SX_RESULT;
                t = now_s();
                if (pending) {
                    sx_meter_data(m, pending, t);
                    pending = 0;
                }
                jv rec = jv_parse_sized(p, (int)(n < INT32_MAX ? n : 0));
                if (jv_get_kind(rec) == JV_KIND_OBJECT) {
                    sx_meter_control(m, kind, rec, t);
                    if (kind == SX_PROGRESS || kind == SX_METRICS)
                        json_append(&d, p, n);
                }
                jv_free(rec);
                tick(&d, m, t);
            }
        }
        if (forward && sx_writer_write(out, line, len) < 0)
            sx_write_failed(outname);
        if (hold && sx_buf_put(&held, line, len) < 0)
            sx_die(SX_EXIT_FAIL, "out of memory");
    maybe_wait:
        if (sx_reader_pending(in) == 0) {
            /* input may block: pass on what we have, keep the display live */
            if (sx_writer_flush(out) < 0)
                sx_write_failed(outname);
            t = now_s();
            if (pending) {
                sx_meter_data(m, pending, t);
                pending = 0;
            }
            for (;;) {
                tick(&d, m, t);
                int ms = (int)((d.next_at - t) * 1000) + 1;
                if (sx_reader_wait(in, ms < 1 ? 1 : ms))
                    break;
                t = now_s();
            }
        }
    }
    t = now_s();
    if (pending)
        sx_meter_data(m, pending, t);
    if (!terse && sx_writer_close(out) < 0) /* downstream sees the end at once */
        sx_write_failed(outname);
    int status = SX_EXIT_OK;
    if (k < 0) {
        sx_warn_at(sx_reader_name(in), sx_reader_lineno(in) + 1, "%s", sx_reader_error(in));
        status = SX_EXIT_FAIL;
    } else if (sx_reader_records(in) > 0) {
        draw(&d, m, t, 1);
        json_snapshot(&d, m);
        if (d.mode == MODE_BAR || d.mode == MODE_LINES) {
            char *s = sx_meter_summary(m, t);
            if (d.mode == MODE_BAR) { /* the bar already showed the progress */
                char *lines = sx_meter_lines(m, t, 1, SX_METER_METRICS);
                if (lines)
                    fputs(lines, stderr);
                free(lines);
            }
            if (s)
                fprintf(stderr, "sx-progress: %s\n", s);
            free(s);
        }
        if (!sx_reader_complete(in)) {
            if (sx_reader_saw_control(in))
                sx_warn("%s: the upstream was cut short: the stream ended without its end record",
                        sx_reader_cut_name(in));
            else
                sx_warn("%s: " SX_PLAIN_ITEMS_HINT "; sx-progress passed them on", sx_reader_cut_name(in));
            status = SX_EXIT_FAIL;
        }
    } else if (!o.quiet) {
        sx_warn("the input is empty: nothing came from the stage before (did it fail? a stream of sx-fetch "
                "has a meta and an end record even for an empty listing)");
    }
    if (terse) {
        if (held.len && sx_writer_write(out, held.p, held.len) < 0)
            sx_write_failed(outname);
        if (sx_writer_close(out) < 0)
            sx_write_failed(outname);
    }
    free(held.p);
    if (d.json && fclose(d.json) != 0) {
        sx_warn("%s: write error: %s", o.json, strerror(errno));
        status = SX_EXIT_FAIL;
    }
    sx_meter_free(m);
    sx_reader_free(in);
    return status;
}
