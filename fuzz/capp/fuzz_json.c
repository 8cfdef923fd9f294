/*
 * fuzz_json.c — json_parse_object() and json_read_fields() with a table that has one field of
 * every kind, plus the ID and timestamp validators on the raw input. Aborts when a value that
 * json_read_fields accepted breaks its field's limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capp/json.h"
#include "capp/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ITEMS    4
#define ITEM_MAX_LEN 16
#define STRING_MAX   32

static void check_validators(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);
    if (json_is_valid_id(text, CAPP_MAX_ID_BYTES) && (len == 0 || len > CAPP_MAX_ID_BYTES))
        abort();
    if (json_is_rfc3339_utc(text) && (len < 20 || len > CAPP_MAX_TIMESTAMP_BYTES))
        abort();
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_validators(data, size);
    json_t *obj = NULL;
    struct json_error err = {0};
    int rc = json_parse_object((const char *)data, size, &obj, &err);
    if (rc != 0) {
        if (obj || !err.code)
            abort();
        return 0;
    }
    const char *id = NULL, *name = NULL, *at = NULL, *any = NULL;
    const char *items[MAX_ITEMS + 1] = {0};
    size_t count = 0;
    long long number = 0;
    int flag = -1, id_present = 0;
    struct json_field fields[] = {
        JSON_ID("id", &id, 0),
        JSON_STRING("name", &name, STRING_MAX, 0),
        JSON_STRING("any", &any, 0, 0),
        JSON_STRING_ARRAY("list", items, &count, MAX_ITEMS, ITEM_MAX_LEN, 0),
        JSON_TIMESTAMP("at", &at, 0),
        JSON_INTEGER("n", &number, 0),
        JSON_BOOLEAN("b", &flag, 0),
        JSON_ID("required_id", &id, 1),
    };
    fields[0].present = &id_present;
    rc = json_read_fields(obj, fields, sizeof fields / sizeof fields[0], &err);
    /* whatever the outcome, every value written so far obeys its field */
    if (id && !json_is_valid_id(id, CAPP_MAX_ID_BYTES))
        abort();
    if (name && strlen(name) > STRING_MAX)
        abort();
    if (at && !json_is_rfc3339_utc(at))
        abort();
    if (count > MAX_ITEMS || items[MAX_ITEMS])
        abort();
    for (size_t i = 0; i < count; i++)
        if (!items[i] || strlen(items[i]) > ITEM_MAX_LEN)
            abort();
    if (flag != -1 && flag != 0 && flag != 1)
        abort();
    if (rc != 0 && (!err.code || !err.message[0]))
        abort();
    if (rc == 0 && !id)
        abort(); /* required_id was read */
    char *text = json_to_string(obj);
    free(text);
    json_decref(obj);
    return 0;
}
