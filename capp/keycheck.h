/*
 * keycheck.h — start-up proof that the master key is the one this database was set up with
 * (spec D30).
 *
 * A valid-format but wrong master key used to start the server, and every later Cloud call
 * failed with crypto_error. keycheck_run() is called once at start-up, before the server
 * listens. It keeps a sealed check value in the database (table capp_key_check, its own
 * migration component "capp_keycheck"): written with the primary key at first start, opened
 * with the keyring at every later one, and resealed with the primary key when an older key of
 * the keyring opened it (rotation), so dropping the old key from the key file later still
 * passes. Then it opens every stored secret (the install store's sealed API keys) with the
 * keyring: a database whose secrets the keyring cannot open must not start either, whether or
 * not it has a check value yet (a database from before the check existed gets one only once
 * every secret opens). One query and one AES-GCM open per install: 10 000 installs take a few
 * tens of milliseconds (tests/capp/test_keycheck.c prints the figure).
 */
#ifndef CAPP_KEYCHECK_H
#define CAPP_KEYCHECK_H

#include "seal.h"

struct keycheck_result {
    long secrets_checked; /* sealed secrets the keyring opened */
    int created;          /* the check value was written now (first start) */
    int resealed;         /* an older key opened it: resealed with the primary key */
    char problem[512];    /* why start-up must stop (CAPP_ECRYPTO), one line for the operator */
};

/* Opens the database target names (a SQLite path, created if absent as the store does, or a
 * PostgreSQL connection string: sql_open) and runs the check; on PostgreSQL the sealed API keys
 * are those of the PostgreSQL install store's installs table. Returns 0 when the keyring opens the
 * check value and every stored secret; CAPP_ECRYPTO when it does not (out->problem says which
 * value, which key sealed it and what to do; nothing was written); CAPP_EDB (or CAPP_ENOMEM) when
 * the database cannot be read or written. */
int keycheck_run(const char *target, const struct seal_keyring *kr, struct keycheck_result *out);

#endif
