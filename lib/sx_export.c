#include "sx_export.h"
#include "sx_bloom.h"
#include "sx_items.h"
#include "sx_jqprog.h"
#include "sx_json.h"
#include "sx_manifest.h"
#include "sx_proto.h"
#include "sx_roots.h"
#include "sx_safefs.h"
#include "sx_spool.h"
#include "sx_sha256.h"
#include "sx_syncq.h"
#include "sx_tally.h"

#include <errno.h>
#include <fcntl.h>
#include <jv.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { CAT_DATA, CAT_ORIG };
static const char *cat_name[] = {"data_file", "original_file"};
static const char *cat_event[] = {"export_data_file", "export_original_file"};

/* One file on its way: a text file being written, or a download. */
typedef struct sfile {
    struct sfile *next, *prev;   /* downloads in flight */
    sx_export *e;
    char *path;
    const char *base;            /* last component of path */
    int parentfd, fd;
    char tmp[300];               /* temporary name in parentfd */
    jv item;                     /* owned */
    int cat;
    int had_prev;                /* --resume: the manifest had it done */
    int64_t prev_size;
    char prev_sha[65];
    sx_sha256 sha;
    int64_t size;
    int64_t want_size;           /* the record's size, or -1 */
    char want_sha[65];           /* the record's sha256, or "" */
    char final_sha[65];          /* waiting in the batch: its digest */
    char *unlink_after;          /* a `move` done by copying: the source */
    char *ikey;                  /* item_key(item): pinned in e->tab, or NULL */
} sfile;

/* Files written completely wait in a batch; a batch is made durable on the
 * sync thread (sx_syncq.h: one syncfs instead of an fsync each) while the
 * next one fills, then its files are renamed into place. */
#define BATCH_MAX 1024
#define BATCH_BYTES (256 << 20)

struct sx_export {
    const sx_export_opts *o;
    char *dir;
    int rootfd;
    int created_root;
    sx_manifest *m;
    sx_dl *dl;
    sx_writer *out;
    int out_dead;                /* downstream went away: keep exporting */
    const char *input;
    uint64_t lineno;
    sfile *cur;                  /* text file being written */
    char *skip_path;             /* chunks of a refused text file */
    sfile *flying;               /* downloads */
    sx_items *tab;               /* the items of the last ITEM_WINDOW, and
                                    the paths that failed (exact) */
    sx_bloom *paths;             /* the paths of this run (a filter) */
    jv errlist[2];               /* error_file_list.json */
    uint64_t ok[2], bad[2];
    jv meta;                     /* the upstream meta record, or null */
    uint64_t total;              /* from meta */
    int have_total;
    uint64_t urls, urls_done;
    uint64_t link_copies;        /* link asked, copied: why the first was */
    char link_copy_why[96];
    uint64_t files_written;
    int got_end;
    int committing;              /* every file is in: metrics say so */
    int fatal;                   /* stop: error[] says why */
    int network;                 /* a download failed */
    char error[512];
    uint64_t error_line;
    size_t removed;
    int rollback_failed;
    char *buf;                   /* copy buffer */
    sfile *batch[BATCH_MAX];     /* filling */
    int nbatch;
    int64_t batch_bytes;
    sfile *inflight[BATCH_MAX];  /* being made durable */
    int ninflight;
    sx_syncq *sq;                /* NULL with no_sync */
    sx_buf logbuf;               /* the log record being written */
    sx_roots *roots;             /* where src records may read */
    mode_t file_mode;            /* 0666 & ~umask */
    uint64_t conv_items;         /* items converted, from the converter's end */
    int have_conv_items;
    uint64_t filtered;           /* items a filter left out, from the end */
    sx_tally *failures;          /* failed items by reason */
    sx_tally *dropped, *ignored; /* warnings: annotations left out, parts ignored */
    char *spools[8];             /* meta's spool directories: emptied at the end */
    int nspools;
    char *parents[16];           /* directories above DIR this run made */
    int nparents;
};

#define COPY_BUF (256 * 1024)

/* Items held besides those with a file on its way (sx_items.h): an item
 * named again after this many others is a new item. */
#define ITEM_WINDOW 8192

static void fail(sx_export *e, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(sx_export *e, uint64_t line, const char *fmt, ...)
{
    if (e->fatal)
        return;
    e->fatal = 1;
    e->error_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->error, sizeof e->error, fmt, ap);
    va_end(ap);
}

/* ---- output ---- */

static void emit(sx_export *e, jv rec)
{
    if (e->out_dead) {
        jv_free(rec);
        return;
    }
    if (sx_writer_jv(e->out, rec) < 0)
        e->out_dead = 1;   /* EPIPE: the export itself goes on */
}

static void emit_raw(sx_export *e, const char *line, size_t len)
{
    if (!e->out_dead && sx_writer_line(e->out, line, len) < 0)
        e->out_dead = 1;
}

static void emit_metrics(sx_export *e, int cat)
{
    uint64_t done = e->ok[cat] + e->bad[cat];
    /* stand_by counts down from the meta total (one file an item, as in the
     * SDK); once committed nothing stands by, whatever the files per item */
    uint64_t stand_by = e->total > done && !e->committing ? e->total - done : 0;
    char line[200]; /* one for every file: no jv */
    int n = sx_rec_metrics_line(line, sizeof line, cat_name[cat], stand_by, e->ok[cat], e->bad[cat]);
    emit_raw(e, line, (size_t)n);
}

/* @item borrowed */
static void emit_log(sx_export *e, int cat, jv item, const char *path, const char *status, const char *error)
{
    /* built as text, as sx_writer_jv() would print it: one for every file */
    sx_buf *b = &e->logbuf;
    b->len = 0;
    int bad = sx_buf_puts(b, "{\"sx\":\"log\",\"event\":\"") < 0 || sx_buf_puts(b, cat_event[cat]) < 0 ||
              sx_buf_puts(b, "\",\"item\":") < 0 || sx_json_dump(b, jv_is_valid(item) ? item : jv_null()) < 0;
    bad = bad || sx_buf_puts(b, ",\"file\":") < 0 || sx_json_string(b, path, strlen(path)) < 0;
    bad = bad || sx_buf_puts(b, ",\"status\":") < 0 || sx_json_string(b, status, strlen(status)) < 0;
    bad = bad || sx_buf_puts(b, ",\"error\":") < 0 ||
          (error ? sx_json_string(b, error, strlen(error)) : sx_buf_puts(b, "null")) < 0;
    bad = bad || sx_buf_puts(b, "}") < 0;
    if (bad) {
        fail(e, 0, "out of memory");
        return;
    }
    emit_raw(e, b->p, b->len);
}

/* ---- items ---- */

static char *item_key(jv item)
{
    if (jv_get_kind(item) == JV_KIND_NULL || jv_get_kind(item) == JV_KIND_INVALID)
        return NULL;
    sx_buf b = {0};
    if (sx_json_dump(&b, item) < 0 || sx_buf_reserve(&b, 1) < 0) {
        sx_buf_free(&b);
        return NULL;
    }
    b.p[b.len] = 0;
    return b.p; /* the caller frees it */
}

static void item_touch(sx_export *e, jv item)
{
    char *k = item_key(item);
    if (k && sx_items_touch(e->tab, k, strlen(k)) < 0)
        fail(e, 0, "out of memory");
    free(k);
}

static int item_failed(sx_export *e, jv item)
{
    char *k = item_key(item);
    int failed = k && sx_items_failed(e->tab, k, strlen(k));
    free(k);
    return failed;
}

static void item_add_file(sx_export *e, jv item, const char *path, int cat)
{
    char *k = item_key(item);
    if (k && sx_items_add_file(e->tab, k, strlen(k), path, cat) < 0)
        fail(e, 0, "out of memory");
    free(k);
}

struct undo {
    sx_export *e;
    jv item;
};

/* The last component of a path: error_file_list.json holds bare names, as
 * the SDK writes them. */
static const char *bare_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static void errlist_add(sx_export *e, int cat, const char *name, const char *why)
{
    e->errlist[cat] = jv_array_append(e->errlist[cat], JV_ARRAY(jv_string(name), jv_string(why)));
}

/* A file of a failed item that was in place: removed again. */
static void undo_file(void *ctx, const char *path, int cat)
{
    struct undo *u = ctx;
    sx_export *e = u->e;
    if (sx_unlink_at(e->rootfd, path) < 0) {
        fail(e, 0, "cannot remove '%s': %s", path, strerror(errno));
    } else if (sx_manifest_drop(e->m, path) < 0) {
        fail(e, 0, "cannot write the manifest: %s", strerror(errno));
    } else {
        if (sx_paths_add(e->tab, path) < 0)
            fail(e, 0, "out of memory");
        if (e->ok[cat])
            e->ok[cat]--;
        e->bad[cat]++;
        e->files_written--;
        emit_log(e, cat, u->item, path, "failed", "another file of the item failed");
        errlist_add(e, cat, bare_name(path), "another file of the item failed");
        emit_metrics(e, cat);
    }
}

