/*
 * fuzz_sql_rewrite.c — sql_pg_rewrite() (capp/sql_pg.c) on arbitrary text: the hand-written
 * lexer that turns "?" / "?N" into "$N" outside literals, identifiers and comments. Aborts when
 * an accepted text grows beyond its bound, when a "?" disappears without a "$" taking its place
 * (or the other way round), when a text without "?" changes, or when a refusal returns output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capp/err.h"
#include "capp/sql_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count(const char *s, char ch)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == ch;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0'; /* SQL texts are C strings: what follows a NUL is not part of it */
    char *out = NULL;
    int nparams = -1;
    int rc = sql_pg_rewrite(in, &out, &nparams);
    if (rc != 0) {
        if (rc != CAPP_EINVAL || out)
            abort();
        free(in);
        return 0;
    }
    size_t in_len = strlen(in), out_len = strlen(out);
    size_t rewritten = count(in, '?') - count(out, '?');
    if (count(out, '?') > count(in, '?') || out_len > in_len * 6 ||
        count(out, '$') - count(in, '$') != rewritten || (rewritten > 0) != (nparams > 0) ||
        nparams < 0 || nparams > SQL_MAX_PARAMS)
        abort();
    if (!strchr(in, '?') && strcmp(in, out) != 0)
        abort();
    free(out);
    free(in);
    return 0;
}
