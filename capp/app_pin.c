#include "app_pin.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"

void app_pin_init(struct app_pin *pin)
{
    memset(pin, 0, sizeof *pin);
    pthread_mutex_init(&pin->lock, NULL);
}

void app_pin_destroy(struct app_pin *pin)
{
    pthread_mutex_destroy(&pin->lock);
}

const char *app_pin_get(struct app_pin *pin)
{
    if (atomic_load_explicit(&pin->set, memory_order_acquire))
        return pin->app_id;
    /* Another replica's first install may have pinned the app in the shared database. */
    char stored[STORE_ID_CAP];
    if (pin->store && store_app_pin_get(pin->store, stored) == 0)
        app_pin_note(pin, stored);
    return atomic_load_explicit(&pin->set, memory_order_acquire) ? pin->app_id : NULL;
}

int app_pin_note(struct app_pin *pin, const char *app_id)
{
    int now = 0;
    pthread_mutex_lock(&pin->lock);
    if (!atomic_load_explicit(&pin->set, memory_order_relaxed)) {
        snprintf(pin->app_id, sizeof pin->app_id, "%s", app_id);
        atomic_store_explicit(&pin->set, 1, memory_order_release);
        now = 1;
    }
    pthread_mutex_unlock(&pin->lock);
    return now;
}

int app_pin_load(struct app_pin *pin, struct store *store, const char *flag)
{
    pin->store = store;
    char stored[STORE_ID_CAP] = "";
    int rc = store_app_pin_get(store, stored);
    if (rc && rc != CAPP_ENOTFOUND)
        return rc;
    if (flag && strcmp(stored, flag) != 0) {
        if (stored[0])
            log_warn("capp.app.pin_replaced", "app_id", flag, "previous_app_id", stored, "source",
                     "app_id_flag", NULL);
        rc = store_app_pin_set(store, flag);
        if (rc)
            return rc;
    }
    if (flag || stored[0])
        app_pin_note(pin, flag ? flag : stored);
    return 0;
}