/* Fails an item: removes the files of it already in place. `upstream`: an
 * error record of an earlier stage failed it. The first failure of an item
 * is its reason in the summary. @item borrowed */
static void item_fail(sx_export *e, jv item, int upstream, const char *why)
{
    char *k = item_key(item);
    struct undo u = {e, item};
    if (k && !sx_items_failed(e->tab, k, strlen(k))) {
        char reason[208];
        sx_tally_add(e->failures, sx_tally_reason(why, reason, sizeof reason), 1, k);
    }
    if (k && sx_items_fail(e->tab, k, strlen(k), upstream, undo_file, &u) < 0)
        fail(e, 0, "out of memory");
    free(k);
}

/* A file of `item` failed: log, count, error record, item failure.
 * @item borrowed */
static void file_failed(sx_export *e, int cat, jv item, const char *path, const char *why, int error_record)
{
    if (sx_paths_add(e->tab, path) < 0)   /* nothing on disk says it was claimed */
        fail(e, 0, "out of memory");
    emit_log(e, cat, item, path, "failed", why);
    e->bad[cat]++;
    errlist_add(e, cat, bare_name(path), why);
    emit_metrics(e, cat);
    if (error_record) {
        char msg[600];
        snprintf(msg, sizeof msg, "'%s': %s", path, why);
        emit(e, sx_rec_error(jv_copy(item), "save", msg));
    }
    item_fail(e, item, 0, why);
    if (e->o->strict)
        fail(e, e->lineno, "'%s': %s", path, why);
}

static void file_ok(sx_export *e, sfile *f)
{
    e->ok[f->cat]++;
    e->files_written++;
    item_add_file(e, f->item, f->path, f->cat);
    emit_log(e, f->cat, f->item, f->path, "success", NULL);
    emit_metrics(e, f->cat);
}

/* ---- files ---- */

static int on_mkdir(void *ud, const char *dir)
{
    sx_export *e = ud;
    if (sx_manifest_dir(e->m, dir) < 0)
        return -1;
    return e->o->no_sync ? 0 : sx_manifest_sync(e->m);
}

static sfile *sfile_new(sx_export *e, const char *path, jv item, int cat)
{
    sfile *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        jv_free(item);
        return NULL;
    }
    f->e = e;
    f->item = item;
    f->cat = cat;
    /* its item stays in the window while the file is on its way */
    f->ikey = item_key(item);
    if (f->ikey && sx_items_pin(e->tab, f->ikey, strlen(f->ikey)) < 0) {
        free(f->ikey);
        f->ikey = NULL;
    }
    f->parentfd = f->fd = -1;
    f->want_size = -1;
    sx_sha256_init(&f->sha);
    return f;
}

static void sfile_free(sfile *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    if (f->parentfd >= 0)
        close(f->parentfd);
    jv_free(f->item);
    if (f->ikey)
        sx_items_unpin(f->e->tab, f->ikey, strlen(f->ikey));
    free(f->ikey);
    free(f->unlink_after);
    free(f->path);
    free(f);
}

/* 1 when f's path is `path`. */
static int sfile_is(const sfile *f, const char *path) { return f && !strcmp(f->path, path); }

/* 1 when a file of this run is on its way to `path`: being written, waiting
 * in a batch, downloading. At most a few thousand files. */
static int in_flight(const sx_export *e, const char *path)
{
    if (sfile_is(e->cur, path))
        return 1;
    for (int i = 0; i < e->nbatch; i++)
        if (sfile_is(e->batch[i], path))
            return 1;
    for (int i = 0; i < e->ninflight; i++)
        if (sfile_is(e->inflight[i], path))
            return 1;
    for (const sfile *f = e->flying; f; f = f->next)
        if (sfile_is(f, path))
            return 1;
    return 0;
}

/* 1 when an earlier record of this run claimed `path` (a second one is a
 * duplicate). The filter of the paths claimed says no for nearly every new
 * path; its yes may be false, and is checked against what a claim leaves:
 * a file on its way, a path that failed (sx_items' exact set, which holds
 * too the paths --resume kept), or a file on disk. A file on disk is this
 * run's own when DIR was empty when the run began; with --force or
 * --resume it may be older, and the manifest of this run is read to tell. */
static int path_claimed(sx_export *e, const char *path)
{
    if (!sx_bloom_maybe(e->paths, path, strlen(path)))
        return 0;
    if (in_flight(e, path) || sx_paths_has(e->tab, path))
        return 1;
    struct stat st;
    if (sx_stat_at(e->rootfd, path, &st) < 0)
        return 0;   /* nothing there: a false positive */
    if (!e->o->force && !e->o->resume)
        return 1;
    return sx_manifest_run_has(e->m, path) != 0;   /* unreadable: refused */
}

/* The relative path of f's temporary file. */
static void tmp_path(const sfile *f, char *out, size_t n)
{
    size_t dirlen = (size_t)(f->base - f->path);
    snprintf(out, n, "%.*s%s", (int)dirlen, f->path, f->tmp);
}

/* Removes the temporary file and records the path dropped. */
static void sfile_discard(sfile *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->parentfd >= 0 && f->tmp[0]) {
        unlinkat(f->parentfd, f->tmp, 0);
    } else if (f->tmp[0]) {
        char rel[PATH_MAX];
        tmp_path(f, rel, sizeof rel);
        sx_unlink_at(f->e->rootfd, rel);
    }
    if (f->tmp[0] && sx_manifest_drop(f->e->m, f->path) < 0)
        fail(f->e, 0, "cannot write the manifest: %s", strerror(errno));
}


/* Creates the directories and the temporary file of f, recording both
 * first. `open_tmp` 0: only the name is recorded (a link or rename will
 * create it). @return 0; 1 when the path is refused (why set); -1 fatal. */
