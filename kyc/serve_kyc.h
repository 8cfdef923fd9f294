/*
 * serve_kyc.h — what `kyc serve` adds to capp's serve command: the KYC flags, the sanctions
 * engine and the screening pipeline, and the portal API endpoints for progress and runs.
 *
 *   --lists PATH[@DATE]      (repeatable) an OFAC CSV folder, a UN XML file or a Senzing JSON
 *                            export, optionally with its publication date; none or
 *                            unloadable → data-quality checks only (logged, shown in progress)
 *   --cloud-url URL          Blnk Cloud base URL (default https://api.cloud.blnkfinance.com)
 *   --metadata-key NAME      the identity metadata key written back (default kyc; D19)
 *   --rescreen-interval S    seconds between scheduled runs per install (default 3600; 0 off)
 *   --pipeline-threads N     concurrent Cloud writers (default 8, 1..64)
 *   --iso-codes PATH         iso_3166-1.json (default: Debian's iso-codes)
 *
 * Portal API (capp enforces session + CSRF):
 *   GET  /portal/api/progress   pipeline_progress() for the session's install
 *   POST /portal/api/runs       queue a run now → 202 {"queued":true}
 */
#ifndef KYC_SERVE_KYC_H
#define KYC_SERVE_KYC_H

#include <stddef.h>
#include <stdint.h>

#include "capp/serve.h"

/* The path the list-change poll stat()s for a --lists argument: `PATH@YYYY-MM-DD` (a date
 * given on the command line, D29) is PATH unless the argument exists as written. Returns its
 * length, 0 when it does not fit in cap. */
size_t kyc_lists_poll_path(const char *arg, char *out, size_t cap);
/* A signature of the list files as they are on disk now (name, inode, size, mtime of each
 * file, and of every regular file in a list folder), summed so the order folders are read in
 * does not matter. A file replaced by rename, rewritten or touched changes it. */
uint64_t kyc_lists_signature(const char *const *lists, size_t n);

/* The hooks for capp_serve_main (static storage; one serve per process). */
const struct capp_serve_hooks *kyc_serve_hooks(void);

#endif
