#include "testsupport.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void ts_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void ts_tmpdir(char *out, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, cap, "%s/kyctest.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(out))
        fail_msg("mkdtemp %s: %s", out, strerror(errno));
}

void ts_binary(const char *name, char *out, size_t cap)
{
    const char *dir = getenv("KYC_BUILD_DIR");
    snprintf(out, cap, "%s/%s", dir && *dir ? dir : "build", name);
}

char *ts_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *data = malloc(cap + 1);
    while (data && (r = fread(data + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *grown = realloc(data, cap * 2 + 1);
            if (!grown) {
                free(data);
                data = NULL;
                break;
            }
            data = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (!data)
        return NULL;
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

int ts_file_contains(const char *path, const char *needle)
{
    size_t len = 0;
    char *data = ts_read_file(path, &len);
    if (!data)
        return 0;
    int found = memmem(data, len, needle, strlen(needle)) != NULL;
    free(data);
    return found;
}

int ts_dir_contains(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int found = 0;
    char path[1024];
    while (!found && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        found =
            S_ISDIR(st.st_mode) ? ts_dir_contains(path, needle) : ts_file_contains(path, needle);
    }
    closedir(d);
    return found;
}

int ts_proc_start(struct ts_proc *p, const char *const *argv, const char *const *env,
                  const char *log_path, const char *marker)
{
    memset(p, 0, sizeof *p);
    snprintf(p->log_path, sizeof p->log_path, "%s", log_path);
    /* A restarted server appends to the same log: only read what this run writes. */
    size_t skip = 0;
    free(ts_read_file(log_path, &skip));
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    p->pid = pid;
    if (!marker)
        marker = "url=";
    for (int i = 0; i < 400; i++) {
        size_t len = 0;
        char *log = ts_read_file(log_path, &len);
        const char *at = log && len >= skip ? strstr(log + skip, "event=server.listening") : NULL;
        at = at ? strstr(at, marker) : NULL;
        if (at) {
            at += strlen(marker);
            size_t n = strcspn(at, " \n\"");
            if (n >= sizeof p->url)
                n = sizeof p->url - 1;
            memcpy(p->url, at, n);
            p->url[n] = '\0';
            free(log);
            return 0;
        }
        free(log);
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            p->pid = 0;
            return -1;
        }
        ts_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    p->pid = 0;
    return -1;
}

int ts_proc_stop(struct ts_proc *p, int sig)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    int status = 0;
    for (int i = 0; i < 200; i++) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            return status;
        }
        ts_sleep_ms(50);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    return status;
}

struct sink {
    char *data;
    size_t len;
};

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    size_t n = size * nmemb;
    char *grown = realloc(s->data, s->len + n + 1);
    if (!grown)
        return 0;
    s->data = grown;
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

static size_t header_write(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    size_t n = size * nmemb;
    /* A new status line starts a new header block (after 100 Continue or redirects). */
    if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0)
        s->len = 0;
    return sink_write(ptr, size, nmemb, userp);
}

int ts_http(const char *method, const char *url, const char *body, const char *const *headers,
            struct ts_response *out)
{
    memset(out, 0, sizeof *out);
    CURL *curl = curl_easy_init();
    if (!curl)
        return -1;
    struct sink b = {0}, h = {0};
    struct curl_slist *list = NULL;
    for (const char *const *x = headers; x && *x; x++)
        list = curl_slist_append(list, *x);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_write);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    CURLcode cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    out->body = b.data ? b.data : calloc(1, 1);
    out->body_len = b.len;
    out->headers = h.data ? h.data : calloc(1, 1);
    return cc == CURLE_OK ? 0 : -1;
}

void ts_response_free(struct ts_response *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

static const char *find_header(const char *block, const char *name, const char **value_end)
{
    size_t nlen = strlen(name);
    for (const char *line = block; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        if (!eol)
            eol = line + strlen(line);
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            *value_end = eol;
            return v;
        }
        line = *eol ? eol + 2 : eol;
    }
    return NULL;
}

int ts_header(const struct ts_response *r, const char *name, char *out, size_t cap)
{
    const char *end;
    const char *v = find_header(r->headers, name, &end);
    if (!v)
        return -1;
    size_t n = (size_t)(end - v);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

int ts_header_count(const struct ts_response *r, const char *name)
{
    int count = 0;
    const char *block = r->headers, *end;
    const char *v;
    while ((v = find_header(block, name, &end)) != NULL) {
        count++;
        block = end;
    }
    return count;
}

int ts_json_string(const struct ts_response *r, const char *field, char *out, size_t cap)
{
    json_t *root = json_loads(r->body ? r->body : "", 0, NULL);
    const char *s = root ? json_string_value(json_object_get(root, field)) : NULL;
    int rc = -1;
    if (s) {
        snprintf(out, cap, "%s", s);
        rc = 0;
    }
    json_decref(root);
    return rc;
}
