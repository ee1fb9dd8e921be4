/*
 * sx_stream.h : reading and writing NDJSON streams.
 *
 * A reader hands out one line (one record) at a time from stdin or a list of
 * files, decompressing zstd input transparently (detected per file by its
 * magic bytes 28 B5 2F FD). The buffer grows to the longest line and no
 * further, so memory stays flat however long the stream is; a line is at
 * most SX_LINE_MAX_DEFAULT bytes (256 MiB) unless the environment variable
 * SX_MAX_LINE or sx_reader_set_max_line() says otherwise, so that 32 KiB of
 * zstd decoding to one 1 GiB line is an error, not a 2 GiB buffer. The
 * reader also follows the stream protocol just enough to tell whether every
 * input ended with an `end` record (sx_reader_complete()).
 *
 * A writer buffers output in large blocks and compresses it with zstd when
 * asked. The library never prints and never exits: functions return -1 or
 * NULL and leave a message for the caller (zstd's rule, see STYLE.md).
 */
#ifndef SX_STREAM_H
#define SX_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <jv.h>

typedef struct sx_reader sx_reader;
typedef struct sx_writer sx_writer;

/* Reader flags. */
enum {
    /* Hand out every physical line unchanged, terminator included: no BOM
     * stripping, no CR stripping, blank lines not skipped. For programs that
     * forward their input byte for byte (sx-progress). */
    SX_READ_RAW = 1
};

/* The longest line a reader hands out by default, terminator excluded. */
#define SX_LINE_MAX_DEFAULT ((size_t)256 << 20)

/*! sx_reader_open() :
 *  Opens a reader over `npaths` files read in order; with npaths == 0, or a
 *  path "-", standard input. Files are opened lazily, one at a time. The
 *  line bound is SX_MAX_LINE from the environment when set (bytes, or with
 *  a K, M or G suffix: 512M), else SX_LINE_MAX_DEFAULT.
 *  @paths  borrowed; must outlive the reader.
 *  @return a reader, or NULL when out of memory. An unreadable file, or an
 *          SX_MAX_LINE that is not a size, is reported by sx_reader_next(). */
sx_reader *sx_reader_open(char *const *paths, int npaths, int flags);

/*! sx_reader_set_max_line() : sets the longest line (bytes, `\n` excluded)
 *  to hand out; a longer line makes sx_reader_next() fail with "line longer
 *  than N bytes" (the caller names the input and the line, which is
 *  sx_reader_lineno() + 1) once it has read N bytes of it, however long it
 *  is. Overrides SX_MAX_LINE. @max at least 1. */
void sx_reader_set_max_line(sx_reader *r, size_t max);

/*! sx_parse_size() : a size as SX_MAX_LINE takes it: decimal bytes with an
 *  optional K, M or G suffix (powers of 1024), at least 1.
 *  @return 0 with *out set, or -1 when `s` is not such a size. */
int sx_parse_size(const char *s, size_t *out);

/*! sx_reader_next() :
 *  Reads the next record. Without SX_READ_RAW the line is handed out without
 *  its `\n` (and `\r`), a UTF-8 BOM at the start of a file is dropped and
 *  blank lines are skipped.
 *  @line, @len  set to the line, valid until the next call.
 *  @return 1 with a line, 0 at the end of all input, -1 on error (see
 *          sx_reader_error()); after an error the reader is unusable. */
int sx_reader_next(sx_reader *r, const char **line, size_t *len);

/*! sx_reader_run() : for a program that forwards its input (SX_READ_RAW):
 *  hands out, when it can, a run of whole lines at once instead of one line.
 *  A run holds only data records that begin with '{' (no control record, no
 *  blank line, no BOM); the reader counts them as sx_reader_next() would
 *  (lineno, records, end tracking). Any other line comes alone, as from
 *  sx_reader_next(). Finding a run costs a memchr() per line and a look at
 *  its first bytes, so forwarding goes at the speed of the decoder.
 *  @p, @n     the bytes, terminators included, valid until the next call
 *  @records   set to the number of lines in a run, 0 for a lone line
 *  @return 1 with a run, 2 with a lone line, 0 at the end, -1 on error. */
