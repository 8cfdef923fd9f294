/*
 * dashboard_html.h — building HTML safely. Every dynamic value goes through escaping:
 *
 *   html_tpl(b, "<a href=\"/dashboard/apps/{}\">{}</a>", app_id, name, NULL);
 *
 * The template is trusted markup (a literal in our code); each {} is replaced by the next
 * argument HTML-escaped (& < > " ' all escaped, so it is safe in text and in quoted
 * attributes). Markup that must go out unescaped uses html_raw_trusted(), whose name says what
 * the caller vouches for. Forms read application/x-www-form-urlencoded bodies through
 * html_form_value().
 */
#ifndef CLOUDSIM_DASHBOARD_HTML_H
#define CLOUDSIM_DASHBOARD_HTML_H

#include <stddef.h>

#include "capp/buf.h"

/* Appends s escaped. */
int html_text(struct buf *b, const char *s);
/* Appends the template with each {} replaced by the next escaped argument (NULL-terminated
 * list; a NULL argument before the end is not possible, so pass "" for empty values). */
int html_tpl(struct buf *b, const char *tpl, ...) __attribute__((sentinel));
/* Appends trusted markup as is: only for literals and markup built by this module. */
int html_raw_trusted(struct buf *b, const char *markup);

/* The value of `name` in a urlencoded body, decoded, into out (cap bytes); occurrence selects
 * the n-th (0-based) repetition (checkbox lists). 0 found, -1 absent or too long. */
int html_form_value(const char *body, size_t len, const char *name, int occurrence, char *out,
                    size_t cap);

#endif
