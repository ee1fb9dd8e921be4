/*
 * sx_pager.h : a whole DRF-paginated listing, fetched concurrently and handed
 * out strictly in page order.
 *
 * The first page of the listing (page 1, or page I of shard I/N) is fetched
 * alone: its `count` gives the expected total, handed to the `begin`
 * callback, then its records. The following pages are fetched by number,
 * `jobs` at a time with the libcurl multi interface (one connection pool,
 * kept alive), and handed out in order as soon as the page before them was;
 * at most `jobs` pages are held in memory (in flight or waiting their turn).
 *
 * The end of the listing is a page whose `next` is null, never `count`
 * alone: pages past the expected last one are asked for only when the page
 * before said there was a next one (items added during the export are not
 * lost), and a page past the end (404 "Invalid page.") ends the listing
 * (a listing that shrank does not hang). Pages fetched speculatively past the
 * end are dropped unseen. A page is never handed out twice, never skipped:
 * a failed page is retried (backoff with jitter, Retry-After honoured), and
 * when it fails for good, nothing after it is handed out.
 *
 * The backend is not trusted to end its listing: a `next` link that repeats
 * an earlier one, or a page that says there is a next one although its own
 * `count` makes it the last, stops the listing as a backend failure instead
 * of looping; an answer larger than max_page_bytes is refused unparsed.
 */
#ifndef SX_PAGER_H
#define SX_PAGER_H

#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#include "sx_http.h"

typedef struct sx_pager_opts {
    const sx_conn *conn;  /* borrowed */
    sx_http_opts http;
    const char *path;     /* listing path, e.g. "sdk/assignments/" */
    const char *query;    /* query without page (may be "" or NULL) */
    unsigned page_size;   /* the page_size the query asks for (to number pages) */
    unsigned jobs;        /* pages in flight at most, >= 1 */
    unsigned shard_i;     /* 1-based shard index; 0 or 1 with shard_n 1: whole listing */
    unsigned shard_n;     /* shard count (0 or 1: no sharding) */
    uint64_t limit;       /* records at most (0: no limit) */
    size_t max_page_bytes; /* a larger answer (after decompression) fails
                              the listing (0: SX_PAGER_MAX_PAGE_BYTES) */
} sx_pager_opts;

#define SX_PAGER_MAX_PAGE_BYTES ((size_t)256 << 20)

typedef struct sx_pager_cb {
    /*! begin() : once, before any record: `total` is the expected number of
     *  records (from count, shard and limit). @return 0, or -1 to stop. */
    int (*begin)(void *ctx, uint64_t total);
    /*! record() : one record, in listing order, as the backend's JSON text
     *  of one object (validated; it may hold whitespace between tokens, see
     *  sx_json_compact()), valid during the call. Pages are never parsed
     *  into jv values: a stage that forwards records need not parse them.
     *  @return 0, or -1 to stop. */
    int (*record)(void *ctx, const char *rec, size_t len);
    /*! page_done() : after the records of each page (may be NULL): the time
     *  to flush, so that the stream flows downstream page by page.
     *  @return 0, or -1 to stop. */
    int (*page_done)(void *ctx);
} sx_pager_cb;

enum {
    SX_PAGER_OK = 0,
    SX_PAGER_BACKEND = -1,  /* the backend failed for good; message in err */
    SX_PAGER_AUTH = -2,     /* 401/403; message in err names SYNAPSE_ACCESS_TOKEN */
    SX_PAGER_STOPPED = -3,  /* a callback returned -1; err untouched */
    SX_PAGER_NOMEM = -4
};

/*! sx_pager_run() :
 *  Fetches the listing and calls `cb` for it. @return SX_PAGER_OK after the
 *  last record (begin() was called, even for an empty listing), or one of
 *  the negative codes, with "cannot list 'PATH': HTTP 503 after 6 tries
 *  (page 3)" or similar in err (never the token). */
int sx_pager_run(const sx_pager_opts *o, const sx_pager_cb *cb, void *ctx, char *err, size_t errlen);

/*! sx_pager_shard_total() : the records of shard I/N (pages I, I+N, ...) of
 *  a listing of `count` records in pages of `page_size`. */
uint64_t sx_pager_shard_total(uint64_t count, unsigned page_size, unsigned shard_i, unsigned shard_n);

/*
 * JSON text without jv: what the pager needs to check a page and hand out its
 * records, and what a mapping that only picks fields needs (sx_target.h).
 * Faster than a parse by an order of magnitude, and exact: numbers and
 * strings are passed on as the backend wrote them.
 */

/*! sx_json_scan() : validates the JSON value starting at `p` (after
 *  whitespace) as libjq reads it, so that a page it passes is one every
 *  later stage reads: what libjq refuses is refused (syntax, escapes,
 *  control characters, a high surrogate without its low half, nesting
 *  deeper than libjq's 256), what libjq repairs passes (bytes that are not
 *  UTF-8 and a lone low surrogate, read as U+FFFD). libjq's extensions of
 *  JSON are refused: nan, Infinity, numbers such as 01, .5 or +1, a raw
 *  U+0000 or U+001F in a string, a BOM, RS bytes (JSON text sequences).
 *  @return the end of the value, or NULL when it is not such a value. */
const char *sx_json_scan(const char *p, const char *end);

/*! sx_json_member() : the value of member `key` of the object text `obj`
 *  (validated, starting with '{' after whitespace); the last one when the
 *  key is repeated, as jq does. @return 1 with *v, *vlen set; 0 when absent;
 *  -1 when unsure (a key with escapes, or with bytes that are not UTF-8:
 *  jq may read it as another spelling of `key`). */
int sx_json_member(const char *obj, size_t len, const char *key, const char **v, size_t *vlen);

/*! sx_json_members() : sx_json_member() of n keys (at most 16) in one walk.
 *  @return 0 with found[i] (1 or 0), v[i] and vlen[i] set for each key;
 *  -1 when unsure (a key with escapes) or malformed. */
int sx_json_members(const char *obj, size_t len, int n, const char *const *keys, int *found, const char **v,
                    size_t *vlen);

/*! sx_json_first() : jq's `to_entries[0].value` of the object text `obj`:
 *  the value of its first key, which is the last member of that key when
 *  the key repeats (jq keeps a key where it first came, with its last
 *  value). @return 1 with *v, *vlen set; 0 for {}; -1 when unsure (as for
 *  sx_json_member()) or malformed. */
int sx_json_first(const char *obj, size_t len, const char **v, size_t *vlen);

/*! sx_json_compact() : copies the JSON text p[0..len) to `out` (len bytes at
 *  least) without whitespace between tokens. @return the bytes written. */
size_t sx_json_compact(const char *p, size_t len, char *out);

#endif
