/*
 * screen_load.c — screen_list_set_load_path(): which loader a list path needs (a folder holds
 * an OFAC CSV set, a file is the UN XML or, when it starts with '{', an OpenSanctions Senzing
 * JSON export). It is apart from screen_util.c because the loaders build on screen_util.c's
 * arena, list set and file helpers: the dispatch sits above them, so nothing below calls back
 * up into a loader.
 *
 * `PATH@YYYY-MM-DD` gives a list's publication date (spec D29) for files that carry none (the
 * OFAC CSVs): when PATH@… itself does not exist and ends in a valid date, the date is split off
 * and recorded on the version ("given"); a date from the file's own content wins over it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kyc/screen/screen_internal.h"

/* Whether the file starts with '{' (after a BOM and white space): a JSON-lines export. */
static int starts_with_brace(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char buf[64];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t i = n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF ? 3 : 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return i < n && buf[i] == '{';
}

int screen_list_set_load_path(struct screen_list_set *set, const char *path,
                              struct screen_error *err)
{
    struct stat st;
    char real[4096];
    const char *given = NULL;
    size_t len = strlen(path);
    if (stat(path, &st) != 0 && len > 11 && len < sizeof real && path[len - 11] == '@' &&
        screen_date_valid(path + len - 10, 10)) {
        memcpy(real, path, len - 11);
        real[len - 11] = '\0';
        given = path + len - 10;
        path = real;
    }
    if (stat(path, &st) != 0)
        return screen_fail(err, CAPP_EIO, "%s: %s", path, strerror(errno));
    size_t before = screen_list_set_version_count(set);
    int rc = S_ISDIR(st.st_mode)       ? screen_list_set_load_ofac(set, path, err)
             : starts_with_brace(path) ? screen_list_set_load_senzing(set, path, err)
                                       : screen_list_set_load_un(set, path, err);
    if (rc == 0 && given)
        for (size_t i = before; i < set->n_versions; i++) {
            struct screen_list_version *v = &set->versions[i];
            if (strcmp(v->date_source, "content") == 0)
                continue; /* the file's own date wins */
            snprintf(v->date, sizeof v->date, "%s", given);
            snprintf(v->date_source, sizeof v->date_source, "given");
        }
    return rc;
}
