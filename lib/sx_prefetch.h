/*
 * sx_prefetch.h : sx-download's engine: fetches the media of every item of a
 * stream into one spool directory before any converter sees the item, so
 * that a converter only ever sees items whose image is on disk, and an index
 * can never name a file the export lacks.
 *
 * An item ({"id", "files": {"url", …}, "data"}) whose files.url is http or
 * https is downloaded (sx_download.h: parallel, retried, no credential) into
 * the spool directory and written with files.path set to the spooled file
 * (and files.width/height from the image header, sx_imgsize.h, when the item
 * has no positive numbers there). An item whose download fails, or whose URL
 * is not http(s), is not written: an `error` record takes its place. Other
 * records pass through byte for byte: control records (`meta` amended with
 * the spool directory's path; `end` replaced by one counting the data
 * records written), items without files.url or with null (or no) data, and
 * data records that are not objects with an id.
 *
 * Output order is input order. Up to `window` records are held while their
 * downloads run; a record is written as soon as every record before it is.
 * Memory depends on the window, never on the number of items or the size of
 * the files (they stream to disk).
 *
 * The spool directory and its files are handed over to the pipeline when a
 * run ends cleanly (the stream's `meta` names it: sx-save removes it at its
 * end). On every other outcome the run removes them before it returns.
 *
 * The library never prints: sx_prefetch_run() returns a status and leaves a
 * message in sx_prefetch_error().
 */
#ifndef SX_PREFETCH_H
#define SX_PREFETCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sx_download.h"
#include "sx_feed.h"
#include "sx_stream.h"

typedef struct sx_prefetch sx_prefetch;

typedef struct {
    const char *spool;     /* the spool directory (absolute; made by
                              sx_spool_dir_create(), empty); borrowed */
    int window;            /* records held at most (>= 1): each one being
                              downloaded holds an open file */
    int keep_going;        /* a line that is not JSON becomes an error
                              record instead of stopping the run */
    sx_dl_opts dl;
} sx_prefetch_opts;

typedef enum {
    SX_PREFETCH_DONE,      /* the stream was copied and its end written */
    SX_PREFETCH_EMPTY,     /* the input held no record: nothing written */
    SX_PREFETCH_FAILED,    /* bad input, a cut stream, I/O: see the error */
    SX_PREFETCH_STOPPED,   /* *stop was set */
    SX_PREFETCH_CLOSED     /* the output was a pipe and its reader left */
} sx_prefetch_status;

/*! sx_prefetch_new() : @o borrowed, must outlive the run.
 *  @return the engine, or NULL with a message in err (out of memory, the
 *          spool directory cannot be opened, libcurl does not start). */
sx_prefetch *sx_prefetch_new(const sx_prefetch_opts *o, char *err, size_t errlen);

/*! sx_prefetch_run() : reads the records of `feed`, writes the stream to
 *  `out`, until the input ends, *stop is set, or a failure. Every outcome
 *  but DONE removes the spool directory and the files in it, and writes no
 *  end record; EMPTY removes the (empty) directory too.
 *  @r      the reader behind the feed (borrowed; asked, once the feed has
 *          ended, whether every input ended with an end record)
 *  @input  the input's name for messages (borrowed). */
sx_prefetch_status sx_prefetch_run(sx_prefetch *p, sx_feed *feed, sx_reader *r, sx_writer *out,
                                   volatile sig_atomic_t *stop, const char *input);

/*! sx_prefetch_error() : why the run failed; sx_prefetch_error_line() the
 *  input line it names, or 0. */
const char *sx_prefetch_error(const sx_prefetch *p);
uint64_t sx_prefetch_error_line(const sx_prefetch *p);

/*! sx_prefetch_counts() : data records written, files downloaded, items
 *  whose download failed or was refused (each an error record). */
void sx_prefetch_counts(const sx_prefetch *p, uint64_t *written, uint64_t *downloaded, uint64_t *failed);

/*! sx_prefetch_interrupt() : for a signal handler (async-signal-safe). When
 *  the run is blocked writing its output (a downstream that does not read)
 *  it cannot see *stop: this removes the spool directory and the files in
 *  it now and returns 1, and the caller must _exit() at once. @return 0
 *  otherwise: the run sees *stop and cleans up itself. */
int sx_prefetch_interrupt(sx_prefetch *p);

/*! sx_prefetch_free() : aborts unfinished downloads and frees. NULL
 *  accepted. */
void sx_prefetch_free(sx_prefetch *p);

#endif
