/*
 * sx_syncq.h : making files durable on a thread of its own, so that a
 * program with network transfers in flight never stalls on the disk.
 *
 * One job at a time: a syncfs() of the file system of a descriptor, which
 * makes every file written so far durable at once (one journal commit for
 * all of them, where an fsync each costs one commit each). The caller
 * learns the end by polling sx_syncq_fd() and calling sx_syncq_poll().
 *
 * The descriptor is borrowed: it must stay open until the job is over.
 */
#ifndef SX_SYNCQ_H
#define SX_SYNCQ_H

typedef struct sx_syncq sx_syncq;

/*! sx_syncq_new() : starts the thread (signals blocked in it).
 *  @return the queue, or NULL with errno. */
sx_syncq *sx_syncq_new(void);

/*! sx_syncq_fd() : readable when a job is over. */
int sx_syncq_fd(const sx_syncq *q);

/*! sx_syncq_submit() : starts a syncfs() of the file system of `fd`.
 *  @return 0, or -1 with errno EBUSY when a job is running. */
int sx_syncq_submit(sx_syncq *q, int fd);

/*! sx_syncq_poll() : whether the job is over; with `wait`, waits for it.
 *  @return 1 when the job is over (then *err is 0, or the errno of the
 *          failed sync), 0 while it runs, -1 when no job was submitted. */
int sx_syncq_poll(sx_syncq *q, int wait, int *err);

/*! sx_syncq_free() : waits for a running job, stops the thread, frees.
 *  NULL accepted. */
void sx_syncq_free(sx_syncq *q);

#endif
