/*
 * screen_ofac.h — internal interface of the OFAC SDN CSV loader and its remarks parser.
 *
 * All buffers are borrowed for the duration of the call; `comments` may be NULL. On success
 * the entries and a version record are merged into `out`; on error `out` is unchanged and
 * `err` names the file, line and field at fault.
 */
#ifndef SCREEN_OFAC_H
#define SCREEN_OFAC_H

#include "kyc/screen/screen_internal.h"

/* A legacy CSV layout: the source name, the entry id prefix and the four file names (primary,
 * alt, add, comments), as published. */
struct screen_ofac_layout {
    const char *source;
    const char *id_prefix;
    const char *files[4];
};
extern const struct screen_ofac_layout screen_ofac_sdn;  /* sdn.csv ... */
extern const struct screen_ofac_layout screen_ofac_cons; /* cons_prim.csv ... */

struct screen_ofac_files {
    const char *sdn;
    size_t sdn_len;
    const char *alt;
    size_t alt_len;
    const char *add;
    size_t add_len;
    const char *comments;
    size_t comments_len;
    const char *date;                        /* version date, NULL → "unknown" */
    const char *path;                        /* for the version record, NULL → "(memory)" */
    const struct screen_ofac_layout *layout; /* NULL → the SDN layout */
    const char *date_source;                 /* where `date` came from */
};

int screen_ofac_load(struct screen_list_set *out, const struct screen_ofac_files *files,
                     struct screen_error *err);

/* Parses OFAC remarks ("DOB 10 Dec 1948; POB Giza, Egypt; Passport 1084010 (Egypt); ...")
 * into the builder. `remarks` must stay alive as long as the set (strings are copied into
 * the set's arena, so any buffer works). Unknown segments are kept only in the raw remarks. */
int screen_remarks_collect(struct screen_list_set *set, struct screen_entry_builder *b,
                           const char *remarks, size_t len, enum screen_gender *gender,
                           struct screen_error *err);

#endif
