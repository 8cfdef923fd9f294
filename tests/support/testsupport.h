/*
 * testsupport.h — helpers for tests that run the real binaries and speak real HTTP.
 *
 * ts_proc_start() runs a program with its stdout+stderr in a log file and waits until the log
 * shows "url=http://..." (every server prints `event=server.listening url=...`), so tests use
 * ephemeral ports and never guess. ts_http() is a libcurl call that keeps every response header.
 * Assertion macros print both operands (libuv style) through cmocka.
 */
#ifndef TESTSUPPORT_H
#define TESTSUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

struct ts_proc {
    pid_t pid;
    char log_path[512];
    char url[256]; /* base URL the server printed, e.g. http://127.0.0.1:40123 */
};

struct ts_response {
    long status;
    char *body;
    size_t body_len;
    char *headers; /* raw header block of the final response */
};

/* A fresh directory under $TMPDIR; the path is written into out (cap bytes). */
void ts_tmpdir(char *out, size_t cap);
/* Path of a built binary (from KYC_BUILD_DIR) into out. */
void ts_binary(const char *name, char *out, size_t cap);
/* Starts argv (NULL-terminated) with extra environment entries (NULL-terminated, may be NULL).
 * Waits up to 20 s for the listening line matching `marker` ("url=" by default). */
int ts_proc_start(struct ts_proc *p, const char *const *argv, const char *const *env,
                  const char *log_path, const char *marker);
/* Sends sig and waits for exit; returns the wait status. */
int ts_proc_stop(struct ts_proc *p, int sig);
/* Reads a whole file into a malloc'd NUL-terminated string (NULL if absent). */
char *ts_read_file(const char *path, size_t *len);
/* 1 when the file's bytes contain needle (binary-safe search). */
int ts_file_contains(const char *path, const char *needle);
/* 1 when any file under dir (recursively) contains needle. */
int ts_dir_contains(const char *dir, const char *needle);

/* HTTP: headers is a NULL-terminated list of "Name: value" (may be NULL). */
int ts_http(const char *method, const char *url, const char *body, const char *const *headers,
            struct ts_response *out);
void ts_response_free(struct ts_response *r);
/* Value of a response header (first match, case-insensitive) into out; 0 found, -1 not. */
int ts_header(const struct ts_response *r, const char *name, char *out, size_t cap);
/* Count of response headers with this name. */
int ts_header_count(const struct ts_response *r, const char *name);
/* JSON string field of the response body into out; 0 found. */
int ts_json_string(const struct ts_response *r, const char *field, char *out, size_t cap);

/* A fresh, empty PostgreSQL database on the server of the CTest fixture `pg` (KYC_TEST_PG_DIR;
 * the test fails loudly when it is unset). name is reduced to [a-z0-9_] and suffixed with the
 * pid, so parallel tests never share one; a database of that name is dropped first. Writes its
 * libpq connection string into out (cap bytes). Returns 0 (failures end the test). */
int testsupport_pg_db(const char *name, char *out, size_t cap);

/* Sleep in milliseconds. */
void ts_sleep_ms(long ms);

#define TS_ASSERT_STATUS(resp, expected)                                                 \
    do {                                                                                 \
        if ((resp).status != (expected))                                                 \
            fail_msg("HTTP status %ld, expected %ld; body: %.300s", (long)(resp).status, \
                     (long)(expected), (resp).body ? (resp).body : "(none)");            \
    } while (0)

#endif
