/*
 * sx_feed.h : an input stream read on its own thread, so that a program
 * waiting for network events (sx-save's downloads) is never stuck in a read
 * of standard input, and a slow upstream never stalls its transfers.
 *
 * The thread reads lines with sx_reader_next() and queues copies (at most
 * `max_lines`, the reader then waits: memory stays bounded); the main thread
 * takes them with sx_feed_next() without blocking and waits for new ones by
 * polling sx_feed_fd(). sx_feed_wake() makes that descriptor readable from
 * anywhere, a signal handler included (it only calls write(2)).
 */
#ifndef SX_FEED_H
#define SX_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "sx_stream.h"

typedef struct sx_feed sx_feed;

typedef struct {
    char *line;        /* NUL-terminated copy; the caller frees it */
    size_t len;
    uint64_t lineno;   /* sx_reader_lineno() of the line */
} sx_feed_line;

/*! sx_feed_start() : starts reading `r` (borrowed, used only by the thread
 *  until sx_feed_next() returned -1). Blocks the caller's signals in the
 *  thread. @return the feed, or NULL with errno. */
sx_feed *sx_feed_start(sx_reader *r, size_t max_lines);

/*! sx_feed_fd() : a descriptor that polls readable when there may be a
 *  line or the end to take (or sx_feed_wake() was called). */
int sx_feed_fd(const sx_feed *f);

/*! sx_feed_wake() : makes sx_feed_fd() readable. Async-signal-safe. */
void sx_feed_wake(sx_feed *f);

/*! sx_feed_next() : takes the next line without waiting.
 *  @return 1 with a line, 0 when none is there yet, -1 at the end of the
 *          input (then sx_feed_failed() tells how it ended). */
int sx_feed_next(sx_feed *f, sx_feed_line *out);

/*! sx_feed_failed() : after -1: 0 at a clean end of input, 1 when the
 *  reader failed (message from sx_feed_error(), at line sx_feed_lineno()). */
int sx_feed_failed(const sx_feed *f);
const char *sx_feed_error(const sx_feed *f);
uint64_t sx_feed_lineno(const sx_feed *f);

/*! sx_feed_free() : after sx_feed_next() returned -1: joins the thread and
 *  frees. Before that (the program is leaving early) it only frees what is
 *  safe and leaves the thread to the process exit. NULL accepted. */
void sx_feed_free(sx_feed *f);

#endif
