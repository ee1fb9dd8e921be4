/*
 * sx_manifest.h : the write-ahead rollback manifest of an export,
 * DIR/.sx-manifest.ndjson.
 *
 * Every directory and file sx-save creates under DIR is recorded here before
 * it appears, so that whatever state a crash leaves, the manifest names
 * everything that may have been created and nothing else. One JSON object a
 * line, appended with write(2) (a SIGKILL loses nothing written), the file
 * fdatasync'd by sx_manifest_sync() before files are renamed into place and
 * before the commit record:
 *
 *   {"op":"begin","version":1,"created_root":true}   first line; created_root:
 *                                                     DIR itself was created
 *   {"op":"dir","path":"a/b"}                         before mkdir of DIR/a/b
 *   {"op":"file","path":"a/b/c.jpg","tmp":"a/b/.c.jpg.sx-1f2e3d"}
 *                                                     before the temporary
 *                                                     file is created; the
 *                                                     final name did not exist
 *   {"op":"done","path":"a/b/c.jpg","size":123,"sha256":"…"}
 *                                                     after the rename into
 *                                                     place (data fsync'd)
 *   {"op":"drop","path":"a/b/c.jpg"}                  the file was removed
 *                                                     again (a failed item)
 *   {"op":"resume"}                                   a --resume run starts
 *   {"op":"commit","files":N}                         the export is complete
 *
 * Rollback walks the records backwards: for a file it removes the temporary
 * name and, unless dropped, the final name; for a directory it removes it if
 * empty; then the manifest itself, and DIR when created_root. It touches no
 * path that has no record.
 *
 * A manifest read back is untrusted: sx_manifest_load() takes only records
 * as sx-save writes them (begin first, paths sx_path_check() accepts, a tmp
 * that is a temporary name of its path, done with a whole size and a
 * sha256, done and drop for recorded files) and refuses anything else with
 * "DIR/.sx-manifest.ndjson:LINE: why", so that a torn or tampered manifest
 * never drives a rollback. A last line without its newline (a crash
 * mid-append) is not a record: it is ignored, and cut off when the manifest
 * is loaded to append (--resume).
 *
 * Memory. A manifest sx-save writes (sx_manifest_create()), one it
 * continues (sx_manifest_reopen(), --resume) and one opened to roll back
 * (sx_manifest_open()) keep no record in memory: the file is
 * the record, read back in a bounded buffer (sx_manifest_rollback(),
 * sx_manifest_each_dir(), sx_manifest_run_has()). The rollback reads it
 * last record first, keeping the paths it has dealt with in a Bloom filter
 * of a fixed size (sx_bloom.h, 16 MiB); a path the filter may have seen and
 * that is on disk is settled by reading the records after its own, never
 * by the filter alone (a false positive costs one forward read of the
 * manifest for up to 4096 such paths). Its memory is bounded whatever the
 * number of records. Reopening sorts the earlier runs' records on disk
 * (sx_extsort.h) into a table of the files they finished, which
 * sx_manifest_find() looks up and reads back. A manifest loaded with
 * sx_manifest_load() (tests, the fuzz target) keeps its entries: about
 * 200 bytes and the paths, a file.
 *
 * The manifest is locked (flock, exclusive) by the sx-save writing it, and
 * by sx_manifest_load(): a second sx-save, --resume or --rollback on a live
 * export is refused (errno EBUSY), while the lock of a process that died
 * (SIGKILL) is gone with it.
 *
 * The library never prints; functions return -1 with a message in `err`.
 */
#ifndef SX_MANIFEST_H
#define SX_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define SX_MANIFEST_NAME ".sx-manifest.ndjson"

typedef struct sx_manifest sx_manifest;

typedef enum { SX_MF_DIR, SX_MF_PENDING, SX_MF_DONE, SX_MF_DROPPED } sx_mf_state;

typedef struct {
    sx_mf_state state;
    char *path;        /* relative to DIR */
    char *tmp;         /* temporary name relative to DIR (files), or NULL */
    int64_t size;      /* when DONE */
    char sha256[65];   /* when DONE */
} sx_mf_entry;

/*! sx_manifest_create() : creates DIR/.sx-manifest.ndjson (it must not
 *  exist) under `rootfd` and writes the begin record.
 *  @return the manifest, or NULL with a message in err. */
sx_manifest *sx_manifest_create(int rootfd, int created_root, char *err, size_t errlen);

/*! sx_manifest_load() : locks and reads an existing manifest into memory
 *  (its entries); with `append`, keeps it open to add records (--resume). @return NULL with a message in
 *  err (no manifest: errno ENOENT; locked by a live sx-save: EBUSY; torn or
 *  tampered: EINVAL, the message names the manifest and the line). */
