/*
 * html.h — building HTML safely. Text goes through html_text() / html_textf(), which escape
 * & < > " ' ; markup that is already HTML goes through html_raw_markup(), whose name makes
 * every unescaped write visible in review. Output accumulates in a struct buf.
 */
#ifndef CAPP_HTML_H
#define CAPP_HTML_H

#include "buf.h"

int html_text(struct buf *out, const char *text);
int html_textf(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int html_raw_markup(struct buf *out, const char *markup);

#endif
