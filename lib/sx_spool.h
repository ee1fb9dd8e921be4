/*
 * sx_spool.h : temporary spool files in $TMPDIR (default /tmp).
 *
 * A spool is written once, front to back, then read back front to back: the
 * converters' way of holding COCO's images and annotations (or labels whose
 * class ids are not known yet) on disk instead of in memory.
 *
 * An anonymous spool has no name from the start (O_TMPFILE, or mkstemp()
 * followed by unlink()), so it disappears on every exit path, even SIGKILL.
 * A named spool is a finished file meant to be handed over to another
 * program (sx-save's `src` + `move: true`): it keeps its name until
 * sx_spool_free(), which unlinks it unless sx_spool_keep() was called; the
 * names of live named spools can also be unlinked from a signal handler with
 * sx_spool_unlink_all().
 *
 * Named spools live in a spool directory of the process,
 * "$TMPDIR/sx-spool.XXXXXX" (made on first use, mode 0700), removed at exit
 * when it is empty. That directory is what makes a spool file recognisable:
 * sx-save moves (renames, and may later remove) only a file that
 * sx_spool_take() finds in such a directory, owned by the same user and
 * closed to everyone else, so that no record can make it take a file sx did
 * not create (a `move` of ~/notes.txt is refused).
 */
#ifndef SX_SPOOL_H
#define SX_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct sx_spool sx_spool;

/*! sx_spool_new() : an anonymous spool. @return it, or NULL with errno set. */
sx_spool *sx_spool_new(void);

/*! sx_spool_new_named() : a named spool in the process's spool directory
 *  (mode 0644 & ~umask, so that it can be moved into an export as is).
 *  @return it, or NULL with errno set. */
sx_spool *sx_spool_new_named(void);

/*! sx_spool_path() : the file name of a named spool, NULL for an anonymous
 *  one. */
const char *sx_spool_path(const sx_spool *s);

/*! sx_spool_write() : appends bytes (buffered). @return 0, or -1 with errno. */
int sx_spool_write(sx_spool *s, const void *p, size_t n);

/*! sx_spool_size() : bytes written so far. */
uint64_t sx_spool_size(const sx_spool *s);

/*! sx_spool_finish() : flushes what is buffered and rewinds for reading.
 *  @return 0, or -1 with errno. */
int sx_spool_finish(sx_spool *s);

/*! sx_spool_read() : after sx_spool_finish(), reads up to `n` bytes.
 *  @return bytes read, 0 at the end, -1 with errno. */
long sx_spool_read(sx_spool *s, void *p, size_t n);

/*! sx_spool_line() : after sx_spool_finish(), the next `\n`-terminated line
 *  without its `\n`, valid until the next call.
 *  @return 1, 0 at the end, -1 with errno. */
int sx_spool_line(sx_spool *s, const char **line, size_t *len);

/*! sx_spool_keep() : a named spool was handed over: sx_spool_free() leaves
 *  the file in place. */
void sx_spool_keep(sx_spool *s);

/*! sx_spool_free() : closes, unlinks a named spool unless kept, frees.
 *  NULL is accepted. */
void sx_spool_free(sx_spool *s);

/*! sx_spool_unlink_all() : unlinks every live named spool that was not
 *  kept, and the spool directory when that leaves it empty.
 *  Async-signal-safe: for SIGINT/SIGTERM handlers. */
void sx_spool_unlink_all(void);

/*! sx_spool_take() : checks that `path` names a file that an sx program
 *  spooled for hand-over: a regular file with one link, owned by this user,
 *  directly in a directory named "sx-spool.XXXXXX" that is a real directory
 *  (not a link) owned by this user with no access for group or others.
 *  @dirfd  set to a descriptor of that directory (the caller closes it).
 *  @base   set to the file's name in it (points into `path`).
 *  @return 0, or -1 with *why a static message naming the rule broken. */
int sx_spool_take(const char *path, int *dirfd, const char **base, const char **why);

/*! sx_spool_dir_create() : a new spool directory "PARENT/sx-spool.XXXXXX"
 *  (mode 0700) for files handed over through a stream (sx-download).
 *  @parent NULL for $TMPDIR (default /tmp). @out receives its path.
 *  @return 0, or -1 with errno. */
int sx_spool_dir_create(const char *parent, char *out, size_t n);

/*! sx_spool_dir_check() : 0 when `dir` is a spool directory as
 *  sx_spool_take() requires of a file's directory (its name, a real
 *  directory, this user's, closed to others); -1 with *why otherwise. */
int sx_spool_dir_check(const char *dir, const char **why);

/*! sx_spool_dir_purge() : removes the spool directory `dir` (checked with
 *  sx_spool_dir_check() first) and the regular files left in it: what a
 *  pipeline was handed and did not take. Anything else in it (a link, a
 *  directory) is left, and so is the directory then.
 *  @return files removed, or -1 with *why (not a spool directory). */
long sx_spool_dir_purge(const char *dir, const char **why);

/*! sx_spool_dir_done() : removes the spool directory that holds `path`
 *  (checked by sx_spool_take()) if it is empty now; else leaves it. */
void sx_spool_dir_done(const char *path);

#endif
