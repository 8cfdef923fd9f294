/*
 * screen_load.c — screen_list_set_load_path(): which loader a list path needs (a folder holds
 * the OFAC CSVs, a file is the UN XML). It is apart from screen_util.c because the loaders
 * (screen_ofac.c, screen_un.c) build on screen_util.c's arena, list set and file helpers: the
 * dispatch sits above both, so nothing below calls back up into a loader.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "kyc/screen/screen_internal.h"

int screen_list_set_load_path(struct screen_list_set *set, const char *path,
                              struct screen_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return screen_fail(err, CAPP_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return screen_list_set_load_ofac(set, path, err);
    return screen_list_set_load_un(set, path, err);
}
