/*
 * dashboard_form.h — reading the dashboard's form posts (application/x-www-form-urlencoded).
 * The dashboard's HTML is written with capp's builder (capp/html.h).
 */
#ifndef CLOUDSIM_DASHBOARD_FORM_H
#define CLOUDSIM_DASHBOARD_FORM_H

#include <stddef.h>

/* The value of `name` in a urlencoded body, decoded, into out (cap bytes); occurrence selects
 * the n-th (0-based) repetition (checkbox lists). 0 found, -1 absent or too long. */
int cs_form_value(const char *body, size_t len, const char *name, int occurrence, char *out,
                  size_t cap);

#endif
