/*
 * serve_kyc.h — what `kyc serve` adds to capp's serve command: the KYC flags, the sanctions
 * engine and the screening pipeline, and the portal API endpoints for progress and runs.
 *
 *   --lists PATH             (repeatable) an OFAC CSV folder or a UN XML file; none or
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

#include "capp/serve.h"

/* The hooks for capp_serve_main (static storage; one serve per process). */
const struct capp_serve_hooks *kyc_serve_hooks(void);

#endif
