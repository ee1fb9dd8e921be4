/*
 * sx_pager.h : a whole paginated listing of the backend, fetched
 * concurrently when it can be and handed out strictly in page order.
 *
 * The first page of the listing (page 1, or page I of shard I/N) is fetched
 * alone; its `next` link decides how the listing goes on, as the backend
 * pages it:
 *   - DRF page-number links (the request's own URL with page=N+1): the
 *     following pages are fetched by number, `jobs` at a time with the
 *     libcurl multi interface (one connection pool, kept alive), and handed
 *     out in order as soon as the page before them was; at most `jobs`
 *     pages are held in memory (in flight or waiting their turn). `count`
 *     gives the expected total;
 *   - anything else (DRF's cursor pagination, limit/offset, a paginator of
 *     its own): `next` is followed, one page at a time. A shard I/N walks
 *     the whole listing and hands out pages I, I+N, ... only; the total is
 *     unknown unless the pages carry a `count`.
 * A `next` link is moved onto the configured host when its origin differs
 * only by scheme or host name, and refused otherwise (sx_conn_rebase()):
 * the token goes to the configured host only. Redirects are followed on the
 * configured host's origin (sx_conn_redirect()), 10 in a row at most.
 *
 * The end of the listing is a page whose `next` is null, never `count`
 * alone: pages past the expected last one are asked for only when the page
 * before said there was a next one (items added during the export are not
 * lost), and a page past the end (404 "Invalid page.") ends a page-number
 * listing (a listing that shrank does not hang). Pages fetched
 * speculatively past the end are dropped unseen. A page is never handed out
 * twice, never skipped: a failed page is retried (backoff with jitter,
 * Retry-After honoured), and when it fails for good, nothing after it is
 * handed out.
 *
 * The backend is not trusted to end its listing: a `next` link that repeats
 * an earlier one, a page without records that has a `next` link, a page
 * that says there is a next one although its own `count` makes it the last,
 * or a page-number listing whose links stop being page links, stops the
 * listing as a backend failure instead of looping; an answer larger than
 * max_page_bytes is refused unparsed. (A cursor listing without `count`
 * that keeps inventing new links to new records is bounded only by
 * `limit`.)
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

/* begin()'s total when the listing does not say (no `count`). */
#define SX_PAGER_TOTAL_UNKNOWN UINT64_MAX

typedef struct sx_pager_cb {
    /*! begin() : once, before any record: `total` is the expected number of
     *  records (from count, shard and limit), or SX_PAGER_TOTAL_UNKNOWN.
     *  @return 0, or -1 to stop. */
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
    SX_PAGER_AUTH = -2,     /* 401/403; message in err names where the token came from */
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