sx_manifest *sx_manifest_load(int rootfd, int append, char *err, size_t errlen);

/*! sx_manifest_reopen() : for --resume: locks and checks an existing
 *  manifest as sx_manifest_load() does, keeping none of it in memory, and
 *  opens it to append. Unless it is committed (sx_manifest_committed(): the
 *  caller refuses to resume), files a crash left pending are removed and
 *  recorded dropped (as sx_manifest_clean_pending()), and the files the
 *  earlier runs finished are indexed on disk for sx_manifest_find().
 *  @return NULL with a message in err, errno as sx_manifest_load(). */
sx_manifest *sx_manifest_reopen(int rootfd, char *err, size_t errlen);

/*! sx_manifest_open() : locks and checks an existing manifest as
 *  sx_manifest_load() does, keeping none of it in memory (for
 *  sx_manifest_rollback()). A done or drop record is checked against a
 *  filter of the paths with a file record: one the filter falsely says
 *  has one passes (the rollback does not remove more for it).
 *  @return NULL with a message in err, errno as sx_manifest_load(). */
sx_manifest *sx_manifest_open(int rootfd, char *err, size_t errlen);

/*! Appending records. Strings are borrowed. @return 0, or -1 with errno. */
int sx_manifest_dir(sx_manifest *m, const char *path);
int sx_manifest_file(sx_manifest *m, const char *path, const char *tmp);
int sx_manifest_done(sx_manifest *m, const char *path, int64_t size, const char *sha256);
int sx_manifest_drop(sx_manifest *m, const char *path);
int sx_manifest_resume(sx_manifest *m);

/*! sx_manifest_sync() : fdatasync of the manifest when records were added
 *  since the last sync. @return 0 or -1 with errno. */
int sx_manifest_sync(sx_manifest *m);

/*! sx_manifest_commit() : syncs, appends the commit record, syncs again. */
int sx_manifest_commit(sx_manifest *m, uint64_t files);

/*! sx_manifest_fd() : the descriptor records are appended to (-1 when
 *  loaded read-only), for a caller that syncs it elsewhere. */
int sx_manifest_fd(const sx_manifest *m);

/*! sx_manifest_committed(), sx_manifest_created_root() : from the records. */
int sx_manifest_committed(const sx_manifest *m);
int sx_manifest_created_root(const sx_manifest *m);

/*! sx_manifest_find() : the latest file entry for `path`, or NULL. A
 *  reopened manifest answers for the files the earlier runs finished (state
 *  SX_MF_DONE, size, sha256; path and tmp NULL), read back from the file;
 *  other manifests that keep no entries answer NULL. The pointer is valid
 *  until the next record is added or the next call. */
const sx_mf_entry *sx_manifest_find(sx_manifest *m, const char *path);

/*! sx_manifest_count(), sx_manifest_entry() : entries in record order
 *  (dirs and files; done/drop records update their file's entry); none for
 *  a manifest that keeps no entries. */
size_t sx_manifest_count(const sx_manifest *m);
const sx_mf_entry *sx_manifest_entry(const sx_manifest *m, size_t i);

/*! sx_manifest_each_dir() : calls each(ctx, dir) for every directory
 *  recorded, in record order, until it returns -1.
 *  @return 0, or -1 (each's failure, with its errno; a read error). */
int sx_manifest_each_dir(sx_manifest *m, int (*each)(void *ctx, const char *dir), void *ctx);

/*! sx_manifest_run_has() : 1 when this run recorded a file at `path` (the
 *  records since sx_manifest_resume(); all of a manifest this process
 *  created), 0 when not, -1 with errno when the manifest cannot be read.
 *  A manifest that keeps no entries is read back from where the run began:
 *  a question for the rare case a cheaper test cannot settle (sx_export.c). */
int sx_manifest_run_has(const sx_manifest *m, const char *path);

/*! sx_manifest_clean_pending() : for --resume: removes what files left
 *  pending by a crash may have left (temporary and final names) and records
 *  them dropped. @return 0, or -1 with a message in err. */
int sx_manifest_clean_pending(sx_manifest *m, int rootfd, char *err, size_t errlen);

/*! sx_manifest_rollback() : removes everything recorded, in reverse order,
 *  then the manifest, and closes it. It does not remove DIR itself: the
 *  caller does when sx_manifest_created_root() (it holds DIR's name).
 *  @removed  set to the number of files and directories removed.
 *  @return 0, or -1 with a message in err naming what could not be removed
 *          (a directory holding files of someone else is left, not an
 *          error). */
int sx_manifest_rollback(sx_manifest *m, int rootfd, size_t *removed, char *err, size_t errlen);

/*! sx_manifest_free() : closes and frees (the file stays); NULL accepted. */
void sx_manifest_free(sx_manifest *m);

#endif
