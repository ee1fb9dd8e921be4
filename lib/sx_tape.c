#include "sx_tape.h"

#include <stdlib.h>
#include <string.h>

#include "sx_json.h"
#include "sx_utf8.h"

/* libjq refuses deeper texts; deeper ones go to it for its message. libjq
 * counts open arrays and objects and, inside an object, the key whose value
 * is being read; a container opened at 256 of those is refused. */
#define TAPE_MAX_DEPTH 256

struct sx_tape {
    sx_tnode *nodes;
    size_t n, cap;
    char *str;          /* unescaped strings, reserved at the text's size so
                           that pointers into it stay put during a parse */
    size_t str_cap;
    const char *text;
    sx_buf own;         /* the text of sx_tape_parse_jv() */
    const char *err;
};

typedef struct {
    sx_tape *t;
    const char *s, *p, *e;
    char *out;          /* next free byte of t->str */
    int depth;
} parser;

sx_tape *sx_tape_new(void) { return calloc(1, sizeof(sx_tape)); }

void sx_tape_free(sx_tape *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->str);
    sx_buf_free(&t->own);
    free(t);
}

const char *sx_tape_error(const sx_tape *t) { return t->err ? t->err : ""; }

const char *sx_tape_text(const sx_tape *t) { return t->text; }

static int fail(parser *ps, const char *why)
{
    ps->t->err = why;
    return -1;
}

/* @return the index of a new node, or -1 when out of memory. */
static long add_node(parser *ps, sx_tkind kind)
{
    sx_tape *t = ps->t;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        sx_tnode *nn = realloc(t->nodes, cap * sizeof *nn);
        if (!nn)
            return fail(ps, "out of memory");
        t->nodes = nn;
        t->cap = cap;
    }
    sx_tnode *nd = &t->nodes[t->n];
    nd->kind = (uint8_t)kind;
    nd->len = 0;
    nd->skip = 1;
    nd->start = (uint32_t)(ps->p - ps->s);
    nd->end = nd->start;
    return (long)t->n++;
}

static void ws(parser *ps)
{
    while (ps->p < ps->e && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* ps->p at the opening quote. */
static int string(parser *ps)
{
    long i = add_node(ps, SX_T_STRING);
    if (i < 0)
        return -1;
    const char *p = ps->p + 1, *e = ps->e;
    char *o = ps->out, *s0 = o;
    for (;;) {
        if (p >= e)
            return fail(ps, "unterminated string");
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(ps, "control character in a string");
        if (c < 0x80 && c != '\\') {
            *o++ = (char)c;
            p++;
        } else if (c >= 0x80) {
            size_t n = sx_utf8_seq((const unsigned char *)p, (const unsigned char *)e);
            if (!n)
                return fail(ps, "invalid UTF-8");
            memcpy(o, p, n);
            o += n, p += n;
        } else {
            if (p + 1 >= e)
                return fail(ps, "unterminated string");
            char x = p[1];
            p += 2;
            switch (x) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '/': *o++ = '/'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (e - p < 4 || hex4(p, &cp) < 0)
                    return fail(ps, "bad \\u escape");
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (e - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 || lo < 0xDC00 ||
                        lo > 0xDFFF)
                        return fail(ps, "lone surrogate");
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return fail(ps, "lone surrogate");
                }
                o = put_utf8(o, cp);
                break;
            }
            default:
                return fail(ps, "bad escape");
            }
        }
    }
    *o++ = 0;
    sx_tnode *nd = &ps->t->nodes[i];
    nd->u.str = s0;
    nd->len = (uint32_t)(o - 1 - s0);
    ps->out = o;
    ps->p = p + 1;
    nd->end = (uint32_t)(ps->p - ps->s);
    return 0;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int digit(const char *p, const char *e) { return p < e && *p >= '0' && *p <= '9'; }

