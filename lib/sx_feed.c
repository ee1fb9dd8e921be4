#include "sx_feed.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct node {
    struct node *next;
    sx_feed_line l;
} node;

struct sx_feed {
    sx_reader *r;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t room;
    node *head, *tail;
    size_t n, max;
    int done;          /* the thread has queued its last line */
    int failed;
    uint64_t lineno;
    char error[256];
    int pipe[2];
    int ended;         /* sx_feed_next() returned -1 */
};

void sx_feed_wake(sx_feed *f)
{
    int saved = errno;
    ssize_t w = write(f->pipe[1], "", 1);   /* a full pipe is awake already */
    (void)w;
    errno = saved;
}

static void *run(void *arg)
{
    sx_feed *f = arg;
    const char *line;
    size_t len;
    int rc;
    while ((rc = sx_reader_next(f->r, &line, &len)) == 1) {
        node *nd = malloc(sizeof *nd);
        char *copy = nd ? malloc(len + 1) : NULL;
        if (!copy) {
            free(nd);
            rc = -1;
            pthread_mutex_lock(&f->mu);
            snprintf(f->error, sizeof f->error, "out of memory");
            pthread_mutex_unlock(&f->mu);
            break;
        }
        memcpy(copy, line, len);
        copy[len] = 0;
        nd->next = NULL;
        nd->l.line = copy;
        nd->l.len = len;
        nd->l.lineno = sx_reader_lineno(f->r);
        pthread_mutex_lock(&f->mu);
        while (f->n >= f->max)
            pthread_cond_wait(&f->room, &f->mu);
        if (f->tail)
            f->tail->next = nd;
        else
            f->head = nd;
        f->tail = nd;
        f->n++;
        pthread_mutex_unlock(&f->mu);
        sx_feed_wake(f);
    }
    pthread_mutex_lock(&f->mu);
    f->lineno = sx_reader_lineno(f->r);
    if (rc < 0) {
        f->failed = 1;
        if (!f->error[0]) { /* the reader failed on the line after the last it handed out */
            snprintf(f->error, sizeof f->error, "%s", sx_reader_error(f->r));
            f->lineno++;
        }
    }
    f->done = 1;
    pthread_mutex_unlock(&f->mu);
    sx_feed_wake(f);
    return NULL;
}

sx_feed *sx_feed_start(sx_reader *r, size_t max_lines)
{
    sx_feed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->r = r;
    f->max = max_lines ? max_lines : 1;
    if (pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->room, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&f->th, NULL, run, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        close(f->pipe[0]);
        close(f->pipe[1]);
        free(f);
        errno = rc;
        return NULL;
    }
    return f;
}

int sx_feed_fd(const sx_feed *f) { return f->pipe[0]; }

int sx_feed_next(sx_feed *f, sx_feed_line *out)
{
    char buf[256];
    pthread_mutex_lock(&f->mu);
    node *nd = f->head;
    if (nd) {
        f->head = nd->next;
        if (!f->head)
            f->tail = NULL;
        f->n--;
        pthread_cond_signal(&f->room);
    }
    int done = f->done;
    if (!nd) {
        /* empty: clear the wake-ups; the thread writes again after its next
         * push, so nothing is missed */
        while (read(f->pipe[0], buf, sizeof buf) > 0)
            ;
    }
    pthread_mutex_unlock(&f->mu);
    if (nd) {
        *out = nd->l;
        free(nd);
        return 1;
    }
    if (done) {
        f->ended = 1;
        return -1;
    }
    return 0;
}

int sx_feed_failed(const sx_feed *f) { return f->failed; }

const char *sx_feed_error(const sx_feed *f) { return f->error; }

uint64_t sx_feed_lineno(const sx_feed *f) { return f->lineno; }

void sx_feed_free(sx_feed *f)
{
    if (!f || !f->ended)
        return;   /* the thread may still hold it: left to the exit */
    pthread_join(f->th, NULL);
    close(f->pipe[0]);
    close(f->pipe[1]);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->room);
    free(f);
}
