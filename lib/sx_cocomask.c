#include "sx_cocomask.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

void sx_cocomask_whole_pixel(double *lo, double *hi, double max)
{
    if (*hi - *lo >= 1)
        return;
    double p = floor((*lo + *hi) / 2);
    if (p + 1 > max)
        p = max - 1;
    if (p < 0)
        p = 0;
    *lo = p;
    *hi = p + 1 < max ? p + 1 : max;
}

/* Distance from (px, py) to the segment (ax, ay)-(bx, by). */
static double seg_dist(double px, double py, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    double t = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double qx = ax + t * dx - px, qy = ay + t * dy - py;
    return sqrt(qx * qx + qy * qy);
}

/* Whether the pixel centre nearest (x, y) is inside the polygon (even-odd)
 * and half a pixel away from every edge: COCO's 1/5-pixel rounding cannot
 * lose it. */
static int centre_inside(const double *xy, size_t k, long w, long h, double x, double y)
{
    double cx = floor(x) + 0.5, cy = floor(y) + 0.5;
    if (cx < 0.5 || cy < 0.5 || cx > (double)w - 0.5 || cy > (double)h - 0.5)
        return 0;
    int inside = 0;
    for (size_t i = 0, j = k - 1; i < k; j = i++) {
        double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
        if (seg_dist(cx, cy, xi, yi, xj, yj) < 0.5)
            return 0;
        if ((yi > cy) != (yj > cy) && cx < (xj - xi) * (cy - yi) / (yj - yi) + xi)
            inside = !inside;
    }
    return inside;
}

/* A pixel centre clearly inside, near the vertices' mean or the centroid of
 * a triangle of consecutive vertices (a concave or self-crossing polygon
 * has its area there). */
static int clearly_covers(const double *xy, size_t k, long w, long h)
{
    double mx = 0, my = 0;
    for (size_t i = 0; i < k; i++)
        mx += xy[2 * i], my += xy[2 * i + 1];
    if (centre_inside(xy, k, w, h, mx / (double)k, my / (double)k))
        return 1;
    for (size_t i = 0; i < k; i++) {
        size_t a = (i + k - 1) % k, b = (i + 1) % k;
        double tx = (xy[2 * a] + xy[2 * i] + xy[2 * b]) / 3, ty = (xy[2 * a + 1] + xy[2 * i + 1] + xy[2 * b + 1]) / 3;
        if (centre_inside(xy, k, w, h, tx, ty))
            return 1;
    }
    return 0;
}

typedef struct {
    int *u, *v;
    size_t n, cap;
} outline;

static int put(outline *o, int u, int v)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 256;
        int *nu = realloc(o->u, cap * sizeof *nu);
        if (!nu)
            return -1;
        o->u = nu;
        int *nv = realloc(o->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        o->v = nv;
        o->cap = cap;
    }
    o->u[o->n] = u, o->v[o->n] = v, o->n++;
    return 0;
}

/* The outline at 5x, point by point, in the order maskApi.c visits it. */
static int walk(const double *xy, size_t k, outline *o)
{
    const double scale = 5;
    for (size_t j = 0; j < k; j++) {
        size_t n = (j + 1) % k;
        int xs = (int)(scale * xy[2 * j] + .5), ys = (int)(scale * xy[2 * j + 1] + .5);
        int xe = (int)(scale * xy[2 * n] + .5), ye = (int)(scale * xy[2 * n + 1] + .5);
        int dx = abs(xe - xs), dy = abs(ys - ye);
        int flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if (flip) {
            int t = xs;
            xs = xe, xe = t;
            t = ys, ys = ye, ye = t;
        }
        if (dx == 0 && dy == 0) { /* a repeated vertex: one point, never a crossing */
            if (put(o, xs, ys) < 0)
                return -1;
            continue;
        }
        double s = dx >= dy ? (double)(ye - ys) / dx : (double)(xe - xs) / dy;
        if (dx >= dy) {
            for (int d = 0; d <= dx; d++) {
                int t = flip ? dx - d : d;
                if (put(o, t + xs, (int)(ys + s * t + .5)) < 0)
                    return -1;
            }
        } else {
            for (int d = 0; d <= dy; d++) {
                int t = flip ? dy - d : d;
                if (put(o, (int)(xs + s * t + .5), t + ys) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Where the outline crosses a pixel column's centre, as column * h + row:
 * the mask toggles there; it covers a pixel when some pair of toggles in
 * sorted order is apart. */
static int walked_covers(const outline *o, long w, long h)
{
    const double scale = 5;
    uint64_t *a = malloc((o->n + 1) * sizeof *a);
    if (!a)
        return -1;
    size_t m = 0;
    for (size_t j = 1; j < o->n; j++) {
        if (o->u[j] == o->u[j - 1])
            continue;
        double xd = (double)(o->u[j] < o->u[j - 1] ? o->u[j] : o->u[j] - 1);
        xd = (xd + .5) / scale - .5;
        if (floor(xd) != xd || xd < 0 || xd > (double)(w - 1))
            continue;
        double yd = (double)(o->v[j] < o->v[j - 1] ? o->v[j] : o->v[j - 1]);
        yd = (yd + .5) / scale - .5;
        yd = yd < 0 ? 0 : yd > (double)h ? (double)h : yd;
        a[m++] = (uint64_t)xd * (uint64_t)h + (uint64_t)ceil(yd);
    }
    qsort(a, m, sizeof *a, cmp_u64);
    uint64_t end = (uint64_t)w * (uint64_t)h;
    int covers = 0;
    for (size_t i = 0; i < m && !covers; i += 2)
        covers = (i + 1 < m ? a[i + 1] : end) > a[i];
    free(a);
    return covers;
}

int sx_cocomask_covers(const double *xy, size_t k, long w, long h)
{
    if (k < 3 || w <= 0 || h <= 0)
        return 0;
    if (clearly_covers(xy, k, w, h))
        return 1;
    outline o = {0};
    int r = walk(xy, k, &o) < 0 ? -1 : walked_covers(&o, w, h);
    free(o.u);
    free(o.v);
    return r;
}
