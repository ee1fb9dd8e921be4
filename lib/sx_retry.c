#include "sx_retry.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sx_retry_status(long status)
{
    switch (status) {
    case 408: case 425: case 429: case 500: case 502: case 503: case 504:
        return 1;
    default:
        return 0;
    }
}

static uint64_t next_random(uint64_t *s)
{
    /* splitmix64: small, good enough for jitter */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

long sx_retry_backoff_ms(int attempt, long base_ms, long max_ms, uint64_t *seed)
{
    long d = base_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    if (d <= 1)
        return d;
    long half = d / 2;
    return half + (long)(next_random(seed) % (uint64_t)(d - half + 1));
}

long sx_retry_after_ms(const char *v, time_t now)
{
    if (!v)
        return -1;
    while (isspace((unsigned char)*v))
        v++;
    if (isdigit((unsigned char)*v)) {
        char *end;
        long s = strtol(v, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end || s < 0 || s > 86400)
            return -1;
        return s * 1000;
    }
    /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *e = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!e)
        return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return t <= now ? 0 : (long)(t - now) * 1000;
}

int sx_retry_limit(CURLcode rc, int retries)
{
    int cap = retries;
    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY)
        cap = 0;
    else if (rc == CURLE_COULDNT_CONNECT)
        cap = 1;
    return cap < retries ? cap : retries;
}

void sx_retry_gave_up(char *msg, size_t n, CURLcode rc, int tries, int retries)
{
    size_t l = strlen(msg);
    if (l + 1 >= n)
        return;
    if (sx_retry_limit(rc, retries) < retries && tries <= 2)
        snprintf(msg + l, n - l, tries <= 1 ? "; not retried" : "; retried once");
    else if (tries > 1)
        snprintf(msg + l, n - l, " after %d tries", tries);
}
