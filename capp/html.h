/*
 * html.h — the one HTML builder: capp's own pages and every program built on capp use it.
 * Escaping is the default; markup goes out unescaped only through a function whose name says
 * the caller vouches for it:
 *
 *   rc |= html_tpl(b, "<a href=\"/dashboard/apps/{}\">{}</a>", app_id, name, NULL);
 *
 * The template is trusted markup (a literal in our code); each {} is replaced by the next
 * argument, escaped. Escaping turns & < > " ' into entities, so a value is safe in text and in
 * a quoted attribute alike (never put a hole in an unquoted attribute, a URL scheme, a script or
 * a style: the page has none). html_text() appends one escaped value, html_textf() formats and
 * then escapes the whole result (numbers, mostly), html_raw_trusted() appends markup as is: only
 * literals, or markup this builder made.
 *
 * Output goes to a struct buf with its sticky error (buf.h): every function returns 0 or the
 * buffer's error, and is CAPP_WARN_UNUSED. A page is built with `rc |= html_…(…)` calls, each
 * helper returning its rc, and the code that sends the page checks buf_failed() once: a page
 * whose buffer failed is answered 500, never sent with a hole in it.
 */
#ifndef CAPP_HTML_H
#define CAPP_HTML_H

#include "buf.h"

/* Appends s escaped (NULL as ""). */
CAPP_WARN_UNUSED int html_text(struct buf *b, const char *s);
/* Appends the printf-formatted text escaped (the format's own characters included). */
CAPP_WARN_UNUSED int html_textf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends tpl with each {} replaced by the next argument escaped (a NULL argument as ""). The
 * template's holes say how many arguments are read, as a printf format does; the list ends with
 * a NULL the compiler checks is there. */
CAPP_WARN_UNUSED int html_tpl(struct buf *b, const char *tpl, ...) __attribute__((sentinel));
/* Appends markup as is: only literals and markup built by this module. */
CAPP_WARN_UNUSED int html_raw_trusted(struct buf *b, const char *markup);

#endif
