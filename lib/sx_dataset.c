#include "sx_dataset.h"
#include "sx_safefs.h"
#include "sx_errbuf.h"

#include "sx_imgsize.h"
#include "sx_roots.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct entry {
    const char *split; /* NULL without splits */
    char *dir;         /* the split's directory (absolute) */
    char *stem;        /* JSON file name without ".json" */
    char *image;       /* image file name, or NULL */
};

struct sx_dataset {
    char *root;
    sx_roots *roots;   /* the root: what is read is read beneath it */
    struct entry *e;
    size_t n, cap, next;
    char **dirs;       /* owned split directories */
    size_t ndirs;
};

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The sorted names of the regular entries of dir matching suffix (or all when
 * suffix is NULL), hidden ones excluded. @return count, or -1. */
static long list_dir(const char *dir, const char *suffix, char ***out)
{
    DIR *d = opendir(dir);
    *out = NULL;
    if (!d)
        return -1;
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    size_t sl = suffix ? strlen(suffix) : 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t l = strlen(de->d_name);
        if (suffix && (l <= sl || strcmp(de->d_name + l - sl, suffix) != 0))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv)
                goto oom;
            v = nv;
        }
        if (!(v[n] = strdup(de->d_name)))
            goto oom;
        n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmpstr);
    *out = v;
    return (long)n;
oom:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}

