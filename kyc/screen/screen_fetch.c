/*
 * screen_fetch.c — `kyc lists fetch`: download the publishers' list files with libcurl.
 *
 * The sources are a table (screen_list_sources): the OFAC SDN and Consolidated (non-SDN) CSV
 * sets, the UN consolidated XML, and OpenSanctions' Senzing exports of its `sanctions`, `peps`
 * and `default` collections (those only on request: OpenSanctions data is CC BY-NC and needs a
 * licence for commercial use). Each source is downloaded into temporary files next to its
 * destination, bounded by SCREEN_MAX_DOWNLOAD_BYTES, then validated by loading it exactly as
 * the engine would. Only a source that loads cleanly is renamed into place (rename(2) is atomic
 * within a directory), so a failed download or a truncated or malformed file leaves the
 * previous version untouched. The newest Last-Modified of a source's files is recorded in its
 * folder (SCREEN_LIST_DATE_FILE): the OFAC CSVs carry no date of their own, and a list's date
 * is its publication date, never a file's modification time (D29).
 *
 * Progress ("kyc lists fetch: ofac-sdn SDN.CSV 1.2 MB") goes to stderr, overwritten in place,
 * only when the caller asks (the CLI does when stderr is a terminal).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "kyc/screen/screen_ofac.h"

static const struct screen_list_source sources[] = {
    {"ofac-sdn",
     "ofac",
     SCREEN_LIST_OFAC_CSV,
     SCREEN_OFAC_BASE_URL,
     {"SDN.CSV", "ALT.CSV", "ADD.CSV", "SDN_COMMENTS.CSV"},
     {"sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"},
     4,
     1},
    {"ofac-cons",
     "ofac-cons",
     SCREEN_LIST_OFAC_CSV,
     SCREEN_OFAC_BASE_URL,
     {"CONS_PRIM.CSV", "CONS_ALT.CSV", "CONS_ADD.CSV", "CONS_COMMENTS.CSV"},
     {"cons_prim.csv", "cons_alt.csv", "cons_add.csv", "cons_comments.csv"},
     4,
     1},
    {"un-consolidated", "un", SCREEN_LIST_UN_XML, SCREEN_UN_URL, {""}, {"consolidated.xml"}, 1, 1},
    {"opensanctions-sanctions",
     "opensanctions",
     SCREEN_LIST_SENZING_JSON,
     SCREEN_OPENSANCTIONS_BASE_URL,
     {"sanctions/senzing.json"},
     {"sanctions.senzing.json"},
     1,
     0},
    {"opensanctions-peps",
     "opensanctions",
     SCREEN_LIST_SENZING_JSON,
     SCREEN_OPENSANCTIONS_BASE_URL,
     {"peps/senzing.json"},
     {"peps.senzing.json"},
     1,
     0},
    {"opensanctions-default",
     "opensanctions",
     SCREEN_LIST_SENZING_JSON,
     SCREEN_OPENSANCTIONS_BASE_URL,
     {"default/senzing.json"},
     {"default.senzing.json"},
     1,
     0},
};

const struct screen_list_source *screen_list_sources(size_t *n)
{
    *n = sizeof sources / sizeof sources[0];
    return sources;
}

const struct screen_list_source *screen_list_source_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof sources / sizeof sources[0]; i++)
        if (strcmp(sources[i].name, name) == 0)
            return &sources[i];
    return NULL;
}

int screen_list_source_url(const struct screen_list_source *src, unsigned i,
                           const struct screen_fetch_options *o, char *out, size_t cap)
{
    if (i >= src->n_files)
        return CAPP_EINVAL;
    const char *base = src->base_url;
    if (src->format == SCREEN_LIST_OFAC_CSV && o && o->ofac_base_url)
        base = o->ofac_base_url;
    else if (src->format == SCREEN_LIST_UN_XML && o && o->un_url)
        base = o->un_url;
    else if (src->format == SCREEN_LIST_SENZING_JSON && o && o->opensanctions_base_url)
        base = o->opensanctions_base_url;
    int n = snprintf(out, cap, "%s%s", base, src->remote[i]);
    return n < 0 || (size_t)n >= cap ? CAPP_ETOOBIG : 0;
}

int screen_list_source_path(const struct screen_list_source *src, const char *dir, char *out,
                            size_t cap)
{
    int n = src->format == SCREEN_LIST_OFAC_CSV
                ? snprintf(out, cap, "%s/%s", dir, src->folder)
                : snprintf(out, cap, "%s/%s/%s", dir, src->folder, src->local[0]);
    return n < 0 || (size_t)n >= cap ? CAPP_ETOOBIG : 0;
}

/* ---------------------------------------------------------------- downloading */

