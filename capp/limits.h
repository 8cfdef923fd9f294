/*
 * limits.h — every input limit of the capp runtime, in one place.
 *
 * Each limit has a test that exceeds it (tests/capp/). Changing a number here changes the
 * behaviour everywhere it is enforced; nothing else hard-codes these sizes.
 */
#ifndef CAPP_LIMITS_H
#define CAPP_LIMITS_H

/* HTTP */
#define CAPP_MAX_BODY_BYTES   (64 * 1024) /* lifecycle and portal API bodies (spec D2) */
#define CAPP_MAX_URL_BYTES    4096        /* request target: path + query */
#define CAPP_MAX_HEADER_BYTES 16384       /* all request headers together (MHD pool) */
#define CAPP_MAX_CONNECTIONS  1024        /* concurrent connections per server */
/* From one IP address: a browser opens about 6 per site, so this leaves room for a team behind
 * one NAT, and 16 addresses are needed to fill the server. */
#define CAPP_MAX_CONNECTIONS_PER_CLIENT 64
/* A request head must arrive within this many seconds: Cloud gives up on install and launch
 * calls after 10 s (spec §12), so a head still arriving later serves no waiting caller. */
#define CAPP_HEAD_TIMEOUT_SECONDS 10
/* A body must then arrive at this average rate (32 kbit/s, below any working link): the full
 * 64 KiB body gets 10 + 16 s. */
#define CAPP_MIN_BODY_BYTES_PER_SECOND  4096
#define CAPP_CONNECTION_TIMEOUT_SECONDS 30 /* no byte in or out (e.g. a client not reading) */
#define CAPP_REQUEST_ID_MAX             64 /* accepted inbound X-Request-Id length */

/* JSON */
#define CAPP_MAX_JSON_DEPTH            16  /* nesting levels accepted in any body */
#define CAPP_MAX_ID_BYTES              128 /* opaque IDs: [A-Za-z0-9_-]{1,128} (spec D6) */
#define CAPP_MAX_API_KEY_BYTES         512 /* api_key as delivered at install */
#define CAPP_MAX_KEY_PREFIX_BYTES      32  /* api_key_prefix */
#define CAPP_MAX_IDEMPOTENCY_KEY_BYTES 200 /* "install:" / "uninstall:" + id */
#define CAPP_MAX_PERMISSIONS           64  /* entries in granted_permissions (spec D3') */
#define CAPP_MAX_PERMISSION_BYTES      64  /* one permission string */
#define CAPP_MAX_TIMESTAMP_BYTES       64  /* RFC 3339 timestamps */

/* Sessions (spec D10) */
#define CAPP_LAUNCH_TOKEN_BYTES       32 /* raw random bytes of a launch token */
#define CAPP_LAUNCH_TOKEN_TTL_SECONDS 60
#define CAPP_SESSION_TOKEN_BYTES      32
#define CAPP_SESSION_TTL_DEFAULT      900
#define CAPP_SESSION_TTL_MIN          300
#define CAPP_SESSION_TTL_MAX          900
/* Page and handoff tickets (spec D10′): what a navigation of a header-carried session carries */
#define CAPP_TICKET_BYTES            32
#define CAPP_TICKET_TTL_SECONDS      30
#define CAPP_MAX_LIVE_TICKETS        1024
#define CAPP_MAX_TICKETS_PER_SESSION 8

/* Cloud client (spec D16) */
#define CAPP_CLOUD_CONNECT_TIMEOUT_MS      5000
#define CAPP_CLOUD_TOTAL_TIMEOUT_MS        15000
#define CAPP_CLOUD_MAX_ATTEMPTS            3
#define CAPP_CLOUD_MAX_RESPONSE_BYTES      (16 * 1024 * 1024)
#define CAPP_CLOUD_MAX_RETRY_AFTER_SECONDS 60

/* Storage */
/* serve's --db TARGET (or <P>_DB): a SQLite path or a PostgreSQL connection string. libpq sets
 * no limit of its own; a SQLite path meets SQLite's tighter one first (sql_check_target). */
#define CAPP_MAX_DB_TARGET_BYTES 4096

/* Logging */
#define CAPP_LOG_LINE_MAX  2048 /* one log line; longer values are truncated */
#define CAPP_LOG_VALUE_MAX 256  /* one logged value */

#endif