static int sfile_begin(sfile *f, int open_tmp, const char **why)
{
    sx_export *e = f->e;
    const sx_mf_entry *prev = sx_manifest_find(e->m, f->path);
    if (prev && prev->state == SX_MF_DONE) {
        f->had_prev = 1;
        f->prev_size = prev->size;
        snprintf(f->prev_sha, sizeof f->prev_sha, "%s", prev->sha256);
    }
    f->parentfd = sx_open_parent(e->rootfd, f->path, 1, on_mkdir, e, &f->base);
    if (f->parentfd < 0) {
        if (errno == ELOOP || errno == ENOTDIR || errno == EMLINK) {
            *why = "path passes through a link or a file";
            return 1;
        }
        if (e->fatal)
            return -1;
        fail(e, e->lineno, "cannot create the directory of '%s': %s", f->path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstatat(f->parentfd, f->base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !f->had_prev) {
        *why = S_ISLNK(st.st_mode) ? "a link is in the way" : "a file of that name exists";
        return 1;
    }
    for (int i = 0; i < 50; i++) {
        unsigned r = (unsigned)random();
        sx_tmp_name(f->base, r, f->tmp, sizeof f->tmp);
        if (fstatat(f->parentfd, f->tmp, &st, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        char rel[PATH_MAX];
        tmp_path(f, rel, sizeof rel);
        if (sx_manifest_file(e->m, f->path, rel) < 0) {
            fail(e, e->lineno, "cannot write the manifest: %s", strerror(errno));
            return -1;
        }
        if (!open_tmp)
            return 0;
        f->fd = sx_tmp_open(f->parentfd, f->tmp);
        if (f->fd >= 0)
            return 0;
        if (errno != EEXIST) {
            fail(e, e->lineno, "cannot create '%s': %s", rel, strerror(errno));
            return -1;
        }
    }
    fail(e, e->lineno, "cannot find a temporary name for '%s'", f->path);
    return -1;
}

/* Writes n bytes to f's temporary file. @return 0 or -1 (fatal). */
static int sfile_write(sfile *f, const void *p, size_t n)
{
    if (sx_write_all(f->fd, p, n) < 0) {
        fail(f->e, f->e->lineno, "cannot write '%s': %s", f->path, strerror(errno));
        return -1;
    }
    sx_sha256_update(&f->sha, p, n);
    f->size += (int64_t)n;
    return 0;
}

/* Puts f's temporary file in place. `sha` its digest. @return 0, 1 when
 * the name was taken meanwhile (why set), -1 fatal. */
static int sfile_publish(sfile *f, const char *sha, int synced, const char **why)
{
    sx_export *e = f->e;
    if (f->want_size >= 0 && f->size != f->want_size) {
        *why = "the size differs from the record's";
        return 1;
    }
    if (f->want_sha[0] && strcasecmp(f->want_sha, sha)) {
        *why = "the sha256 differs from the record's";
        return 1;
    }
    if (f->fd >= 0) {
        if (!synced && !e->o->no_sync && fsync(f->fd) < 0) {
            fail(e, e->lineno, "cannot write '%s': %s", f->path, strerror(errno));
            return -1;
        }
        if (close(f->fd) < 0) {
            f->fd = -1;
            fail(e, e->lineno, "cannot write '%s': %s", f->path, strerror(errno));
            return -1;
        }
        f->fd = -1;
    }
    if (!synced && !e->o->no_sync && sx_manifest_sync(e->m) < 0) {
        fail(e, e->lineno, "cannot write the manifest: %s", strerror(errno));
        return -1;
    }
    if (f->had_prev) {
        struct stat st;
        if (fstatat(f->parentfd, f->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISREG(st.st_mode) && st.st_size == f->size && f->prev_size == f->size &&
                !strcmp(f->prev_sha, sha)) {
                unlinkat(f->parentfd, f->tmp, 0);   /* the same file is there */
                goto done;
            }
            unlinkat(f->parentfd, f->base, 0);       /* ours, from the crashed run */
        }
    }
    if (sx_publish(f->parentfd, f->tmp, f->base) < 0) {
        if (errno == EEXIST) {
            *why = "a file of that name appeared";
            return 1;
        }
        fail(e, e->lineno, "cannot rename into '%s': %s", f->path, strerror(errno));
        return -1;
    }
done:
    if (sx_manifest_done(e->m, f->path, f->size, sha) < 0) {
        fail(e, e->lineno, "cannot write the manifest: %s", strerror(errno));
        return -1;
    }
    f->tmp[0] = 0;
    return 0;
}

/* Puts durable files in place (or drops them when their item failed). */
static void publish_all(sx_export *e, sfile **v, int n)
{
    for (int i = 0; i < n; i++) {
        sfile *f = v[i];
        v[i] = NULL;
        if (e->fatal) {
            sfile_free(f);   /* its temporary file goes with the rollback */
            continue;
        }
        if (item_failed(e, f->item)) {
            sfile_discard(f);
            file_failed(e, f->cat, f->item, f->path, "another file of the item failed", 0);
            sfile_free(f);
            continue;
        }
        const char *why = NULL;
        int rc = 1;
        f->parentfd = sx_open_parent(e->rootfd, f->path, 0, NULL, NULL, &f->base);
        if (f->parentfd < 0)
            why = "its directory was replaced meanwhile";
        else
            rc = sfile_publish(f, f->final_sha, 1, &why);
        if (rc == 0) {
            file_ok(e, f);
            if (f->unlink_after) {
                unlink(f->unlink_after);   /* a move by copying: hand-over complete */
                sx_spool_dir_done(f->unlink_after);
            }
        } else if (rc == 1) {
            sfile_discard(f);
            file_failed(e, f->cat, f->item, f->path, why, 1);
        }
        sfile_free(f);
    }
}

/* Moves batches along: publishes the one made durable, hands the filling
 * one to the sync thread. With `wait`, until both are done. */
static void batch_step(sx_export *e, int wait)
{
    if (!e->sq) {
        publish_all(e, e->batch, e->nbatch);
        e->nbatch = 0;
        e->batch_bytes = 0;
        return;
    }
    for (;;) {
        if (e->ninflight) {
            int err = 0;
            if (sx_syncq_poll(e->sq, wait, &err) == 0)
                return;   /* still syncing */
            if (err)
                fail(e, 0, "cannot sync the files of '%s': %s", e->dir, strerror(err));
            publish_all(e, e->inflight, e->ninflight);
            e->ninflight = 0;
        }
        if (!e->nbatch || e->fatal)
            return;
        memcpy(e->inflight, e->batch, (size_t)e->nbatch * sizeof *e->batch);
        e->ninflight = e->nbatch;
        e->nbatch = 0;
        e->batch_bytes = 0;
        if (sx_syncq_submit(e->sq, e->rootfd) < 0) {
            fail(e, 0, "cannot sync: %s", strerror(errno));
            return;
        }
        if (!wait)
            return;
    }
}

/* Queues f (owned from now on), written completely with digest sha. */
static void queue_publish(sx_export *e, sfile *f, const char *sha)
{
    snprintf(f->final_sha, sizeof f->final_sha, "%s", sha);
    if (f->fd >= 0) {
        if (e->sq)
            sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);   /* start write-back now */
        if (close(f->fd) < 0 && !e->fatal)
            fail(e, 0, "cannot write '%s': %s", f->path, strerror(errno));
        f->fd = -1;
    }
    /* the directory is opened again, without following links, to rename:
     * a thousand files waiting hold no descriptor */
    close(f->parentfd);
    f->parentfd = -1;
    e->batch[e->nbatch++] = f;
    e->batch_bytes += f->size;
    if (e->nbatch == BATCH_MAX || e->batch_bytes >= BATCH_BYTES) {
        batch_step(e, 0);
        if (e->nbatch)   /* the sync thread is behind: wait for it */
            batch_step(e, 1);
    }
}

/* Drops every file waiting (after a failure), the sync thread idle first. */
static void free_batch(sx_export *e)
{
    int err;
    if (e->sq && e->ninflight)
        sx_syncq_poll(e->sq, 1, &err);
    for (int i = 0; i < e->ninflight; i++)
        sfile_free(e->inflight[i]);
    e->ninflight = 0;
    for (int i = 0; i < e->nbatch; i++)
        sfile_free(e->batch[i]);
    e->nbatch = 0;
}

/* Ends the text file being written. */
static void finish_text(sx_export *e)
{
    sfile *f = e->cur;
    if (!f)
        return;
    e->cur = NULL;
    if (item_failed(e, f->item)) {
        sfile_discard(f);
        file_failed(e, f->cat, f->item, f->path, "another file of the item failed", 0);
        sfile_free(f);
        return;
    }
    char hex[65];
    sx_sha256_hex(&f->sha, hex);
    queue_publish(e, f, hex);
}

/* Hashes the file at fd from its start. @return 0 or -1. */
static int hash_fd(sx_export *e, int fd, sfile *f)
{
    ssize_t n;
    sx_sha256_init(&f->sha);
    f->size = 0;
    while ((n = pread(fd, e->buf, COPY_BUF, f->size)) > 0) {
        sx_sha256_update(&f->sha, e->buf, (size_t)n);
        f->size += n;
    }
    return n < 0 ? -1 : 0;
}

enum { SRC_COPY, SRC_LINK, SRC_MOVE, SRC_ADD };

/* Opens what a src record names, as its kind allows: a spooled file for a
 * move (sx_spool_take(): *sdir, *sbase), a file under the roots for a copy
 * or a link, any regular file for --add (the user named it).
 * @return 0, or 1 with *why set (the record is refused). */
static int src_open(sx_export *e, const char *src, int how, int *in, int *sdir, const char **sbase,
                    struct stat *st, const char **why, char *whybuf, size_t wl)
{
    const char *rule = NULL;
    *in = *sdir = -1;
    if (how == SRC_MOVE) {
        if (sx_spool_take(src, sdir, sbase, &rule) == 0)
            return 0;
        snprintf(whybuf, wl, "refused 'move' of '%s': %s (sx-save moves only a file an sx program spooled)", src,
                 rule);
    } else if (how == SRC_ADD) {
        *in = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (*in >= 0 && fstat(*in, st) == 0 && S_ISREG(st->st_mode))
            return 0;
        if (*in >= 0) {
            close(*in);
            *in = -1;
            snprintf(whybuf, wl, "'%s' is not a regular file", src);
        } else {
            snprintf(whybuf, wl, "cannot open '%s': %s", src, strerror(errno));
        }
    } else {
        *in = sx_roots_open(e->roots, src, st, &rule);
        if (*in >= 0)
            return 0;
        if (!strcmp(rule, "cannot open"))
            snprintf(whybuf, wl, "cannot open '%s': %s", src, strerror(errno));
        else
            snprintf(whybuf, wl, "refused 'src' '%s': %s%s", src, rule,
                     rule == sx_roots_outside ? " (the dataset of sx-fetch --dir, or sx-save --allow-src DIR)" : "");
    }
    *why = whybuf;
    return 1;
}

/* The temporary file of f now holds the file (linked or renamed there):
 * opened to hash it and to fsync it. @return 0 or -1 (fatal). */
static int take_tmp(sx_export *e, sfile *f, const char *src)
{
    int fd = openat(f->parentfd, f->tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || hash_fd(e, fd, f) < 0) {
        if (fd >= 0)
            close(fd);
        fail(e, e->lineno, "cannot read '%s': %s", src, strerror(errno));
        return -1;
    }
    f->fd = fd;
    return 0;
}

/* A `src` record: copy, link or move the local file into place.
 * @return 0 when f is queued (and owned by the batch), 1 when the file
 * failed (why set), -1 fatal. */
static int do_src(sx_export *e, sfile *f, const char *src, int how, const char **why, char *whybuf, size_t wl)
{
    struct stat st;
    int in, sdir;
    const char *sbase = NULL;
    if (src_open(e, src, how, &in, &sdir, &sbase, &st, why, whybuf, wl))
        return 1;
    int by_name = how == SRC_MOVE || how == SRC_LINK;
    int rc = sfile_begin(f, !by_name, why);
    if (rc) {
        if (in >= 0)
            close(in);
        if (sdir >= 0)
            close(sdir);
        return rc;
    }
    if (by_name) {
        int r;
        if (how == SRC_MOVE) {
            r = renameat2(sdir, sbase, f->parentfd, f->tmp, RENAME_NOREPLACE);
        } else {
            /* the very file that was opened and checked, not the path again */
            char self[64];
            snprintf(self, sizeof self, "/proc/self/fd/%d", in);
            r = linkat(AT_FDCWD, self, f->parentfd, f->tmp, AT_SYMLINK_FOLLOW);
        }
        int err = errno;
        if (r == 0) {
            if (in >= 0)
                close(in);
            if (sdir >= 0)
                close(sdir);
            if (how == SRC_MOVE)
                sx_spool_dir_done(src);
            if (take_tmp(e, f, src) < 0)
                return -1;
            goto publish;
        }
        if (err != EXDEV && err != EPERM && err != EINVAL && err != ENOENT && err != EMLINK) {
            snprintf(whybuf, wl, "cannot %s '%s': %s", how == SRC_MOVE ? "move" : "link", src, strerror(err));
            *why = whybuf;
            if (in >= 0)
                close(in);
            if (sdir >= 0)
                close(sdir);
            sfile_discard(f);
            return 1;
        }
        if (how == SRC_LINK && !e->link_copies++)
            snprintf(e->link_copy_why, sizeof e->link_copy_why, "%s", strerror(err));
        if (how == SRC_MOVE) {
            /* another file system: copied, and the spooled file removed once in place */
            in = openat(sdir, sbase, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            close(sdir);
            if (in < 0 || fstat(in, &st) < 0) {
                snprintf(whybuf, wl, "cannot open '%s': %s", src, strerror(errno));
                *why = whybuf;
                if (in >= 0)
                    close(in);
                sfile_discard(f);
                return 1;
            }
            if (!(f->unlink_after = strdup(src))) {
                close(in);
                fail(e, e->lineno, "out of memory");
                return -1;
            }
        }
        f->fd = sx_tmp_open(f->parentfd, f->tmp);
        if (f->fd < 0) {
            close(in);
            fail(e, e->lineno, "cannot create '%s': %s", f->tmp, strerror(errno));
            return -1;
        }
    }
    /* a copy is no more readable than its source (an 0600 file stays 0600) */
    if (fchmod(f->fd, e->file_mode & (st.st_mode | 0600)) < 0) {
        close(in);
        fail(e, e->lineno, "cannot write '%s': %s", f->path, strerror(errno));
        return -1;
    }
    ssize_t n;
    while ((n = read(in, e->buf, COPY_BUF)) > 0) {
        if (sfile_write(f, e->buf, (size_t)n) < 0) {
            close(in);
            return -1;
        }
    }
    int rerr = errno;
    close(in);
    if (n < 0) {
        snprintf(whybuf, wl, "cannot read '%s': %s", src, strerror(rerr));
        *why = whybuf;
        sfile_discard(f);
        return 1;
    }
publish:;
    char hex[65];
    sx_sha256_hex(&f->sha, hex);
    queue_publish(e, f, hex);
    return 0;
}

/* ---- downloads ---- */

static void on_download(void *ud, const sx_dl_result *r)
{
    sx_export *e = ud;
    sfile *f = r->user;
    if (f->prev)
        f->prev->next = f->next;
    else
        e->flying = f->next;
    if (f->next)
        f->next->prev = f->prev;
    e->urls_done++;
    if (r->disk_errno) {
        fail(e, 0, "cannot write '%s': %s", f->path, strerror(r->disk_errno));
        sfile_free(f);
        return;
    }
    f->size = r->size;
    if (!r->ok) {
        sfile_discard(f);
        e->network = 1;
        char why[300];
        snprintf(why, sizeof why, "cannot download: %s", r->error);
        file_failed(e, f->cat, f->item, f->path, why, 1);
    } else if (item_failed(e, f->item)) {
        sfile_discard(f);
        file_failed(e, f->cat, f->item, f->path, "another file of the item failed", 0);
    } else {
        queue_publish(e, f, r->sha256);
        f = NULL;
    }
    uint64_t total = e->total > e->urls ? e->total : e->urls;
    emit(e, sx_rec_progress("original_file", e->urls_done, total));
    sfile_free(f);
}

/* ---- records ---- */

/* Refuses a file record: @item borrowed */
static void refuse(sx_export *e, int cat, jv item, const char *path, const char *why, int text)
{
    if (text) {
        free(e->skip_path);
        e->skip_path = strdup(path);
    }
    file_failed(e, cat, item, path, why, 1);
}

/* The record's `size` and `sha256`, when it gives them: a check that does
 * not parse is a bad record, never a check skipped. @rec borrowed.
 * @return NULL, or why the record is refused. */
static const char *record_checks(jv rec, int64_t *size, char sha[65])
{
    *size = -1;
    sha[0] = 0;
    const char *why = NULL;
    jv s = jv_object_get(jv_copy(rec), jv_string("size"));
    if (jv_get_kind(s) == JV_KIND_NUMBER) {
        double d = jv_number_value(s);
        if (d >= 0 && d <= 9007199254740992.0 && d == floor(d))
            *size = (int64_t)d;
        else
            why = "refused: 'size' must be a whole number of bytes";
    } else if (jv_is_valid(s) && jv_get_kind(s) != JV_KIND_NULL) {
        why = "refused: 'size' must be a whole number of bytes";
    }
    jv_free(s);
    jv h = jv_object_get(jv_copy(rec), jv_string("sha256"));
    if (jv_get_kind(h) == JV_KIND_STRING) {
        const char *x = jv_string_value(h);
        size_t n = strlen(x);
        if (n == 64 && (size_t)jv_string_length_bytes(jv_copy(h)) == 64 && strspn(x, "0123456789abcdefABCDEF") == 64)
            memcpy(sha, x, 65);
        else if (!why)
            why = "refused: 'sha256' must be 64 hexadecimal digits";
    } else if (jv_is_valid(h) && jv_get_kind(h) != JV_KIND_NULL && !why) {
        why = "refused: 'sha256' must be 64 hexadecimal digits";
    }
    jv_free(h);
    return why;
}

/* ---- file records ---- */

/* A file record's members. */
typedef struct {
    jv rec, pj, tj, uj, sj, item;   /* owned */
    const char *path;
    size_t plen;
    int is_text, append, move, link, cat;
} frec;

static void frec_free(frec *r)
{
    jv_free(r->pj);
    jv_free(r->tj);
    jv_free(r->uj);
    jv_free(r->sj);
    jv_free(r->item);
    jv_free(r->rec);
}

/* Reads the members of rec (consumed). @return 0, or -1 (a bad record:
 * fatal). r is to be freed either way. */
static int frec_read(sx_export *e, frec *r, jv rec)
{
    r->rec = rec;
    r->pj = jv_object_get(jv_copy(rec), jv_string("path"));
    r->tj = jv_object_get(jv_copy(rec), jv_string("text"));
    r->uj = jv_object_get(jv_copy(rec), jv_string("url"));
    r->sj = jv_object_get(jv_copy(rec), jv_string("src"));
    r->item = jv_object_get(jv_copy(rec), jv_string("item"));
    if (jv_get_kind(r->item) == JV_KIND_INVALID) {
        jv_free(r->item);
        r->item = jv_null();
    }
    r->append = jv_equal(jv_object_get(jv_copy(rec), jv_string("append")), jv_true());
    r->move = jv_equal(jv_object_get(jv_copy(rec), jv_string("move")), jv_true());
    r->link = jv_equal(jv_object_get(jv_copy(rec), jv_string("link")), jv_true());
    int kinds = (jv_get_kind(r->tj) == JV_KIND_STRING) + (jv_get_kind(r->uj) == JV_KIND_STRING) +
                (jv_get_kind(r->sj) == JV_KIND_STRING);
    if (jv_get_kind(r->pj) != JV_KIND_STRING || kinds != 1) {
        fail(e, e->lineno, "file record needs a string 'path' and exactly one of 'text', 'url', 'src'");
        return -1;
    }
    r->is_text = jv_get_kind(r->tj) == JV_KIND_STRING;
    r->path = jv_string_value(r->pj);
    r->plen = (size_t)jv_string_length_bytes(jv_copy(r->pj));
    r->cat = r->is_text ? CAT_DATA : CAT_ORIG;
    const char *cs = sx_get_str(rec, "category");
    if (cs && !strcmp(cs, "data_file"))
        r->cat = CAT_DATA;
    else if (cs && !strcmp(cs, "original_file"))
        r->cat = CAT_ORIG;
    return 0;
}

/* A later chunk of the text file being written (or of one refused). */
static int on_append(sx_export *e, const frec *r)
{
    if (!r->is_text) {
        fail(e, e->lineno, "'append' is for text records");
        return -1;
    }
    if (e->cur && !strcmp(e->cur->path, r->path))
        return sfile_write(e->cur, jv_string_value(r->tj), (size_t)jv_string_length_bytes(jv_copy(r->tj)));
    if (!(e->skip_path && !strcmp(e->skip_path, r->path))) {
        fail(e, e->lineno, "'append' to '%s', which is not the file being written", r->path);
        return -1;
    }
    return 0;
}

/* The checks before anything is written: the path, a duplicate, the item,
 * the record's size and sha256. @return 1 to go on, 0 when the record was
 * refused (reported), -1 fatal. */
static int claim(sx_export *e, const frec *r, int64_t *want_size, char want_sha[65])
{
    const char *bad = sx_path_check(r->path, r->plen);
    char why[600];
    if (bad) {
        snprintf(why, sizeof why, "refused path: %s", bad);
        refuse(e, r->cat, r->item, r->path, why, r->is_text);
        return 0;
    }
    if (path_claimed(e, r->path)) {
        refuse(e, r->cat, r->item, r->path, "duplicate path: written already by an earlier record", r->is_text);
        return 0;
    }
    sx_bloom_add(e->paths, r->path, r->plen);
    if (item_failed(e, r->item)) {
        if (r->is_text) {
            free(e->skip_path);
            e->skip_path = strdup(r->path);
        }
        file_failed(e, r->cat, r->item, r->path, "another file of the item failed", 0);
        return 0;
    }
    const char *badcheck = record_checks(r->rec, want_size, want_sha);
    if (badcheck) {
        refuse(e, r->cat, r->item, r->path, badcheck, r->is_text);
        return 0;
    }
    return e->fatal ? -1 : 1;
}

/* --resume: a file the interrupted run finished (same size and sha256 when
 * the record gives them, still on disk) is kept, not fetched again.
 * @return 1 when kept, 0 when it is to be written, -1 fatal. */
static int resume_kept(sx_export *e, const frec *r, int64_t want_size, const char *want_sha)
{
    const sx_mf_entry *prev = sx_manifest_find(e->m, r->path);
    struct stat st;
    if (!(e->o->resume && prev && prev->state == SX_MF_DONE && (want_size < 0 || want_size == prev->size) &&
          (!want_sha[0] || !strcasecmp(want_sha, prev->sha256)) && sx_stat_at(e->rootfd, r->path, &st) == 0 &&
          S_ISREG(st.st_mode) && st.st_size == prev->size))
        return 0;
    sfile *f = sfile_new(e, r->path, jv_copy(r->item), r->cat);
    /* no record of this run names it: the exact set answers for it */
    if (!f || sx_paths_add(e->tab, r->path) < 0) {
        sfile_free(f);
        fail(e, e->lineno, "out of memory");
        return -1;
    }
    if (jv_get_kind(r->uj) == JV_KIND_STRING)
        e->urls++, e->urls_done++;
    file_ok(e, f);
    sfile_free(f);
    return 1;
}

/* A text record: the file is written as its chunks come (f owned). */
static int start_text(sx_export *e, const frec *r, sfile *f)
{
    const char *why = NULL;
    int rc = sfile_begin(f, 1, &why);
    if (rc == 1) {
        sfile_free(f);
        refuse(e, r->cat, r->item, r->path, why, 1);
        return 0;
    }
    if (rc < 0) {
        sfile_free(f);
        return -1;
    }
    e->cur = f;
    return sfile_write(f, jv_string_value(r->tj), (size_t)jv_string_length_bytes(jv_copy(r->tj)));
}

/* A src record: copied, linked or moved now (f owned). */
static int start_src(sx_export *e, const frec *r, sfile *f)
{
    const char *src = jv_string_value(r->sj), *why = NULL;
    char whybuf[600];
    int how = r->move ? SRC_MOVE : e->o->link || r->link ? SRC_LINK : SRC_COPY;
    int rc = 1;
    if (src[0] != '/')
        why = "'src' must be an absolute path";
    else
        rc = do_src(e, f, src, how, &why, whybuf, sizeof whybuf);
    if (rc == 1)
        file_failed(e, r->cat, r->item, r->path, why, 1);
    if (rc != 0)
        sfile_free(f);   /* else the batch owns it */
    return rc < 0 ? -1 : 0;
}

/* A url record: the download starts (f owned). */
static int start_url(sx_export *e, const frec *r, sfile *f)
{
    const char *url = jv_string_value(r->uj), *why = NULL;
    const char *sbad = sx_dl_url_ok(url);
    e->urls++;
    if (sbad) {
        e->urls_done++;
        sfile_free(f);
        file_failed(e, r->cat, r->item, r->path, sbad, 1);
        return 0;
    }
    int rc = sfile_begin(f, 1, &why);
    if (rc) {
        e->urls_done++;
        sfile_free(f);
        if (rc == 1)
            refuse(e, r->cat, r->item, r->path, why, 0);
        return rc < 0 ? -1 : 0;
    }
    if (sx_dl_add(e->dl, url, f->fd, f->want_size, f->want_sha[0] ? f->want_sha : NULL, f) < 0) {
        sfile_discard(f);
        sfile_free(f);
        fail(e, e->lineno, "out of memory");
        return -1;
    }
    f->next = e->flying;
    if (e->flying)
        e->flying->prev = f;
    e->flying = f;
    return 0;
}

/* @rec consumed */
static int on_file(sx_export *e, jv rec)
{
    frec r = {0};
    int rc = frec_read(e, &r, rec);
    if (rc == 0 && r.append) {
        rc = on_append(e, &r);
        goto out;
    }
    if (rc == 0) {
        finish_text(e);
        free(e->skip_path);
        e->skip_path = NULL;
        rc = e->fatal ? -1 : 0;
    }
    if (rc < 0)
        goto out;
    item_touch(e, r.item);
    int64_t want_size;
    char want_sha[65];
    int go = claim(e, &r, &want_size, want_sha);
    if (go == 1 && !r.is_text)
        go = resume_kept(e, &r, want_size, want_sha) == 0 ? 1 : e->fatal ? -1 : 0;
    if (go <= 0) {
        rc = go;
        goto out;
    }
    sfile *f = sfile_new(e, r.path, jv_copy(r.item), r.cat);
    if (!f) {
        fail(e, e->lineno, "out of memory");
        rc = -1;
        goto out;
    }
    f->want_size = want_size;
    memcpy(f->want_sha, want_sha, sizeof f->want_sha);
    if (r.is_text)
        rc = start_text(e, &r, f);
    else if (jv_get_kind(r.sj) == JV_KIND_STRING)
        rc = start_src(e, &r, f);
    else
        rc = start_url(e, &r, f);
out:
    frec_free(&r);
    return rc < 0 || e->fatal ? -1 : 0;
}

/* meta: the total (for progress only: counts are what sx saw) and the
 * directories sx-fetch --dir (or a merge) read, which src records may read
 * too. @rec borrowed */
static void take_meta(sx_export *e, jv rec)
{
    jv_free(e->meta);
    e->meta = jv_object_delete(jv_copy(rec), jv_string("sx"));
    double t = sx_get_num(rec, "total", -1);
    if (t >= 0 && t < 1e18) {
        e->total = (uint64_t)t;
        e->have_total = 1;
    }
    /* sx-download's spool: what the pipeline does not take is removed at
     * the end (sx_spool_dir_purge() checks that it is one) */
    const char *spool = sx_get_str(rec, "spool");
    if (spool && spool[0] == '/' && e->nspools < (int)(sizeof e->spools / sizeof *e->spools))
        e->spools[e->nspools++] = strdup(spool);
    jv roots = jv_object_get(jv_copy(rec), jv_string("src_roots"));
    if (jv_get_kind(roots) == JV_KIND_ARRAY) {
        jv_array_foreach(roots, i, r) {
            const char *why;
            /* one that cannot be a root (not a directory, /proc) is no root:
             * its files are refused one by one, with the reason */
            if (jv_get_kind(r) == JV_KIND_STRING && jv_string_value(r)[0] == '/')
                sx_roots_add(e->roots, jv_string_value(r), &why);
            jv_free(r);
        }
    }
    jv_free(roots);
}

/* An item failed upstream: it counts as failed, and error_file_list.json
 * names it as the SDK would (the record's `file`, else `<id>.json`).
 * @rec borrowed */
static void take_error(sx_export *e, jv rec)
{
    jv item = jv_object_get(jv_copy(rec), jv_string("item"));
    if (jv_is_valid(item) && jv_get_kind(item) != JV_KIND_NULL) {
        const char *msg = sx_get_str(rec, "message"), *reason = sx_get_str(rec, "reason");
        const char *file = sx_get_str(rec, "file"), *cs = sx_get_str(rec, "category");
        char *k = item_key(item);
        if (k && !sx_items_failed(e->tab, k, strlen(k))) {
            char name[300];
            if (file && *file)
                snprintf(name, sizeof name, "%s", bare_name(file));
            else
                snprintf(name, sizeof name, "%s.json", k[0] == '"' ? jv_string_value(item) : k);
            errlist_add(e, cs && !strcmp(cs, "original_file") ? CAT_ORIG : CAT_DATA, name, msg ? msg : "failed");
        }
        free(k);
        item_touch(e, item);
        item_fail(e, item, 1, reason ? reason : msg ? msg : "failed upstream");
    }
    jv_free(item);
}

/* Part of an item left out or ignored: counted for the summary, never a
 * failure. @rec borrowed */
static void take_warning(sx_export *e, jv rec)
{
    const char *kind = sx_get_str(rec, "kind"), *reason = sx_get_str(rec, "reason");
    double n = sx_get_num(rec, "count", 1);
    jv item = jv_object_get(jv_copy(rec), jv_string("item"));
    char *k = item_key(item);
    sx_tally_add(kind && !strcmp(kind, "ignored") ? e->ignored : e->dropped, reason ? reason : "other",
                 n >= 1 && n < 1e15 ? (uint64_t)n : 1, k);
    free(k);
    jv_free(item);
}

static int on_line(sx_export *e, const char *line, size_t len)
{
    sx_kind k = sx_proto_kind(line, len);
    if (k == SX_END) {
        e->got_end = 1;
        /* a converter's end says how many items it converted */
        jv rec = sx_parse_object(line, len);
        double n = jv_is_valid(rec) ? sx_get_num(rec, "items", -1) : -1;
        if (n >= 0 && n < 1e18) {
            e->conv_items = (uint64_t)n;
            e->have_conv_items = 1;
        }
        double f = jv_is_valid(rec) ? sx_get_num(rec, "filtered", -1) : -1;
        e->filtered = f >= 0 && f < 1e18 ? (uint64_t)f : 0;
        jv_free(rec);
        return 0;
    }
    e->got_end = 0;
    if (k == SX_FILE) {
        jv rec = sx_parse_object(line, len);
        if (!jv_is_valid(rec)) {
            jv msg = jv_invalid_get_msg(rec);
            fail(e, e->lineno, "bad file record: %s",
                 jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "not JSON");
            jv_free(msg);
            return -1;
        }
        return on_file(e, rec);
    }
    if (k == SX_DATA) {
        if (!e->o->keep_going) {
            /* say what came, and where sx-save belongs */
            size_t i = 0;
            while (i < len && (line[i] == ' ' || line[i] == '\t'))
                i++;
            if (i < len && line[i] == '{')
                fail(e, e->lineno, "an item, not a file record: sx-save writes what a converter makes of items "
                                   "(sx-fetch ... | sx-convert-coco | sx-save -o DIR)");
            else
                fail(e, e->lineno, "not JSON, not a file record: sx-save reads the records of a converter "
                                   "(sx-fetch ... | sx-convert-coco | sx-save -o DIR)");
            return -1;
        }
        char msg[80];
        snprintf(msg, sizeof msg, "line %llu: not a file record, skipped", (unsigned long long)e->lineno);
        emit(e, sx_rec_error(jv_null(), "save", msg));
        return 0;
    }
    if (k == SX_META || k == SX_ERROR || k == SX_WARNING) {
        jv rec = sx_parse_object(line, len);
        if (jv_is_valid(rec) && k == SX_META)
            take_meta(e, rec);
        else if (jv_is_valid(rec) && k == SX_ERROR)
            take_error(e, rec);
        else if (jv_is_valid(rec))
            take_warning(e, rec);
        jv_free(rec);
    }
    emit_raw(e, line, len);
    return 0;
}

/* ---- opening, committing, rolling back ---- */

/* mkdir -p of the directories above DIR, remembering those it made: a
 * rollback removes them again (when empty). */
static void make_parents(sx_export *e)
{
    char *p = strdup(e->dir);
    if (!p)
        return;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(p, 0777) == 0 && e->nparents < (int)(sizeof e->parents / sizeof *e->parents))
            e->parents[e->nparents++] = strdup(p);
        *q = '/';
    }
    free(p);
}

/* Why DIR, which holds the manifest of an earlier run, is refused, and
 * only what can work: --resume continues an export that was cut, never one
 * that is complete. */
static void earlier_run(int rootfd, const char *dir, char *err, size_t errlen)
{
    char why[512];
    sx_manifest *m = sx_manifest_open(rootfd, why, sizeof why);
    if (!m && errno == EBUSY)
        snprintf(err, errlen, "'%s' is being written by a running sx-save", dir);
    else if (!m && errno == EINVAL)
        snprintf(err, errlen, "'%s' holds the export of an earlier run, but %s", dir, why);
    else if (m && sx_manifest_committed(m))
        snprintf(err, errlen, "'%s' holds the complete export of an earlier run: write elsewhere (--unique "
                              "picks a new name beside it), or remove it first (sx-save --rollback '%s' removes "
                              "what that run wrote)", dir, dir);
    else
        snprintf(err, errlen, "'%s' holds the unfinished export of an earlier run; use --resume to continue "
                              "it or --rollback to undo it", dir);
    sx_manifest_free(m);
}

sx_export *sx_export_open(const sx_export_opts *o, char *err, size_t errlen)
{
    sx_export *e = calloc(1, sizeof *e);
    if (!e || !(e->buf = malloc(COPY_BUF))) {
        free(e);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->o = o;
    e->meta = jv_null();
    e->rootfd = -1;
    e->errlist[0] = jv_array();
    e->errlist[1] = jv_array();
    mode_t um = umask(0);
    umask(um);
    e->file_mode = 0666 & ~um;
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    e->failures = sx_tally_new();
    e->dropped = sx_tally_new();
    e->ignored = sx_tally_new();
    if (!(e->roots = sx_roots_new()) || !e->failures || !e->dropped || !e->ignored) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < o->nallow_src; i++) {
        const char *why;
        if (sx_roots_add(e->roots, o->allow_src[i], &why) < 0) {
            snprintf(err, errlen, "--allow-src '%s': %s", o->allow_src[i], why);
            goto fail;
        }
    }
    size_t dl = strlen(o->dir);
    e->dir = malloc(dl + 24);
    if (!e->dir || !(e->tab = sx_items_new_window(ITEM_WINDOW)) || !(e->paths = sx_bloom_new(0))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    strcpy(e->dir, o->dir);
    while (dl > 1 && e->dir[dl - 1] == '/')
        e->dir[--dl] = 0;
    struct stat st;
    if (o->resume) {
        e->rootfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (e->rootfd < 0) {
            snprintf(err, errlen, "cannot resume '%s': %s", e->dir, strerror(errno));
            goto fail;
        }
        e->m = sx_manifest_reopen(e->rootfd, err, errlen);
        if (!e->m) {
            if (errno == ENOENT)
                snprintf(err, errlen, "cannot resume '%s': it holds no %s", e->dir, SX_MANIFEST_NAME);
            else if (errno == EBUSY)
                snprintf(err, errlen, "cannot resume '%s': a running sx-save is writing it", e->dir);
            goto fail;
        }
        if (sx_manifest_committed(e->m)) {
            snprintf(err, errlen, "cannot resume '%s': its export is complete already", e->dir);
            goto fail;
        }
        e->created_root = sx_manifest_created_root(e->m);
        if (sx_manifest_resume(e->m) < 0) {
            snprintf(err, errlen, "cannot write '%s/%s': %s", e->dir, SX_MANIFEST_NAME, strerror(errno));
            goto fail;
        }
    } else {
        if (o->unique && stat(e->dir, &st) == 0) {
            char *base = strdup(e->dir);
            if (!base) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            for (int i = 1;; i++) {
                snprintf(e->dir, dl + 24, "%s(%d)", base, i);
                if (stat(e->dir, &st) < 0 && errno == ENOENT)
                    break;
                if (i == 100000) {
                    free(base);
                    snprintf(err, errlen, "no free name like '%s(N)'", o->dir);
                    goto fail;
                }
            }
            free(base);
        }
        int made = mkdir(e->dir, 0777) == 0;
        if (!made && errno == ENOENT) {
            make_parents(e);   /* -o exports/coco-1 without exports/ */
            made = mkdir(e->dir, 0777) == 0;
        }
        if (made) {
            e->created_root = 1;
        } else if (errno != EEXIST) {
            snprintf(err, errlen, "cannot create '%s': %s", e->dir, strerror(errno));
            goto fail;
        }
        e->rootfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (e->rootfd < 0) {
            snprintf(err, errlen, "cannot open '%s': %s", e->dir, strerror(errno));
            goto fail;
        }
        if (!e->created_root) {
            if (fstatat(e->rootfd, SX_MANIFEST_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                earlier_run(e->rootfd, e->dir, err, errlen);
                goto fail;
            }
            if (!o->force && sx_dir_is_empty(e->rootfd) != 1) {
                /* --resume needs a manifest, which it has not */
                snprintf(err, errlen, "'%s' exists and is not empty (use --force to write into it, or --unique)",
                         e->dir);
                goto fail;
            }
        }
        e->m = sx_manifest_create(e->rootfd, e->created_root, err, errlen);
        if (!e->m) {
            if (e->created_root)
                rmdir(e->dir);
            goto fail;
        }
    }
    if (!o->no_sync && !(e->sq = sx_syncq_new())) {
        snprintf(err, errlen, "cannot start a thread: %s", strerror(errno));
        goto fail;
    }
    e->dl = sx_dl_new(&o->dl);
    if (!e->dl) {
        snprintf(err, errlen, "cannot start libcurl");
        goto fail;
    }
    return e;
fail:
    sx_export_free(e);
    return NULL;
}

const char *sx_export_dir(const sx_export *e) { return e->dir; }

static int write_small(sx_export *e, const char *path, const char *text)
{
    if (path_claimed(e, path)) {
        fail(e, 0, "'%s' was written by the stream; sx-save writes that name itself", path);
        return -1;
    }
    sfile *f = sfile_new(e, path, jv_null(), CAT_DATA);
    if (!f) {
        fail(e, 0, "out of memory");
        return -1;
    }
    const char *why = NULL;
    int rc = sfile_begin(f, 1, &why);
    if (rc == 1)
        fail(e, 0, "cannot write '%s': %s", path, why);
    if (rc == 0 && sfile_write(f, text, strlen(text)) == 0) {
        char hex[65];
        sx_sha256_hex(&f->sha, hex);
        rc = sfile_publish(f, hex, 0, &why);
        if (rc == 1)
            fail(e, 0, "cannot write '%s': %s", path, why);
    }
    sfile_free(f);
    return e->fatal ? -1 : 0;
}

/* --add: the extra local files, copied in once the stream has ended. */
static void add_files(sx_export *e)
{
    for (size_t i = 0; i < e->o->nextras && !e->fatal; i++) {
        const sx_export_extra *x = &e->o->extras[i];
        if (!x->src)
            continue;
        if (path_claimed(e, x->path)) {
            fail(e, 0, "--add: '%s' was also written by the stream", x->path);
            return;
        }
        sx_bloom_add(e->paths, x->path, strlen(x->path));
        sfile *f = sfile_new(e, x->path, jv_null(), CAT_DATA);
        if (!f) {
            fail(e, 0, "out of memory");
            return;
        }
        const char *why = NULL;
        char whybuf[600];
        int rc = do_src(e, f, x->src, SRC_ADD, &why, whybuf, sizeof whybuf);
        if (rc == 1)
            fail(e, 0, "--add %s: %s", x->path, why);
        if (rc != 0)
            sfile_free(f); /* else the batch owns it */
    }
}

/* --add-json: each program runs on the result (with the upstream meta);
 * its first output is written, indented, at its path. @result borrowed. */
static int add_json_files(sx_export *e, jv result)
{
    for (size_t i = 0; i < e->o->nextras; i++) {
        const sx_export_extra *x = &e->o->extras[i];
        if (!x->jq)
            continue;
        jv in = jv_object_set(jv_copy(result), jv_string("meta"), jv_copy(e->meta));
        sx_jqprog_start(x->jq, in);
        jv v;
        int k = sx_jqprog_next(x->jq, &v);
        if (k <= 0) {
            fail(e, 0, "--add-json %s: %s", x->path, k < 0 ? jv_string_value(v) : "the program gave no value");
            if (k < 0)
                jv_free(v);
            return -1;
        }
        jv extra; /* drain the rest: only the first value is kept */
        while (sx_jqprog_next(x->jq, &extra) != 0)
            jv_free(extra);
        jv s = jv_dump_string(v, JV_PRINT_INDENT_FLAGS(4));
        char *text = NULL;
        if (asprintf(&text, "%s\n", jv_string_value(s)) < 0)
            text = NULL;
        jv_free(s);
        int r = text ? write_small(e, x->path, text) : (fail(e, 0, "out of memory"), -1);
        free(text);
        if (r < 0)
            return -1;
        sx_bloom_add(e->paths, x->path, strlen(x->path));
    }
    return 0;
}

/* Items exported and failed, as sx saw them, never as the backend claims
 * (meta's total is for progress only). Failed: items named by an error
 * record of any stage, and items a file of which failed here. Exported: the
 * items the converter converted (its end record says how many: COCO keeps
 * an item's annotations in the one shared annotations.json, so items need
 * not show through files of their own) less those that failed here; without
 * that count, the items seen through their files that did not fail. */
static void count_items(const sx_export *e, uint64_t *ok, uint64_t *bad)
{
    uint64_t seen_ok, up, here;
    sx_items_count(e->tab, &seen_ok, &up, &here);
    *bad = up + here;
    if (e->have_conv_items)
        *ok = e->conv_items > here ? e->conv_items - here : 0;
    else
        *ok = seen_ok;
}

const sx_tally *sx_export_failures(const sx_export *e) { return e->failures; }

const sx_tally *sx_export_warnings(const sx_export *e, int ignored) { return ignored ? e->ignored : e->dropped; }

void sx_export_counts(const sx_export *e, uint64_t *exported, uint64_t *failed, uint64_t *failed_files)
{
    count_items(e, exported, failed);
    *failed_files = e->bad[0] + e->bad[1];
}

uint64_t sx_export_link_copies(const sx_export *e, const char **why)
{
    *why = e->link_copy_why;
    return e->link_copies;
}

/* The directories recorded are made durable before the commit record. */
static int sync_dir(void *ctx, const char *dir)
{
    sx_export *e = ctx;
    if (sx_fsync_dir_at(e->rootfd, dir) < 0 && errno != ENOENT) {
        fail(e, 0, "cannot sync '%s': %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int commit(sx_export *e)
{
    uint64_t ok, bad;
    count_items(e, &ok, &bad);
    uint64_t nbad = e->bad[0] + e->bad[1];
    if (nbad || bad) {
        jv l = jv_object_set(jv_object(), jv_string("json_file_name"), jv_copy(e->errlist[CAT_DATA]));
        l = jv_object_set(l, jv_string("origin_file_name"), jv_copy(e->errlist[CAT_ORIG]));
        jv s = jv_dump_string(l, JV_PRINT_INDENT_FLAGS(4));
        int r = write_small(e, "error_file_list.json", jv_string_value(s));
        jv_free(s);
        if (r < 0)
            return -1;
    }
    if (e->urls)   /* the bar ends full: total is what was really downloaded */
        emit(e, sx_rec_progress("original_file", e->urls_done, e->urls));
    e->committing = 1;
    for (int cat = 0; cat < 2; cat++)
        if (e->ok[cat] + e->bad[cat])
            emit_metrics(e, cat);
    char real[PATH_MAX];
    const char *path = realpath(e->dir, real) ? real : e->dir;
    jv res = sx_rec("result");
    res = jv_object_set(res, jv_string("export_path"), jv_string(path));
    res = jv_object_set(res, jv_string("exported_count"), jv_number((double)ok));
    res = jv_object_set(res, jv_string("failed_count"), jv_number((double)bad));
    res = jv_object_set(res, jv_string("filtered_count"), jv_number((double)e->filtered));
    res = jv_object_set(res, jv_string("total_count"), jv_number((double)(ok + bad + e->filtered)));
    jv body = jv_object_delete(jv_copy(res), jv_string("sx"));
    if (add_json_files(e, body) < 0) {
        jv_free(body);
        jv_free(res);
        return -1;
    }
    jv s = jv_dump_string(body, JV_PRINT_INDENT_FLAGS(4));
    size_t n = (size_t)jv_string_length_bytes(jv_copy(s));
    char *text = malloc(n + 2);
    if (text) {
        memcpy(text, jv_string_value(s), n);
        text[n] = '\n';
        text[n + 1] = 0;
    }
    jv_free(s);
    int r = text ? write_small(e, "export.json", text) : (fail(e, 0, "out of memory"), -1);
    free(text);
    if (r < 0) {
        jv_free(res);
        return -1;
    }
    if (!e->o->no_sync) {
        if (sx_manifest_each_dir(e->m, sync_dir, e) < 0) {
            fail(e, 0, "cannot read the manifest back: %s", strerror(errno));
            jv_free(res);
            return -1;
        }
        if (fsync(e->rootfd) < 0) {
            fail(e, 0, "cannot sync '%s': %s", e->dir, strerror(errno));
            jv_free(res);
            return -1;
        }
    }
    if (sx_manifest_commit(e->m, e->files_written) < 0) {
        fail(e, 0, "cannot write the manifest: %s", strerror(errno));
        jv_free(res);
        return -1;
    }
    emit(e, res);
    emit(e, sx_rec_end(0));
    return 0;
}

/* sx-download's spools: what was not taken (an item that failed later, a
 * rollback) goes with them. */
static void purge_spools(sx_export *e)
{
    for (int i = 0; i < e->nspools; i++) {
        const char *why;
        sx_spool_dir_purge(e->spools[i], &why);
    }
}

static void rollback(sx_export *e)
{
    if (e->cur) {
        sfile_free(e->cur);
        e->cur = NULL;
    }
    free_batch(e);
    sx_dl_free(e->dl);
    e->dl = NULL;
    for (sfile *f = e->flying, *n; f; f = n) {
        n = f->next;
        sfile_free(f);
    }
    e->flying = NULL;
    sx_bloom_free(e->paths);   /* the rollback has a filter of its own */
    e->paths = NULL;
    char err[300] = "";
    if (sx_manifest_rollback(e->m, e->rootfd, &e->removed, err, sizeof err) < 0) {
        e->rollback_failed = 1;
        size_t l = strlen(e->error);
        snprintf(e->error + l, sizeof e->error - l, "; the rollback left something: %s", err);
    }
    if (e->created_root && !e->rollback_failed) {
        close(e->rootfd);
        e->rootfd = -1;
        if (rmdir(e->dir) == 0)
            e->removed++;
        for (int i = e->nparents - 1; i >= 0 && rmdir(e->parents[i]) == 0; i--)
            e->removed++;
    }
}

sx_export_status sx_export_run(sx_export *e, sx_feed *feed, sx_writer *out, volatile sig_atomic_t *stop,
                               const char *input)
{
    e->out = out;
    e->input = input;
    int eof = 0;
    int limit = e->o->dl.jobs * 2 + 8;
    for (;;) {
        if (stop && *stop)
            break;
        while (!eof && !e->fatal && sx_dl_pending(e->dl) < limit && !(stop && *stop)) {
            sx_feed_line l;
            int r = sx_feed_next(feed, &l);
            if (r == 0)
                break;
            if (r < 0) {
                eof = 1;
                break;
            }
            e->lineno = l.lineno;
            on_line(e, l.line, l.len);
            free(l.line);
        }
        if (e->fatal || (stop && *stop))
            break;
        if (eof && sx_dl_pending(e->dl) == 0)
            break;
        batch_step(e, 0);   /* before waiting: files in place, logs out */
        if (e->fatal)
            break;
        if (!e->out_dead && sx_writer_flush(e->out) < 0)
            e->out_dead = 1;
        int wake[2] = {!eof && sx_dl_pending(e->dl) < limit ? sx_feed_fd(feed) : -1,
                       e->ninflight ? sx_syncq_fd(e->sq) : -1};
        if (sx_dl_run(e->dl, wake, 2, wake[0] >= 0 ? 1000 : 100, on_download, e) < 0)
            fail(e, 0, "libcurl failed");
    }
    sx_export_status st = SX_EXPORT_FAILED;
    if (stop && *stop) {
        st = SX_EXPORT_STOPPED;
    } else if (!e->fatal) {
        if (sx_feed_failed(feed)) {
            fail(e, sx_feed_lineno(feed), "%s", sx_feed_error(feed));
        } else if (!e->got_end && e->lineno == 0) {
            fail(e, 0, "the input is empty: the stage before sx-save wrote nothing (did it fail? sx-save reads "
                       "what a converter makes of a stream of sx-fetch: sx-fetch ... | sx-convert-coco | "
                       "sx-save -o DIR)");
        } else if (!e->got_end) {
            fail(e, 0, "the upstream was cut short (no end record)");
        } else {
            finish_text(e);
            add_files(e);
            batch_step(e, 1);
            if (!e->fatal && e->o->strict && e->bad[0] + e->bad[1])
                fail(e, 0, "a file failed under --strict");
            if (!e->fatal && commit(e) == 0) {
                purge_spools(e);
                if (!e->out_dead && sx_writer_flush(e->out) < 0)
                    e->out_dead = 1;
                return SX_EXPORT_DONE;
            }
        }
    }
    if (st == SX_EXPORT_FAILED && e->o->strict && e->network)
        st = SX_EXPORT_NETWORK;
    rollback(e);
    purge_spools(e);
    if (!e->out_dead)
        sx_writer_flush(e->out);
    return st;
}

const char *sx_export_error(const sx_export *e) { return e->error; }

uint64_t sx_export_error_line(const sx_export *e) { return e->error_line; }

size_t sx_export_removed(const sx_export *e) { return e->removed; }

int sx_export_rollback_failed(const sx_export *e) { return e->rollback_failed; }

void sx_export_free(sx_export *e)
{
    if (!e)
        return;
    jv_free(e->meta);
    sfile_free(e->cur);
    free_batch(e);
    sx_syncq_free(e->sq);
    sx_dl_free(e->dl);
    for (sfile *f = e->flying, *n; f; f = n) {
        n = f->next;
        sfile_free(f);
    }
    sx_manifest_free(e->m);
    if (e->rootfd >= 0)
        close(e->rootfd);
    sx_items_free(e->tab);
    sx_bloom_free(e->paths);
    sx_roots_free(e->roots);
    sx_tally_free(e->failures);
    sx_tally_free(e->dropped);
    sx_tally_free(e->ignored);
    for (int i = 0; i < e->nspools; i++)
        free(e->spools[i]);
    for (int i = 0; i < e->nparents; i++)
        free(e->parents[i]);
    sx_buf_free(&e->logbuf);
    jv_free(e->errlist[0]);
    jv_free(e->errlist[1]);
    free(e->skip_path);
    free(e->buf);
    free(e->dir);
    free(e);
}

int sx_export_rollback_dir(const char *dir, size_t *removed, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open '%s': %s", dir, strerror(errno));
        return -1;
    }
    sx_manifest *m = sx_manifest_open(fd, err, errlen);
    if (!m) {
        if (errno == ENOENT)
            snprintf(err, errlen, "'%s' holds no %s: nothing to roll back", dir, SX_MANIFEST_NAME);
        else if (errno == EBUSY)
            snprintf(err, errlen, "cannot roll back '%s': a running sx-save is writing it", dir);
        close(fd);
        return -1;
    }
    int created = sx_manifest_created_root(m);
    int rc = sx_manifest_rollback(m, fd, removed, err, errlen);
    sx_manifest_free(m);
    close(fd);
    if (rc == 0 && created && rmdir(dir) == 0 && removed)
        (*removed)++;
    return rc;
}
