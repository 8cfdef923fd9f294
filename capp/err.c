#include "assert.h"
#include "err.h"

static const struct {
    int code;
    const char *message;
    const char *name;
} table[] = {
    {CAPP_OK, "ok", "ok"},
    {CAPP_ENOMEM, "out of memory", "out_of_memory"},
    {CAPP_EINVAL, "invalid input", "invalid_input"},
    {CAPP_ETOOBIG, "input too large", "too_large"},
    {CAPP_ENOTFOUND, "not found", "not_found"},
    {CAPP_EEXIST, "already exists", "already_exists"},
    {CAPP_EIO, "input/output error", "io_error"},
    {CAPP_EDB, "database error", "database_error"},
    {CAPP_ECRYPTO, "cryptographic failure", "crypto_error"},
    {CAPP_EPERM, "permission not granted", "permission_missing"},
    {CAPP_EEXPIRED, "expired", "expired"},
    {CAPP_EINACTIVE, "install not active", "install_inactive"},
    {CAPP_EMISMATCH, "identifiers do not match", "mismatch"},
    {CAPP_ETIMEOUT, "timed out", "timeout"},
    {CAPP_EHTTP, "upstream error", "upstream_error"},
    {CAPP_ENETWORK, "network error", "network_error"},
    {CAPP_EPARSE, "malformed data", "malformed"},
    {CAPP_EBUSY, "busy", "busy"},
    {CAPP_ESHUTDOWN, "shutting down", "shutting_down"},
    {CAPP_EUNAUTH, "unauthorized", "unauthorized"},
    {CAPP_ECONFLICT, "conflict", "conflict"},
    {CAPP_ERATELIMIT, "rate limited", "rate_limited"},
};

const char *capp_strerror(int err)
{
    for (unsigned i = 0; i < COUNTOF(table); i++)
        if (table[i].code == err)
            return table[i].message;
    return "unknown error";
}

const char *capp_errcode(int err)
{
    for (unsigned i = 0; i < COUNTOF(table); i++)
        if (table[i].code == err)
            return table[i].name;
    return "unknown_error";
}
