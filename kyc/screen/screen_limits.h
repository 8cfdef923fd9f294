/*
 * screen_limits.h — every input limit of the screening engine, in one place.
 *
 * Each limit is enforced where the input enters (file loaders, normaliser, query parser, CLI)
 * and each has a test in tests/screen/test_screen_limits.c that exceeds it. Exceeding a limit
 * is CAPP_ETOOBIG with a message naming the input, never a silent truncation, except where a
 * comment says the excess is dropped on purpose (tokens beyond SCREEN_MAX_NAME_TOKENS).
 */
#ifndef SCREEN_LIMITS_H
#define SCREEN_LIMITS_H

/* One list file (sdn.csv today is ~4 MiB; UN XML ~2 MiB). */
#define SCREEN_MAX_LIST_FILE_BYTES (64u * 1024u * 1024u)
/* Records per list set, across all sources. */
#define SCREEN_MAX_ENTRIES 500000u
/* One CSV field / one XML text value, in bytes. OFAC cuts remarks at 1,000. */
#define SCREEN_MAX_FIELD_BYTES 16384u
/* Remarks after joining sdn.csv with sdn_comments.csv. */
#define SCREEN_MAX_REMARKS_BYTES 65536u
/* Per-entry repeated attributes (aliases, DOBs, documents, countries...). */
#define SCREEN_MAX_ALIASES_PER_ENTRY 512u
#define SCREEN_MAX_ATTRS_PER_ENTRY   256u
/* A name to normalise (query or list), in bytes of UTF-8. */
#define SCREEN_MAX_NAME_BYTES 1024u
/* Tokens kept per name; further tokens are dropped (they would only add penalty noise). */
#define SCREEN_MAX_NAME_TOKENS 24u
/* One token after normalisation; longer tokens are cut to this length. */
#define SCREEN_MAX_TOKEN_BYTES 48u
/* Matches returned per query. */
#define SCREEN_MAX_TOP_K 100u
/* One line of `--batch` input. */
#define SCREEN_MAX_BATCH_LINE_BYTES 8192u
/* Query fields other than the name (dob, country, id, query id). */
#define SCREEN_MAX_QUERY_FIELD_BYTES 128u
/* `--lists` arguments to one command. */
#define SCREEN_MAX_LIST_PATHS 16u
/* One downloaded file in `kyc lists fetch`. */
#define SCREEN_MAX_DOWNLOAD_BYTES SCREEN_MAX_LIST_FILE_BYTES
/* One record (line) of an OpenSanctions Senzing JSON export; the largest entities of the
 * `default` collection are ~100 KiB. */
#define SCREEN_MAX_JSON_LINE_BYTES (1024u * 1024u)
/* XML nesting depth accepted from the UN file. */
#define SCREEN_MAX_XML_DEPTH 16u

#endif