struct sink {
    FILE *f;
    size_t written;
    int too_big;
    int progress;
    const char *label;
    double last; /* monotonic seconds of the last progress line */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    struct sink *s = user;
    size_t len = size * n;
    if (s->written + len > SCREEN_MAX_DOWNLOAD_BYTES) {
        s->too_big = 1;
        return 0;
    }
    s->written += len;
    if (s->progress && now() - s->last >= 0.2) {
        s->last = now();
        fprintf(stderr, "\rkyc lists fetch: %s %.1f MB ", s->label, (double)s->written / 1e6);
    }
    return fwrite(p, 1, len, s->f);
}

static int download(const char *url, const char *path, const char *label,
                    const struct screen_fetch_options *o, time_t *modified,
                    struct screen_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return screen_fail(err, CAPP_EIO, "%s: %s", path, strerror(errno));
    CURL *c = curl_easy_init();
    if (!c) {
        fclose(f);
        return screen_fail(err, CAPP_ENOMEM, "curl: out of memory");
    }
    struct sink s = {f, 0, 0, o->progress, label, 0};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_seconds > 0 ? o->timeout_seconds : 120);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "kyc-screen/" SCREEN_ENGINE_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FILETIME, 1L); /* Last-Modified: the publication date */
    if (o->progress)
        fprintf(stderr, "\rkyc lists fetch: %s ", label);
    CURLcode res = curl_easy_perform(c);
    long status = 0;
    curl_off_t filetime = -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_FILETIME_T, &filetime);
    curl_easy_cleanup(c);
    if (o->progress)
        fprintf(stderr, "\rkyc lists fetch: %s %.1f MB\n", label, (double)s.written / 1e6);
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
    if (filetime > 0 && (time_t)filetime > *modified)
        *modified = (time_t)filetime;
    return 0;
}

static int ensure_dir(const char *path, struct screen_error *err)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return screen_fail(err, CAPP_EIO, "%s: %s", path, strerror(errno));
    return 0;
}

/* Loads the downloaded temporaries as the engine would. */
static int validate(const struct screen_list_source *src, char tmp[][PATH_MAX + 128],
                    const char *dir, struct screen_error *err)
{
    struct screen_list_set *set = screen_list_set_new();
    if (!set)
        return screen_fail(err, CAPP_ENOMEM, "out of memory");
    int rc = 0;
    if (src->format == SCREEN_LIST_OFAC_CSV) {
        char *data[4] = {0};
        size_t lens[4] = {0};
        for (unsigned i = 0; i < 4 && rc == 0; i++)
            rc = screen_read_file(tmp[i], &data[i], &lens[i], err);
        if (rc == 0) {
            struct screen_ofac_files files = {
                data[0],
                lens[0],
                data[1],
                lens[1],
                data[2],
                lens[2],
                data[3],
                lens[3],
                NULL,
                dir,
                strcmp(src->name, "ofac-cons") == 0 ? &screen_ofac_cons : &screen_ofac_sdn,
                NULL};
            rc = screen_ofac_load(set, &files, err);
        }
        for (int i = 0; i < 4; i++)
            free(data[i]);
    } else if (src->format == SCREEN_LIST_UN_XML) {
        rc = screen_list_set_load_un(set, tmp[0], err);
    } else {
        rc = screen_list_set_load_senzing(set, tmp[0], err);
    }
    screen_list_set_free(set);
    return rc;
}

