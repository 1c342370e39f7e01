/*
 * libFuzzer harness for daemon/api_query: the request's decoded arguments
 * become name/value pairs. Input: the arguments separated by NUL bytes (an
 * argument cannot hold one). Checked against a model computed here: the
 * query is refused exactly when an argument has an empty name or a name
 * comes twice (with a message); otherwise every non-empty argument is one
 * parameter whose value is what follows its first '=', api_query_get finds
 * it and marks it used, and finds nothing else.
 */
#include "api_query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static size_t name_len(const char *a)
{
    const char *eq = strchr(a, '=');
    return eq ? (size_t)(eq - a) : strlen(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *args[MAX_ARGS];
    size_t nargs = 0;
    for (size_t i = 0; i <= size && nargs < MAX_ARGS;) {
        args[nargs++] = buf + i;
        i += strlen(buf + i) + 1;
    }

    /* The model. */
    bool want_ok = true;
    size_t want_n = 0;
    for (size_t i = 0; i < nargs; i++) {
        if (!*args[i])
            continue;
        want_n++;
        size_t n = name_len(args[i]);
        if (n == 0)
            want_ok = false;
        for (size_t j = 0; j < i; j++)
            if (*args[j] && name_len(args[j]) == n && strncmp(args[j], args[i], n) == 0)
                want_ok = false;
    }

    api_query q;
    char msg[128] = "";
    bool ok = api_query_from_args(args, nargs, &q, msg, sizeof msg);
    if (ok != want_ok || (!ok && msg[0] == '\0'))
        abort();
    if (ok) {
        if (q.n != want_n)
            abort();
        for (size_t i = 0; i < nargs; i++) {
            if (!*args[i])
                continue;
            size_t n = name_len(args[i]);
            char *name = strndup(args[i], n);
            if (!name)
                break;
            const char *v = api_query_get(&q, name);
            const char *want_v = args[i][n] == '=' ? args[i] + n + 1 : "";
            if (!v || strcmp(v, want_v) != 0)
                abort();
            free(name);
        }
        for (size_t k = 0; k < q.n; k++)
            if (!q.params[k].used)
                abort();
        /* A name cannot hold '=' (the first one ends it): never found. */
        if (api_query_get(&q, "never=") != NULL)
            abort();
    }
    api_query_free(&q);
    if (q.n != 0 || q.params != NULL)
        abort();
    free(buf);
    return 0;
}
