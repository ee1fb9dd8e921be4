/* test_save_syncq.c : the sync thread: one job at a time, polling, waiting,
 * its descriptor waking a poll(2). */
#include "sx_syncq.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

static void test_jobs(void)
{
    sx_syncq *q = sx_syncq_new();
    CHECK(q != NULL);
    int err = -1;
    CHECK(sx_syncq_poll(q, 0, &err) == -1);          /* nothing submitted */
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK(sx_syncq_submit(q, fd) == 0);
    int again = sx_syncq_submit(q, fd);
    CHECK(again == -1 ? errno == EBUSY : 1);          /* unless already over */
    struct pollfd p = {sx_syncq_fd(q), POLLIN, 0};
    CHECK(poll(&p, 1, 10000) == 1);                   /* the end wakes a poll */
    CHECK(sx_syncq_poll(q, 0, &err) == 1 && err == 0);
    CHECK(sx_syncq_poll(q, 0, &err) == -1);
    CHECK(sx_syncq_submit(q, fd) == 0);
    CHECK(sx_syncq_poll(q, 1, &err) == 1 && err == 0);
    CHECK(sx_syncq_submit(q, -1) == 0);               /* a bad descriptor */
    CHECK(sx_syncq_poll(q, 1, &err) == 1 && err == EBADF);
    CHECK(sx_syncq_submit(q, fd) == 0);
    sx_syncq_free(q);                                 /* waits for the job */
    close(fd);
}

int main(void)
{
    RUN(test_jobs);
    return UNIT_DONE();
}
