/*
 * app_pin.h — the one app_id a capp server answers for (spec D1').
 *
 * Lifecycle callbacks and launches carry no signature, so the server serves one app and
 * refuses the others. Cloud shows an app's ID only after its callback and portal URLs are
 * registered, and those must already answer, so `serve --app-id` is optional: without it the
 * first install event pins its app_id (trust on first use). The pin is kept in the store
 * (store_app_pin_get/set; the store decides a first install's pin inside its transaction, so
 * racing first installs for two apps pin exactly one), and mirrored here for the request path:
 * once set it never changes while the server runs, so readers take no lock.
 *
 * Threads: app_pin_get from any thread; app_pin_note from the store's writer (after the
 * install that pinned commits) or at start-up.
 */
#ifndef CAPP_APP_PIN_H
#define CAPP_APP_PIN_H

#include <pthread.h>
#include <stdatomic.h>

#include "store.h"

struct app_pin {
    pthread_mutex_t lock; /* serialises app_pin_note */
    atomic_int set;       /* app_id is written before set becomes 1 (release) */
    char app_id[STORE_ID_CAP];
    struct store *store; /* borrowed, from app_pin_load: asked while unset */
};

void app_pin_init(struct app_pin *pin);
void app_pin_destroy(struct app_pin *pin);
/* At start-up. flag (--app-id, may be NULL) wins over a stored pin and replaces it, logged as
 * capp.app.pin_replaced: the way out of a wrong first install. Without a flag the stored pin,
 * if any, is the app. Returns 0 or the store's error. */
int app_pin_load(struct app_pin *pin, struct store *store, const char *flag);
/* The pinned app_id, or NULL while none is (then one store read per call). Stable once
 * non-NULL. */
const char *app_pin_get(struct app_pin *pin);
/* Records that app_id is pinned; returns 1 when this call pinned it, 0 when one was already. */
int app_pin_note(struct app_pin *pin, const char *app_id);

#endif
