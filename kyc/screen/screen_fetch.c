/*
 * screen_fetch.c — `kyc lists fetch`: download the official list files with libcurl.
 *
 * Each source is downloaded into temporary files next to its destination, bounded by
 * SCREEN_MAX_DOWNLOAD_BYTES, then validated by loading it exactly as the engine would. Only a
 * source that loads cleanly is renamed into place (rename(2) is atomic within a directory), so a
 * failed download or a truncated or malformed file leaves the previous version untouched.
 * Layout: <dir>/ofac/{sdn,alt,add,sdn_comments}.csv and <dir>/un/consolidated.xml, which is
 * what `--lists <dir>/ofac --lists <dir>/un/consolidated.xml` loads.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "kyc/screen/screen_ofac.h"

struct sink {
    FILE *f;
    size_t written;
    int too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    struct sink *s = user;
    size_t len = size * n;
    if (s->written + len > SCREEN_MAX_DOWNLOAD_BYTES) {
        s->too_big = 1;
        return 0;
    }
    s->written += len;
    return fwrite(p, 1, len, s->f);
}

static int download(const char *url, const char *path, long timeout, struct screen_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return screen_fail(err, CAPP_EIO, "%s: %s", path, strerror(errno));
    CURL *c = curl_easy_init();
    if (!c) {
        fclose(f);
        return screen_fail(err, CAPP_ENOMEM, "curl: out of memory");
    }
    struct sink s = {f, 0, 0};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "kyc-screen/" SCREEN_ENGINE_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode res = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    int bad = fclose(f) != 0;
    if (s.too_big)
        return screen_fail(err, CAPP_ETOOBIG, "%s: download exceeds %u bytes", url,
                           SCREEN_MAX_DOWNLOAD_BYTES);
    if (res != CURLE_OK)
        return screen_fail(err, res == CURLE_OPERATION_TIMEDOUT ? CAPP_ETIMEOUT : CAPP_ENETWORK,
                           "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(res));
    if (strncmp(url, "http", 4) == 0 && (status < 200 || status > 299))
        return screen_fail(err, CAPP_EHTTP, "%s: HTTP status %ld", url, status);
    if (bad)
        return screen_fail(err, CAPP_EIO, "%s: write failed", path);
    return 0;
}

static int ensure_dir(const char *path, struct screen_error *err)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return screen_fail(err, CAPP_EIO, "%s: %s", path, strerror(errno));
    return 0;
}

static int fetch_ofac(const struct screen_fetch_options *o, struct screen_error *err)
{
    static const char *const remote[4] = {"SDN.CSV", "ALT.CSV", "ADD.CSV", "SDN_COMMENTS.CSV"};
    static const char *const local[4] = {"sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"};
    const char *base = o->ofac_base_url ? o->ofac_base_url : SCREEN_OFAC_BASE_URL;
    char dir[PATH_MAX], tmp[4][PATH_MAX + 128], dst[PATH_MAX + 128], url[4096];
    snprintf(dir, sizeof dir, "%s/ofac", o->dir);
    int rc = ensure_dir(dir, err);
    for (int i = 0; i < 4 && rc == 0; i++) {
        snprintf(tmp[i], sizeof tmp[i], "%s/.fetch-%s", dir, local[i]);
        snprintf(url, sizeof url, "%s%s", base, remote[i]);
        rc = download(url, tmp[i], o->timeout_seconds > 0 ? o->timeout_seconds : 120, err);
    }
    if (rc == 0) {
        /* validate: the temporaries must load as a list set */
        char *data[4] = {0};
        size_t lens[4] = {0};
        for (int i = 0; i < 4 && rc == 0; i++)
            rc = screen_read_file(tmp[i], &data[i], &lens[i], err);
        if (rc == 0) {
            struct screen_list_set *set = screen_list_set_new();
            struct screen_ofac_files files = {data[0], lens[0], data[1], lens[1], data[2],
                                              lens[2], data[3], lens[3], NULL,    dir};
            rc = set ? screen_ofac_load(set, &files, err) : CAPP_ENOMEM;
            screen_list_set_free(set);
            if (rc)
                screen_error_prefix(err, "downloaded OFAC list refused, previous kept: ");
        }
        for (int i = 0; i < 4; i++)
            free(data[i]);
    }
    for (int i = 0; i < 4 && rc == 0; i++) {
        snprintf(dst, sizeof dst, "%s/%s", dir, local[i]);
        if (rename(tmp[i], dst) != 0)
            rc = screen_fail(err, CAPP_EIO, "%s: %s", dst, strerror(errno));
    }
    for (int i = 0; i < 4; i++)
        unlink(tmp[i]);
    return rc;
}

static int fetch_un(const struct screen_fetch_options *o, struct screen_error *err)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 128], dst[PATH_MAX + 128];
    snprintf(dir, sizeof dir, "%s/un", o->dir);
    snprintf(tmp, sizeof tmp, "%s/.fetch-consolidated.xml", dir);
    snprintf(dst, sizeof dst, "%s/consolidated.xml", dir);
    int rc = ensure_dir(dir, err);
    if (rc == 0)
        rc = download(o->un_url ? o->un_url : SCREEN_UN_URL, tmp,
                      o->timeout_seconds > 0 ? o->timeout_seconds : 120, err);
    if (rc == 0) {
        struct screen_list_set *set = screen_list_set_new();
        rc = set ? screen_list_set_load_un(set, tmp, err) : CAPP_ENOMEM;
        screen_list_set_free(set);
        if (rc)
            screen_error_prefix(err, "downloaded UN list refused, previous kept: ");
    }
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = screen_fail(err, CAPP_EIO, "%s: %s", dst, strerror(errno));
    unlink(tmp);
    return rc;
}

int screen_lists_fetch(const struct screen_fetch_options *o, struct screen_error *err)
{
    if (!o || !o->dir || !*o->dir)
        return screen_fail(err, CAPP_EINVAL, "no lists directory given");
    if (strlen(o->dir) > PATH_MAX - 64)
        return screen_fail(err, CAPP_ETOOBIG, "lists directory path is too long");
    if ((o->ofac_base_url && strlen(o->ofac_base_url) > 2048) ||
        (o->un_url && strlen(o->un_url) > 2048))
        return screen_fail(err, CAPP_ETOOBIG, "list URL is longer than 2048 bytes");
    int rc = ensure_dir(o->dir, err);
    if (rc)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!o->un_only)
        rc = fetch_ofac(o, err);
    if (rc == 0 && !o->ofac_only)
        rc = fetch_un(o, err);
    return rc;
}
