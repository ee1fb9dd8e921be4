/* Unit tests of backoff and Retry-After (lib/sx_retry.h). */
#include "sx_retry.h"
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

int main(void)
{
    RUN(test_backoff_grows_and_caps);
    RUN(test_retry_after);
    return UNIT_DONE();
}
