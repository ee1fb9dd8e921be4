#include "sx_syncq.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sx_syncq {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;
    int state;          /* 0 idle, 1 submitted, 2 over */
    int err;
    int quit;
    int pipe[2];
};

static int sync_job(const sx_syncq *q)
{
    return syncfs(q->fd) < 0 ? errno : 0;
}

static void *run(void *arg)
{
    sx_syncq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->state != 1 && !q->quit)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->state != 1)
            break;
        pthread_mutex_unlock(&q->mu);
        int err = sync_job(q);   /* fds are not touched by the caller now */
        pthread_mutex_lock(&q->mu);
        q->err = err;
        q->state = 2;
        pthread_cond_broadcast(&q->cv);
        ssize_t w = write(q->pipe[1], "", 1);
        (void)w;
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

sx_syncq *sx_syncq_new(void)
{
    sx_syncq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    if (pipe2(q->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        free(q);
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&q->th, NULL, run, q);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        close(q->pipe[0]);
        close(q->pipe[1]);
        free(q);
        errno = rc;
        return NULL;
    }
    return q;
}

int sx_syncq_fd(const sx_syncq *q) { return q->pipe[0]; }

int sx_syncq_submit(sx_syncq *q, int fd)
{
    pthread_mutex_lock(&q->mu);
    if (q->state != 0) {
        pthread_mutex_unlock(&q->mu);
        errno = EBUSY;
        return -1;
    }
    q->fd = fd;
    q->state = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int sx_syncq_poll(sx_syncq *q, int wait, int *err)
{
    pthread_mutex_lock(&q->mu);
    if (q->state == 0) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    while (wait && q->state == 1)
        pthread_cond_wait(&q->cv, &q->mu);
    int over = q->state == 2;
    if (over) {
        *err = q->err;
        q->state = 0;
        char buf[64];
        while (read(q->pipe[0], buf, sizeof buf) > 0)
            ;
    }
    pthread_mutex_unlock(&q->mu);
    return over;
}

void sx_syncq_free(sx_syncq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    while (q->state == 1)
        pthread_cond_wait(&q->cv, &q->mu);
    q->quit = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->th, NULL);
    close(q->pipe[0]);
    close(q->pipe[1]);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}
