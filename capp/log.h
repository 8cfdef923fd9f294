/*
 * log.h — structured key=value log lines.
 *
 *   log_info("install.ok", "req", req_id, "installed_app_id", id, "api_key_prefix", p, NULL);
 *
 * prints
 *
 *   ts=2026-11-28T05:40:01.123Z level=info event=install.ok req=r1 installed_app_id=... ...
 *
 * Arguments after the event are key, value pairs closed by NULL. Values with spaces, quotes or
 * '=' are quoted and escaped; control bytes are escaped; values are cut at CAPP_LOG_VALUE_MAX.
 * Redaction is explicit, not by convention: a key on the redaction list (api_key, token,
 * authorization, cookie, session, secret, password, master_key, csrf) is always written as
 * "[redacted]" whatever value is passed. One write(2) per line, so lines from threads never
 * interleave. Output goes to stderr unless log_set_fd() says otherwise.
 */
#ifndef CAPP_LOG_H
#define CAPP_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

void log_set_level(enum log_level level);
void log_set_fd(int fd);
int log_key_is_redacted(const char *key);

void log_event(enum log_level level, const char *event, ...) __attribute__((sentinel));

#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_event(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_event(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__)

#endif