int sx_reader_run(sx_reader *r, const char **p, size_t *n, uint64_t *records);

/*! sx_reader_name() : "<stdin>" or the path of the file being read. */
const char *sx_reader_name(const sx_reader *r);

/*! sx_reader_lineno() : the physical line number (1-based) of the last line
 *  handed out, counting blank lines, in the current file. */
uint64_t sx_reader_lineno(const sx_reader *r);

/*! sx_reader_error() : what went wrong at the last -1, naming no file (the
 *  caller adds name and line). */
const char *sx_reader_error(const sx_reader *r);

/*! sx_reader_complete() : after sx_reader_next() returned 0, 1 when every
 *  input file that held any record ended with an `end` control record, 0
 *  when one was cut short (its name is then given by sx_reader_cut_name()).
 *  A wholly empty input is complete: nothing was lost (see
 *  sx_reader_records() for programs that must refuse it). */
int sx_reader_complete(const sx_reader *r);
const char *sx_reader_cut_name(const sx_reader *r);

/*! sx_reader_records() : records handed out so far, over all files. */
uint64_t sx_reader_records(const sx_reader *r);

/*! sx_reader_saw_control() : 1 when a control record was handed out so far.
 *  An incomplete input without any is not a cut sx stream (sx-fetch writes
 *  meta before any item) but items from elsewhere, made by hand: messages
 *  say how to convert those (SX_PLAIN_ITEMS_HINT). */
int sx_reader_saw_control(const sx_reader *r);

/* What a message says of an input of items without meta and end records. */
#define SX_PLAIN_ITEMS_HINT                                                                     \
    "items without the meta and end records of an sx stream (made by hand?): a converter "   \
    "takes them with --items, where the end of the input is their end"

/*! sx_reader_pending() : decoded bytes not yet handed out. 0 means the next
 *  sx_reader_next() reads (and may block): the moment to flush output and
 *  refresh a display. */
size_t sx_reader_pending(const sx_reader *r);

/*! sx_reader_wait() : waits up to `timeout_ms` for input. @return 1 when
 *  sx_reader_next() can go on (bytes ready, end of input, or an error to
 *  report), 0 when the time ran out first. */
int sx_reader_wait(sx_reader *r, int timeout_ms);

/*! sx_reader_free() : closes and frees; NULL is accepted. */
void sx_reader_free(sx_reader *r);

/*! sx_writer_open() :
 *  Opens a writer on `path` ("-" or NULL: standard output). The output is
 *  zstd-compressed when `zstd` is non-zero or the path ends in ".zst".
 *  A named file is created (truncated) with mode 0666 & ~umask.
 *  @return a writer, or NULL with errno set. */
sx_writer *sx_writer_open(const char *path, int zstd);

/*! sx_writer_write() : appends `n` bytes. @return 0, or -1 with errno set
 *  (EPIPE when the reader downstream went away). */
int sx_writer_write(sx_writer *w, const void *p, size_t n);

/*! sx_writer_line() : appends `n` bytes and a `\n`. @return as above. */
int sx_writer_line(sx_writer *w, const void *p, size_t n);

/*! sx_writer_jv() : appends `v` in compact form and a `\n`.
 *  @v consumed. @return as above. */
int sx_writer_jv(sx_writer *w, jv v);

/*! sx_writer_flush() : pushes buffered bytes (and a zstd block) to the file
 *  descriptor, so that a reader downstream sees them now. @return as above. */
int sx_writer_flush(sx_writer *w);

/*! sx_writer_close() : flushes, ends the zstd frame, closes the file (not
 *  stdout's descriptor) and frees. @return 0, or -1 with errno set if any
 *  write since the open failed. NULL is accepted. */
int sx_writer_close(sx_writer *w);

/*! sx_writer_discard() : frees without flushing (after a failure). */
void sx_writer_discard(sx_writer *w);

#endif