static int number(parser *ps)
{
    long i = add_node(ps, SX_T_NUMBER);
    if (i < 0)
        return -1;
    const char *p = ps->p, *e = ps->e, *b = p;
    int neg = 0, sig = 0, exact = 1;
    uint64_t m = 0;
    long e10 = 0;
    if (*p == '-')
        neg = 1, p++;
    if (!digit(p, e))
        return fail(ps, "bad number");
    if (*p == '0') {
        p++;
        if (digit(p, e))
            return fail(ps, "leading zero");
    } else {
        for (; digit(p, e); p++) {
            if (sig < 19)
                m = m * 10 + (uint64_t)(*p - '0'), sig++;
            else
                exact = 0;
        }
    }
    if (p < e && *p == '.') {
        p++;
        if (!digit(p, e))
            return fail(ps, "bad number");
        for (; digit(p, e); p++) {
            if (m == 0 && *p == '0') {
                e10--; /* leading zeros of the fraction */
                continue;
            }
            if (sig < 19)
                m = m * 10 + (uint64_t)(*p - '0'), sig++, e10--;
            else
                exact = 0;
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        long x = 0;
        if (p < e && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (!digit(p, e))
            return fail(ps, "bad number");
        for (; digit(p, e); p++)
            if (x < 100000)
                x = x * 10 + (*p - '0');
        e10 += eneg ? -x : x;
    }
    double d;
    if (m == 0) {
        d = 0;
    } else if (exact && m <= (1ULL << 53) && e10 >= -22 && e10 <= 22) {
        /* both operands exact: one correctly rounded operation */
        d = e10 < 0 ? (double)m / pow10_exact[-e10] : (double)m * pow10_exact[e10];
    } else {
        char tmp[128], *buf = tmp;
        size_t n = (size_t)(p - b);
        if (n >= sizeof tmp && !(buf = malloc(n + 1)))
            return fail(ps, "out of memory");
        memcpy(buf, b, n);
        buf[n] = 0;
        d = strtod(buf, NULL);
        if (buf != tmp)
            free(buf);
        neg = 0;
    }
    sx_tnode *nd = &ps->t->nodes[i];
    nd->u.num = neg ? -d : d;
    ps->p = p;
    nd->end = (uint32_t)(p - ps->s);
    return 0;
}

static int literal(parser *ps, const char *word, size_t n, sx_tkind kind)
{
    if ((size_t)(ps->e - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected word");
    long i = add_node(ps, kind);
    if (i < 0)
        return -1;
    ps->p += n;
    ps->t->nodes[i].end = (uint32_t)(ps->p - ps->s);
    return 0;
}

static int value(parser *ps);

/* An array or an object (ps->p at its opening bracket). */
static int container(parser *ps, int obj)
{
    long i = add_node(ps, obj ? SX_T_OBJECT : SX_T_ARRAY);
    if (i < 0)
        return -1;
    if (++ps->depth > TAPE_MAX_DEPTH)
        return fail(ps, "too deep");
    char close = obj ? '}' : ']';
    uint32_t count = 0;
    ps->p++;
    ws(ps);
    if (ps->p < ps->e && *ps->p == close) {
        ps->p++;
    } else {
        for (;;) {
            ws(ps);
            if (obj) {
                if (ps->p >= ps->e || *ps->p != '"')
                    return fail(ps, "expected a key");
                if (string(ps) < 0)
                    return -1;
                ws(ps);
                if (ps->p >= ps->e || *ps->p != ':')
                    return fail(ps, "expected ':'");
                ps->p++;
                ps->depth++; /* the key, as libjq counts it */
            }
            if (value(ps) < 0)
                return -1;
            ps->depth -= obj;
            count++;
            ws(ps);
            if (ps->p < ps->e && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->e && *ps->p == close) {
                ps->p++;
                break;
            }
            return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    ps->depth--;
    sx_tnode *nd = &ps->t->nodes[i];
    nd->len = count;
    nd->skip = (uint32_t)(ps->t->n - (size_t)i);
    nd->end = (uint32_t)(ps->p - ps->s);
    return 0;
}

static int value(parser *ps)
{
    ws(ps);
    if (ps->p >= ps->e)
        return fail(ps, "expected a value");
    switch (*ps->p) {
    case '{':
        return container(ps, 1);
    case '[':
        return container(ps, 0);
    case '"':
        return string(ps);
    case 't':
        return literal(ps, "true", 4, SX_T_TRUE);
    case 'f':
        return literal(ps, "false", 5, SX_T_FALSE);
    case 'n':
        return literal(ps, "null", 4, SX_T_NULL);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return number(ps);
        return fail(ps, "unexpected character");
    }
}

const sx_tnode *sx_tape_parse(sx_tape *t, const char *text, size_t len)
{
    t->n = 0;
    t->err = NULL;
    t->text = text;
    if (len >= UINT32_MAX) {
        t->err = "text larger than 4 GiB";
        return NULL;
    }
    if (t->str_cap > (16u << 20) && len < (1u << 20)) { /* after a huge record: give it back */
        free(t->str);
        free(t->nodes);
        t->str = NULL;
        t->nodes = NULL;
        t->str_cap = t->cap = 0;
    }
    if (len + 1 > t->str_cap) {
        size_t cap = t->str_cap ? t->str_cap : 4096;
        while (cap < len + 1)
            cap *= 2;
        char *s = realloc(t->str, cap);
        if (!s) {
            t->err = "out of memory";
            return NULL;
        }
        t->str = s;
        t->str_cap = cap;
    }
    parser ps = {.t = t, .s = text, .p = text, .e = text + len, .out = t->str};
    if (value(&ps) < 0)
        return NULL;
    ws(&ps);
    if (ps.p != ps.e) {
        t->err = "text after the value";
        return NULL;
    }
    return t->nodes;
}

const sx_tnode *sx_tape_parse_jv(sx_tape *t, jv v)
{
    t->own.len = 0;
    if (sx_json_dump(&t->own, v) < 0) {
        t->err = "out of memory";
        return NULL;
    }
    return sx_tape_parse(t, t->own.p, t->own.len);
}

const sx_tnode *sx_tape_get(const sx_tnode *obj, const char *key, size_t keylen)
{
    if (!obj || obj->kind != SX_T_OBJECT)
        return NULL;
    const sx_tnode *k = obj + 1, *found = NULL;
    for (uint32_t i = 0; i < obj->len; i++) {
        if (k->len == keylen && memcmp(k->u.str, key, keylen) == 0)
            found = k + 1;
        k = sx_tape_after(k + 1);
    }
    return found;
}

const char *sx_tape_kind_name(const sx_tnode *n)
{
    static const char *const names[] = {"null", "boolean", "boolean", "number", "string", "array", "object"};
    return n && n->kind <= SX_T_OBJECT ? names[n->kind] : "invalid";
}

jv sx_tape_value(const sx_tnode *n)
{
    switch (n->kind) {
    case SX_T_NULL:
        return jv_null();
    case SX_T_FALSE:
        return jv_false();
    case SX_T_TRUE:
        return jv_true();
    case SX_T_NUMBER:
        return jv_number(n->u.num);
    case SX_T_STRING:
        return jv_string_sized(n->u.str, (int)n->len);
    case SX_T_ARRAY: {
        jv a = jv_array_sized((int)n->len);
        const sx_tnode *e = sx_tape_first(n);
        for (uint32_t i = 0; i < n->len; i++, e = sx_tape_after(e))
            a = jv_array_append(a, sx_tape_value(e));
        return a;
    }
    default: {
        jv o = jv_object();
        const sx_tnode *k = sx_tape_first(n);
        for (uint32_t i = 0; i < n->len; i++, k = sx_tape_after(k + 1))
            o = jv_object_set(o, jv_string_sized(k->u.str, (int)k->len), sx_tape_value(k + 1));
        return o;
    }
    }
}
