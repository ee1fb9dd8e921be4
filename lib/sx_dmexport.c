#include "sx_dmexport.h"

#include <stdlib.h>
#include <string.h>

#include "sx_fmt.h"

struct sx_dmexport {
    sx_strbuf path;
};

sx_dmexport *sx_dmexport_new(void) { return calloc(1, sizeof(sx_dmexport)); }

void sx_dmexport_free(sx_dmexport *d)
{
    if (!d)
        return;
    sx_sb_free(&d->path);
    free(d);
}

static int dm_item(void *ctx, sx_conv *cv, const sx_conv_item *it)
{
    sx_dmexport *d = ctx;
    sx_strbuf *p = &d->path;
    sx_sb_reset(p);
    if (*it->split) {
        sx_sb_puts(p, it->split);
        sx_sb_putc(p, '/');
    }
    sx_sb_puts(p, "json/");
    sx_sb_put(p, it->name, it->stem_len);
    sx_sb_puts(p, ".json");
    if (p->failed)
        return sx_conv_fatal(cv, "out of memory");
    jv s = jv_dump_string(sx_tape_value(it->data), JV_PRINT_INDENT_FLAGS(4));
    int rc = sx_conv_file_text(cv, p->p, it->idjson, "data_file", jv_string_value(s),
                               (size_t)jv_string_length_bytes(jv_copy(s)));
    jv_free(s);
    return rc;
}

sx_conv_ops sx_dmexport_ops(sx_dmexport *d) { return (sx_conv_ops){.ctx = d, .item = dm_item}; }
