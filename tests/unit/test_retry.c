/* Unit tests of backoff and Retry-After (lib/sx_retry.h). */
#include "sx_retry.h"

#include <string.h>
#include "unit.h"

static void test_backoff_grows_and_caps(void)
{
    uint64_t seed = 42;
    for (int i = 0; i < 50; i++) {
        long a = sx_retry_backoff_ms(1, 200, 10000, &seed);
        long c = sx_retry_backoff_ms(3, 200, 10000, &seed);
        long z = sx_retry_backoff_ms(30, 200, 10000, &seed);
        CHECK(a >= 100 && a <= 200);
        CHECK(c >= 400 && c <= 800);
        CHECK(z >= 5000 && z <= 10000);
    }
}

static void test_retry_after(void)
{
    CHECK(sx_retry_after_ms("3", 0) == 3000);
    CHECK(sx_retry_after_ms(" 0 ", 0) == 0);
    CHECK(sx_retry_after_ms("soon", 0) == -1);
    CHECK(sx_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111770) == 7000);
    CHECK(sx_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111790) == 0);
    CHECK(sx_retry_status(429) && sx_retry_status(503) && !sx_retry_status(404));
}

static void test_limit_and_gave_up(void)
{
    CHECK(sx_retry_limit(CURLE_COULDNT_RESOLVE_HOST, 5) == 0);
    CHECK(sx_retry_limit(CURLE_COULDNT_CONNECT, 5) == 1);
    CHECK(sx_retry_limit(CURLE_COULDNT_CONNECT, 0) == 0);
    CHECK(sx_retry_limit(CURLE_OPERATION_TIMEDOUT, 5) == 5);
    CHECK(sx_retry_limit(CURLE_OK, 3) == 3);
    char m[64] = "x";
    sx_retry_gave_up(m, sizeof m, CURLE_COULDNT_RESOLVE_HOST, 1, 5);
    CHECK(!strcmp(m, "x; not retried"));
    strcpy(m, "x");
    sx_retry_gave_up(m, sizeof m, CURLE_COULDNT_CONNECT, 2, 5);
    CHECK(!strcmp(m, "x; retried once"));
    strcpy(m, "x");
    sx_retry_gave_up(m, sizeof m, CURLE_OK, 3, 5);
    CHECK(!strcmp(m, "x after 3 tries"));
    strcpy(m, "x"); /* --retries 0: one try, nothing to say about tries */
    sx_retry_gave_up(m, sizeof m, CURLE_COULDNT_CONNECT, 1, 0);
    CHECK(!strcmp(m, "x"));
}

int main(void)
{
    RUN(test_limit_and_gave_up);
    RUN(test_backoff_grows_and_caps);
    RUN(test_retry_after);
    return UNIT_DONE();
}
