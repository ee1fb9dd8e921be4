/*
 * sx_export.h : sx-save's engine: turns `file` records into an export
 * directory that is all-or-nothing.
 *
 * Every file is written under a temporary name in its directory, fsync'd,
 * and renamed into place without replacing anything; every directory and
 * file is recorded in the write-ahead manifest (sx_manifest.h) before it
 * appears. Text records (with `append` chunks) are written as they come,
 * `src` records copied or hard-linked (`link`) from under the roots the user
 * named (sx_roots.h), or moved (`move`) out of an sx spool (sx_spool.h),
 * `url` records (http and https only) downloaded in parallel
 * (sx_download.h) while the stream goes on.
 * The export is committed only after the upstream `end` arrived and every
 * file is in place; any failure before that (a cut stream, a bad record, a
 * full disk, a stop request) removes everything created, in reverse order.
 *
 * Per-item outcome follows the SDK: log/metrics/progress records on the
 * output, a failed file fails its item (the item's other files are removed)
 * but not the export, unless `strict`; error_file_list.json when anything
 * failed; export.json and a `result` record at the end.
 *
 * Memory is bounded whatever the number of files (lib/README.md): the
 * manifest is kept on disk only and read back to roll back; duplicate paths
 * are found with a Bloom filter of a fixed size whose yes is checked (files
 * on their way, the exact set of failed paths, the file system, the run's
 * manifest), never trusted; items live in a window of the 8192 most recent.
 * --resume reads the earlier runs' records back from a table sorted on
 * disk. What grows is per failed file (error_file_list.json and its path).
 *
 * The library never prints; sx_export_run() returns a status and leaves a
 * message in sx_export_error().
 */
#ifndef SX_EXPORT_H
#define SX_EXPORT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sx_download.h"
#include "sx_feed.h"
#include "sx_stream.h"

/* An extra file placed in the export at the end, under the same manifest
 * (rolled back with it): the SDK's additional_file_saving. */
typedef struct {
    const char *path;      /* where, relative to DIR (checked by the caller) */
    const char *src;       /* --add: a local regular file, copied; or NULL */
    struct sx_jqprog *jq;  /* --add-json: run on the result (with "meta"),
                              its first output written as JSON; borrowed */
} sx_export_extra;

typedef struct {
    const char *dir;       /* -o DIR */
    int force;             /* write into an existing non-empty DIR */
    int resume;            /* continue the export recorded in DIR */
    int unique;            /* DIR exists: use DIR(1), DIR(2), … */
    int link;              /* hard-link `src` files instead of copying */
    int strict;            /* any failed file fails the export */
    int keep_going;        /* skip non-file data records with an error record */
    int no_sync;           /* skip fsync (tests, throw-away exports) */
    const char *const *allow_src; /* --allow-src: directories `src` records
                              may read from, besides the `src_roots` of the
                              stream's meta record (sx_roots.h); borrowed */
    size_t nallow_src;
    sx_dl_opts dl;
    const sx_export_extra *extras; /* borrowed */
    size_t nextras;
} sx_export_opts;

typedef enum {
    SX_EXPORT_DONE = 0,    /* committed (some items may have failed) */
    SX_EXPORT_FAILED,      /* rolled back: bad input, I/O, cut stream */
    SX_EXPORT_NETWORK,     /* rolled back: a download failed under strict */
    SX_EXPORT_STOPPED      /* rolled back: *stop became non-zero */
} sx_export_status;

typedef struct sx_export sx_export;

/*! sx_export_open() : prepares DIR (created when missing, refused when it
 *  holds anything and neither force nor resume is set; with resume, the
 *  manifest is loaded and what a crash left half-done is removed).
 *  @o      borrowed (strings too) for the life of the export.
 *  @return the export, or NULL with a message in err. */
sx_export *sx_export_open(const sx_export_opts *o, char *err, size_t errlen);

/*! sx_export_dir() : the directory written (DIR, or DIR(n) with unique). */
const char *sx_export_dir(const sx_export *e);

/*! sx_export_run() : reads `feed` to its end, writing log, metrics,
 *  progress, forwarded control records, then `result` and `end` to `out`
 *  (borrowed), and commits; or rolls back. `stop` (borrowed, may be NULL) is
 *  polled: non-zero stops the run (a signal handler sets it and calls
 *  sx_feed_wake()). @input names the input in messages ("<stdin>").
 *  @return the outcome; details from the functions below. */
sx_export_status sx_export_run(sx_export *e, sx_feed *feed, sx_writer *out, volatile sig_atomic_t *stop,
                               const char *input);

/*! sx_export_error() : what went wrong ("" when nothing did);
 *  sx_export_error_line() its input line (0: not tied to a line). */
const char *sx_export_error(const sx_export *e);
uint64_t sx_export_error_line(const sx_export *e);

/*! sx_export_removed() : after a rollback, files and directories removed;
 *  sx_export_rollback_failed() 1 when the rollback itself left something
 *  (its reason is appended to the error message). */
size_t sx_export_removed(const sx_export *e);
int sx_export_rollback_failed(const sx_export *e);

/*! sx_export_counts() : items exported and failed, and failed files. */
void sx_export_counts(const sx_export *e, uint64_t *exported, uint64_t *failed, uint64_t *failed_files);

/*! sx_export_link_copies() : files a `link` record or --link asked to
 *  hard-link that were copied instead (another file system, a link count
 *  at its limit, a file system without hard links), and in *why the
 *  reason of the first (strerror; "" when none). */
uint64_t sx_export_link_copies(const sx_export *e, const char **why);

/*! sx_export_failures() : the failed items by reason (each item once, by
 *  its first failure; the total is the result's failed_count).
 *  sx_export_warnings() : the warnings by reason: annotations left out
 *  (ignored 0) or parts ignored (ignored 1). Both live as long as e. */
struct sx_tally;
const struct sx_tally *sx_export_failures(const sx_export *e);
const struct sx_tally *sx_export_warnings(const sx_export *e, int ignored);

/*! sx_export_free() : frees (nothing on disk is changed). NULL accepted. */
void sx_export_free(sx_export *e);

/*! sx_export_rollback_dir() : `sx-save --rollback DIR`: undoes the export
 *  recorded in DIR's manifest, committed or not, and removes DIR when the
 *  export created it and it is empty.
 *  @return 0, or -1 with a message in err. */
int sx_export_rollback_dir(const char *dir, size_t *removed, char *err, size_t errlen);

#endif
