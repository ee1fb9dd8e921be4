/*
 * sx_safefs.h : files under one export directory, reached only through that
 * directory's descriptor.
 *
 * Paths that come from data are untrusted. sx_path_check() accepts only a
 * relative path of plain components (no empty, "." or ".." component, no
 * NUL, no leading "/"). Every other function walks such a path component by
 * component with openat(O_NOFOLLOW | O_DIRECTORY), so a symbolic link
 * planted anywhere under the root (or anything that is not a directory) is
 * refused with ELOOP or ENOTDIR instead of being followed out of it.
 *
 * Functions return 0 (or a descriptor) on success and -1 with errno set on
 * failure; the library never prints.
 */
#ifndef SX_SAFEFS_H
#define SX_SAFEFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/*! sx_path_check() :
 *  @path  `len` bytes (a JSON string may hold a NUL: len is its true length).
 *  @return NULL when the path is acceptable, else a static message saying
 *          why not ("absolute path", "'..' in path", …). */
const char *sx_path_check(const char *path, size_t len);

/*! sx_mkdir_cb : called with the relative path of a directory just before
 *  sx_mkdirs_at() creates it; a non-zero return stops with that error
 *  (errno left as the callback set it). @dir is valid during the call. */
typedef int (*sx_mkdir_cb)(void *ud, const char *dir);

/*! sx_open_parent() :
 *  Opens the directory that holds `path` (a checked relative path) under
 *  `rootfd`, without following links. With `create`, missing directories
 *  are created (mode 0777 & ~umask), each announced to `cb` first.
 *  @base  set to the last component of `path` (points into `path`).
 *  @return a directory descriptor (the caller closes it), or -1 with errno. */
int sx_open_parent(int rootfd, const char *path, int create, sx_mkdir_cb cb, void *ud,
                   const char **base);

/*! sx_tmp_create() :
 *  Creates a new empty file `.<base>.sx-XXXXXX` in `dirfd` (O_EXCL,
 *  O_NOFOLLOW, mode 0666 & ~umask) for writing.
 *  @name  receives the temporary name (at most `namelen` bytes with NUL).
 *  @return the descriptor, or -1 with errno. */
int sx_tmp_create(int dirfd, const char *base, char *name, size_t namelen);

/*! sx_tmp_name() : the temporary name sx_tmp_create() would try for `base`
 *  with suffix `n` (for a write-ahead record before the file exists). */
void sx_tmp_name(const char *base, unsigned n, char *name, size_t namelen);

/*! sx_tmp_open() : creates exactly `name` (from sx_tmp_name()) in `dirfd`,
 *  as sx_tmp_create() does. @return a descriptor or -1 with errno. */
int sx_tmp_open(int dirfd, const char *name);

/*! sx_publish() : renames `tmp` to `base` in `dirfd` without replacing an
 *  existing file (EEXIST then). @return 0 or -1 with errno. */
int sx_publish(int dirfd, const char *tmp, const char *base);

/*! sx_write_all() : write(2) until done, retrying on EINTR.
 *  @return 0, or -1 with errno (ENOSPC, EFBIG, …). */
int sx_write_all(int fd, const void *p, size_t n);

/*! sx_pread_full() : pread(2) of `n` bytes at `off`, retrying on EINTR
 *  and short reads. @return the bytes read (fewer than n only at the end
 *  of the file), or -1 with errno. */
ssize_t sx_pread_full(int fd, void *buf, size_t n, off_t off);

/*! sx_unlink_at() : removes the file `path` (a checked relative path) under
 *  `rootfd` without following links on the way; a missing file is not an
 *  error. @return 0 or -1 with errno. */
int sx_unlink_at(int rootfd, const char *path);

/*! sx_rmdir_at() : removes the empty directory `path` under `rootfd`; a
 *  missing one is not an error. @return 0 or -1 with errno (ENOTEMPTY). */
int sx_rmdir_at(int rootfd, const char *path);

/*! sx_stat_at() : lstat of `path` under `rootfd` through sx_open_parent().
 *  @return 0, or -1 with errno (ENOENT when absent). */
int sx_stat_at(int rootfd, const char *path, struct stat *st);

/*! sx_fsync_dir_at() : fsync of the directory `path` ("" for the root).
 *  @return 0 or -1 with errno. */
int sx_fsync_dir_at(int rootfd, const char *path);

/*! sx_dir_is_empty() : 1 when the directory `fd` holds nothing, 0 when it
 *  holds something, -1 with errno. The descriptor is not consumed. */
int sx_dir_is_empty(int fd);

#endif
