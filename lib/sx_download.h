/*
 * sx_download.h : many downloads at once, each streamed into a file
 * descriptor the caller owns (libcurl multi interface).
 *
 * At most `jobs` transfers run at a time; more wait in a queue. A transfer
 * is retried with backoff (sx_retry.h) on 408/425/429/5xx answers, time-outs,
 * refused or reset connections and bodies cut short, honouring Retry-After;
 * a body cut short is continued with a range request unless the server
 * said `Accept-Ranges: none` (a 206 answer continues the file only when its
 * Content-Range starts where the file stops and agrees on the total size;
 * any other 206, and a 206 to a request for the whole file, is dropped and
 * the next try starts over; a 200 answer starts it over). A
 * non-2xx answer is a failure and its body is never written. Only http
 * and https URLs are fetched, redirects included (a file: URL would read
 * any local file, /proc/self/environ and the token with it). No
 * authentication header or credential of any kind is sent. The bytes are
 * written with pwrite() as they arrive and hashed on the way (SHA-256), so
 * memory does not depend on file size; `size` and `sha256` are checked when
 * given.
 *
 * The library never prints: outcomes come back through sx_dl_done_fn.
 */
#ifndef SX_DOWNLOAD_H
#define SX_DOWNLOAD_H

#include <stdint.h>

typedef struct sx_dl sx_dl;

typedef struct {
    int jobs;              /* transfers at once (1..256) */
    int tries;             /* tries per URL, first included (>= 1) */
    long backoff_ms;       /* first retry waits about this long (doubling) */
    long backoff_max_ms;   /* cap of one wait (Retry-After included) */
    long timeout_ms;       /* per try, 0: none */
    long connect_timeout_ms;
    long stall_s;          /* a try slower than 1 KB/s for this long is
                              abandoned and retried (0: never) */
} sx_dl_opts;

typedef struct {
    void *user;            /* as given to sx_dl_add() */
    int ok;                /* 1: every byte written, checks passed */
    int disk_errno;        /* non-zero: writing the file failed (ENOSPC,
                              EFBIG, …); the caller should stop everything */
    long status;           /* last HTTP status (0 for file URLs) */
    int tries;
    int64_t size;          /* bytes in the file */
    char sha256[65];       /* their digest, when ok */
    char error[256];       /* why it failed, when !ok */
} sx_dl_result;

/*! sx_dl_done_fn : called once per sx_dl_add(), from sx_dl_run(). @r is
 *  valid during the call; the caller may close the descriptor now. */
typedef void (*sx_dl_done_fn)(void *ud, const sx_dl_result *r);

/*! sx_dl_opts_default() : jobs 8, 5 tries, 500 ms to 30 s backoff, no
 *  overall time-out, 30 s to connect, a stall after 30 s under 1 KB/s. */
sx_dl_opts sx_dl_opts_default(void);

/*! sx_dl_new() : @return a downloader, or NULL (out of memory, libcurl
 *  failed to start). */
sx_dl *sx_dl_new(const sx_dl_opts *o);

/*! sx_dl_url_ok() : NULL when `url` has a scheme sx fetches, else a static
 *  message. */
const char *sx_dl_url_ok(const char *url);

/*! sx_dl_add() : queues the download of `url` into `fd` (open for writing,
 *  empty; borrowed: it must stay open until the done callback).
 *  @size  expected size or -1; @sha256 expected hex digest or NULL (copied).
 *  @return 0, or -1 when out of memory. */
int sx_dl_add(sx_dl *d, const char *url, int fd, int64_t size, const char *sha256, void *user);

/*! sx_dl_pending() : downloads added and not yet reported done. */
int sx_dl_pending(const sx_dl *d);

/*! sx_dl_run() : does what can be done now, waiting at most `timeout_ms`
 *  for network activity, a retry coming due, or one of the `nwake`
 *  descriptors `wake` (borrowed; -1 entries ignored) becoming readable (they
 *  are not read). Calls `done` for every finished download.
 *  @return 0, or -1 when libcurl fails as a whole. */
int sx_dl_run(sx_dl *d, const int *wake, int nwake, int timeout_ms, sx_dl_done_fn done, void *ud);

/*! sx_dl_free() : aborts what is unfinished (no callbacks) and frees. */
void sx_dl_free(sx_dl *d);

#endif