/* Records the publication day in the folder, atomically. */
static int write_date(const char *dir, time_t modified, struct screen_error *err)
{
    char path[PATH_MAX + 64], tmp[PATH_MAX + 64], day[16];
    struct tm tm;
    if (modified <= 0 || !gmtime_r(&modified, &tm))
        return 0;
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(path, sizeof path, "%s/%s", dir, SCREEN_LIST_DATE_FILE);
    snprintf(tmp, sizeof tmp, "%s/.fetch-%s", dir, SCREEN_LIST_DATE_FILE + 1);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return screen_fail(err, CAPP_EIO, "%s: %s", tmp, strerror(errno));
    int bad = fprintf(f, "%s\n", day) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return screen_fail(err, CAPP_EIO, "%s: cannot write", path);
    }
    return 0;
}

static int fetch_source(const struct screen_list_source *src, const struct screen_fetch_options *o,
                        struct screen_error *err)
{
    char dir[PATH_MAX], tmp[4][PATH_MAX + 128], dst[PATH_MAX + 128], url[4096], label[96];
    snprintf(dir, sizeof dir, "%s/%s", o->dir, src->folder);
    time_t modified = 0;
    int rc = ensure_dir(dir, err);
    for (unsigned i = 0; i < src->n_files && rc == 0; i++) {
        snprintf(tmp[i], sizeof tmp[i], "%s/.fetch-%s", dir, src->local[i]);
        if ((rc = screen_list_source_url(src, i, o, url, sizeof url)))
            rc = screen_fail(err, rc, "%s: URL too long", src->name);
        snprintf(label, sizeof label, "%s %s", src->name, src->local[i]);
        if (rc == 0)
            rc = download(url, tmp[i], label, o, &modified, err);
    }
    if (rc == 0 && (rc = validate(src, tmp, dir, err))) {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "downloaded %s list refused, previous kept: ", src->name);
        screen_error_prefix(err, prefix);
    }
    for (unsigned i = 0; i < src->n_files && rc == 0; i++) {
        snprintf(dst, sizeof dst, "%s/%s", dir, src->local[i]);
        if (rename(tmp[i], dst) != 0)
            rc = screen_fail(err, CAPP_EIO, "%s: %s", dst, strerror(errno));
    }
    /* one date per folder: the OpenSanctions folder holds several exports, each dated by its
     * own content, so only the list sets without one record theirs */
    if (rc == 0 && src->format == SCREEN_LIST_OFAC_CSV)
        rc = write_date(dir, modified, err);
    for (unsigned i = 0; i < src->n_files; i++)
        unlink(tmp[i]);
    return rc;
}

int screen_lists_fetch(const struct screen_fetch_options *o, struct screen_error *err)
{
    if (!o || !o->dir || !*o->dir)
        return screen_fail(err, CAPP_EINVAL, "no lists directory given");
    if (strlen(o->dir) > PATH_MAX - 64)
        return screen_fail(err, CAPP_ETOOBIG, "lists directory path is too long");
    if ((o->ofac_base_url && strlen(o->ofac_base_url) > 2048) ||
        (o->un_url && strlen(o->un_url) > 2048) ||
        (o->opensanctions_base_url && strlen(o->opensanctions_base_url) > 2048))
        return screen_fail(err, CAPP_ETOOBIG, "list URL is longer than 2048 bytes");
    for (size_t i = 0; i < o->n_sources; i++)
        if (!screen_list_source_find(o->sources[i]))
            return screen_fail(err, CAPP_EINVAL, "unknown list source \"%s\"", o->sources[i]);
    int rc = ensure_dir(o->dir, err);
    if (rc)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t k = 0; k < sizeof sources / sizeof sources[0] && rc == 0; k++) {
        const struct screen_list_source *src = &sources[k];
        int wanted = o->n_sources == 0 && src->fetched_by_default;
        for (size_t i = 0; i < o->n_sources; i++)
            wanted |= strcmp(o->sources[i], src->name) == 0;
        if (o->ofac_only)
            wanted &= src->format == SCREEN_LIST_OFAC_CSV;
        if (o->un_only)
            wanted &= src->format == SCREEN_LIST_UN_XML;
        if (wanted)
            rc = fetch_source(src, o, err);
    }
    return rc;
}
