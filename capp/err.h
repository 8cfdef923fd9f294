/*
 * err.h — the one error vocabulary of the project.
 *
 * Fallible functions return int: 0 on success, a negative CAPP_E* code on failure, and write
 * results through out-parameters. A function that fails took no ownership of its arguments.
 * capp_strerror() gives a short, stable English phrase; capp_errcode() the machine code used in
 * HTTP error bodies ({"error": "...", "code": "..."}).
 */
#ifndef CAPP_ERR_H
#define CAPP_ERR_H

enum capp_error {
    CAPP_OK = 0,
    CAPP_ENOMEM = -1,      /* allocation failed */
    CAPP_EINVAL = -2,      /* invalid argument or input */
    CAPP_ETOOBIG = -3,     /* input exceeds a limit (see limits.h) */
    CAPP_ENOTFOUND = -4,   /* no such record */
    CAPP_EEXIST = -5,      /* already exists / already processed */
    CAPP_EIO = -6,         /* file or socket I/O failed */
    CAPP_EDB = -7,         /* database error */
    CAPP_ECRYPTO = -8,     /* cryptographic failure (bad tag, wrong key, RNG) */
    CAPP_EPERM = -9,       /* permission (scope) not granted */
    CAPP_EEXPIRED = -10,   /* token or session expired */
    CAPP_EINACTIVE = -11,  /* install not active */
    CAPP_EMISMATCH = -12,  /* identifiers do not match the stored record */
    CAPP_ETIMEOUT = -13,   /* operation timed out */
    CAPP_EHTTP = -14,      /* upstream answered with a non-2xx status */
    CAPP_ENETWORK = -15,   /* connection-level failure */
    CAPP_EPARSE = -16,     /* malformed data (JSON, CSV, XML, dates) */
    CAPP_EBUSY = -17,      /* resource busy; retry later */
    CAPP_ESHUTDOWN = -18,  /* the component is stopping */
    CAPP_EUNAUTH = -19,    /* missing or unknown credential */
    CAPP_ECONFLICT = -20,  /* state does not allow the operation */
    CAPP_ERATELIMIT = -21, /* upstream rate limited us (429) */
};

/* On a function whose int result is its only report of failure: the compiler refuses a call that
 * drops it (GCC does not accept a (void) cast as consuming it, so a caller must look). */
#define CAPP_WARN_UNUSED __attribute__((warn_unused_result))

const char *capp_strerror(int err);
const char *capp_errcode(int err);

#endif
