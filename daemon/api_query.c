/* The query arguments of a request (api_query.h): pure, so that the unit
 * tests and the fuzzer (tests/fuzz/fuzz_query.c) reach it without a
 * station, a store or a transport. */
#include "api_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool api_query_from_args(const char *const *args, size_t nargs, api_query *q, char *msg,
                         size_t msglen)
{
    q->params = NULL;
    q->n = 0;
    if (nargs == 0)
        return true;
    q->params = calloc(nargs, sizeof *q->params);
    if (!q->params) {
        snprintf(msg, msglen, "out of memory reading the query; retry");
        return false;
    }
    for (size_t k = 0; k < nargs; k++) {
        const char *arg = args[k];
        if (!arg || !*arg)
            continue; /* "a=1&&b=2" */
        /* The transport split the query at '&' before decoding and turned
         * a decoded '=' in a name into '_', so the first '=' here is the
         * separator and the value may hold any byte but NUL. */
        size_t nlen = strcspn(arg, "=");
        if (nlen == 0) {
            snprintf(msg, msglen, "the query has an argument without a name (\"%.32s\")", arg);
            return false;
        }
        api_param *a = &q->params[q->n];
        a->name = strdup(arg);
        if (!a->name) {
            snprintf(msg, msglen, "out of memory reading the query; retry");
            return false;
        }
        q->n++;
        a->used = false;
        a->value = arg[nlen] == '=' ? a->name + nlen + 1 : a->name + nlen;
        a->name[nlen] = '\0';
        for (size_t i = 0; i + 1 < q->n; i++) {
            if (strcmp(q->params[i].name, a->name) == 0) {
                snprintf(msg, msglen, "the query gives \"%s\" twice; give it once", a->name);
                return false;
            }
        }
    }
    return true;
}

void api_query_free(api_query *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->params[i].name); /* the value lives in the same block */
    free(q->params);
    q->params = NULL;
    q->n = 0;
}

const char *api_query_get(api_query *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(q->params[i].name, name) == 0) {
            q->params[i].used = true;
            return q->params[i].value;
        }
    }
    return NULL;
}
