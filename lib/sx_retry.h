/*
 * sx_retry.h : when and how long to wait before trying an HTTP request again.
 * Shared by sx-fetch (pages) and sx-save (downloads) so both treat a flaky
 * server the same way: exponential backoff with full jitter, capped, and a
 * server's Retry-After honoured.
 */
#ifndef SX_RETRY_H
#define SX_RETRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <curl/curl.h>

/*! sx_retry_status() : 1 when an HTTP status is worth another try (408, 425,
 *  429, 500, 502, 503, 504), 0 otherwise. */
int sx_retry_status(long status);

/*! sx_retry_backoff_ms() : the wait before try number `attempt` (1 for the
 *  first retry): a random value in [d/2, d] where d = base_ms * 2^(attempt-1)
 *  capped at max_ms. @seed  state of the caller's generator (updated). */
long sx_retry_backoff_ms(int attempt, long base_ms, long max_ms, uint64_t *seed);

/*! sx_retry_after_ms() : a Retry-After header value (delta seconds or an
 *  HTTP date) as milliseconds from `now`; 0 for a date in the past; -1 when
 *  the value is neither. */
long sx_retry_after_ms(const char *value, time_t now);

/*! sx_retry_limit() : the retries a transfer that failed with `rc` gets, at
 *  most `retries`: none when the host name does not resolve (the resolver
 *  has retried already, and a wrong name stays wrong), one when the
 *  connection was refused or the host is unreachable (a server restarting
 *  gets a second chance, a wrong port does not cost 12 s of backoff),
 *  `retries` otherwise (timeouts, resets, HTTP statuses). */
int sx_retry_limit(CURLcode rc, int retries);

/*! sx_retry_gave_up() : appends to `msg` (NUL-terminated, in a buffer of n
 *  bytes) how the tries of a request that is given up went: " after 3
 *  tries"; "; not retried" or "; retried once" when `rc` capped the retries
 *  (sx_retry_limit() below `retries`); nothing after the single try that
 *  `retries` 0 allows. @tries  the tries made, 1 or more. */
void sx_retry_gave_up(char *msg, size_t n, CURLcode rc, int tries, int retries);

#endif