static void free_list(char **v, long n)
{
    for (long i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The image of `stem` among sorted `imgs`: the first name whose stem is it. */
static const char *find_image(char **imgs, long n, const char *stem)
{
    size_t sl = strlen(stem);
    /* binary search for the first name >= stem, then scan the names sharing the prefix */
    long lo = 0, hi = n;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (strcmp(imgs[mid], stem) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (long i = lo; i < n && strncmp(imgs[i], stem, sl) == 0; i++) {
        const char *rest = imgs[i] + sl;
        if (*rest == '.' && !strchr(rest + 1, '.'))
            return imgs[i];
    }
    return NULL;
}

static int add_split(sx_dataset *d, const char *split, const char *dir, char *err, size_t errlen)
{
    char *jdir, *odir = NULL;
    if (asprintf(&jdir, "%s/json", dir) < 0)
        return -1;
    char **names, **imgs = NULL;
    long n = list_dir(jdir, ".json", &names), ni = 0;
    if (n < 0) {
        sx_errf(err, errlen, "cannot read '%s': %s", jdir, strerror(errno));
        free(jdir);
        return -1;
    }
    free(jdir);
    if (asprintf(&odir, "%s/original_files", dir) < 0)
        odir = NULL;
    if (odir && !is_dir(odir)) {
        free(odir);
        if (asprintf(&odir, "%s/origin_files", dir) < 0)
            odir = NULL;
    }
    if (odir && is_dir(odir))
        ni = list_dir(odir, NULL, &imgs);
    if (ni < 0)
        ni = 0;
    char *sdir = strdup(dir);
    char **nd = realloc(d->dirs, (d->ndirs + 1) * sizeof *nd);
    if (!sdir || !nd) {
        free(sdir);
        free(odir);
        free_list(names, n);
        free_list(imgs, ni);
        return -1;
    }
    d->dirs = nd;
    d->dirs[d->ndirs++] = sdir;
    for (long i = 0; i < n; i++) {
        if (d->n == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 256;
            struct entry *ne = realloc(d->e, d->cap * sizeof *ne);
            if (!ne)
                break;
            d->e = ne;
        }
        struct entry *e = &d->e[d->n++];
        e->split = split;
        e->dir = sdir;
        names[i][strlen(names[i]) - 5] = 0;
        e->stem = names[i];
        names[i] = NULL;
        const char *img = find_image(imgs, ni, e->stem);
        e->image = NULL;
        if (img && odir)
            if (asprintf(&e->image, "%s/%s", odir, img) < 0)
                e->image = NULL;
    }
    free(odir);
    free_list(names, n);
    free_list(imgs, ni);
    return 0;
}

sx_dataset *sx_dataset_open(const char *dir, char *err, size_t errlen)
{
    sx_dataset *d = calloc(1, sizeof *d);
    char real[PATH_MAX];
    if (!d) {
        sx_errf(err, errlen, "out of memory");
        return NULL;
    }
    if (!realpath(dir, real) || !is_dir(real)) {
        sx_errf(err, errlen, "cannot read dataset '%s': %s", dir, errno ? strerror(errno) : "not a directory");
        free(d);
        return NULL;
    }
    d->root = strdup(real);
    const char *why;
    if (!(d->roots = sx_roots_new()) || sx_roots_add(d->roots, real, &why) < 0) {
        sx_errf(err, errlen, "cannot read dataset '%s': %s", dir, d->roots ? why : "out of memory");
        sx_dataset_free(d);
        return NULL;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/json", real);
    int rc = 0, found = 0;
    if (is_dir(path)) {
        found = 1;
        rc = add_split(d, NULL, real, err, errlen);
    } else {
        static const char *splits[] = {"train", "valid", "test"};
        for (int i = 0; i < 3 && rc == 0; i++) {
            snprintf(path, sizeof path, "%s/%s/json", real, splits[i]);
            if (!is_dir(path))
                continue;
            found = 1;
            snprintf(path, sizeof path, "%s/%s", real, splits[i]);
            rc = add_split(d, splits[i], path, err, errlen);
        }
    }
    if (!found) {
        sx_errf(err, errlen, "'%s' is not a DM dataset: no json/ nor train/json, valid/json, test/json", dir);
        rc = -1;
    }
    if (rc < 0) {
        if (err && !*err)
            sx_errf(err, errlen, "out of memory");
        sx_dataset_free(d);
        return NULL;
    }
    return d;
}

uint64_t sx_dataset_count(const sx_dataset *d) { return d->n; }

const char *sx_dataset_root(const sx_dataset *d) { return d->root; }

/* A JSON file of the dataset, read only when it is a regular file beneath
 * its root: a link out of it (to /etc/passwd) or a fifo is refused, not read.
 * @return its values as an array (jv_load_file()'s shape), or invalid. */
static jv load_beneath(sx_dataset *d, const char *path)
{
    struct stat st;
    const char *why;
    int fd = sx_roots_open(d->roots, path, &st, &why);
    if (fd < 0)
        return jv_invalid_with_msg(jv_string_fmt("%s", strcmp(why, "cannot open") ? why : strerror(errno)));
    if (st.st_size > INT32_MAX - 1) {
        close(fd);
        return jv_invalid_with_msg(jv_string("larger than 2 GiB"));
    }
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t k = buf ? sx_pread_full(fd, buf, (size_t)st.st_size, 0) : 0;
    size_t n = k > 0 ? (size_t)k : 0;
    close(fd);
    if (!buf || k < 0) {
        free(buf);
        return jv_invalid_with_msg(jv_string(buf ? "cannot read" : "out of memory"));
    }
    /* every value of the file, as jv_load_file() gives them */
    jv values = jv_array();
    struct jv_parser *pr = jv_parser_new(0);
    jv_parser_set_buf(pr, buf, (int)n, 0);
    jv v;
    while (jv_is_valid(v = jv_parser_next(pr)))
        values = jv_array_append(values, v);
    jv_parser_free(pr);
    free(buf);
    if (jv_invalid_has_msg(jv_copy(v))) {
        jv_free(values);
        return v;
    }
    jv_free(v);
    return values;
}

int sx_dataset_next(sx_dataset *d, jv *item, char *err, size_t errlen)
{
    if (d->next >= d->n)
        return 0;
    struct entry *e = &d->e[d->next++];
    char *path;
    if (asprintf(&path, "%s/json/%s.json", e->dir, e->stem) < 0) {
        sx_errf(err, errlen, "out of memory");
        return -1;
    }
    jv data = load_beneath(d, path);
    if (!jv_is_valid(data)) {
        jv m = jv_invalid_get_msg(data);
        sx_errf(err, errlen, "'%s': %s", path, jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "unreadable");
        jv_free(m);
        free(path);
        return -1;
    }
    if (jv_array_length(jv_copy(data)) != 1) {
        jv_free(data);
        sx_errf(err, errlen, "'%s': not one JSON value", path);
        free(path);
        return -1;
    }
    free(path);
    data = jv_array_get(data, 0);
    jv files = jv_object();
    if (e->image) {
        const char *base = strrchr(e->image, '/');
        files = jv_object_set(files, jv_string("path"), jv_string(e->image));
        files = jv_object_set(files, jv_string("file_name_original"), jv_string(base ? base + 1 : e->image));
        unsigned w, h;
        struct stat st;
        const char *why;
        int fd = sx_roots_open(d->roots, e->image, &st, &why);
        if (fd >= 0 && sx_imgsize_fd(fd, &w, &h) == 0) {
            files = jv_object_set(files, jv_string("width"), jv_number(w));
            files = jv_object_set(files, jv_string("height"), jv_number(h));
        }
        if (fd >= 0)
            close(fd);
    }
    jv it = jv_object();
    it = jv_object_set(it, jv_string("id"), jv_string(e->stem));
    it = jv_object_set(it, jv_string("files"), files);
    it = jv_object_set(it, jv_string("data"), data);
    if (e->split)
        it = jv_object_set(it, jv_string("split"), jv_string(e->split));
    *item = it;
    return 1;
}

void sx_dataset_free(sx_dataset *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->e[i].stem);
        free(d->e[i].image);
    }
    for (size_t i = 0; i < d->ndirs; i++)
        free(d->dirs[i]);
    free(d->dirs);
    free(d->e);
    free(d->root);
    sx_roots_free(d->roots);
    free(d);
}
