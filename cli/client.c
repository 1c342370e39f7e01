/*
 * One request to flashlined over its Unix socket (docs/api.md). libcurl
 * does the HTTP; this file decides what a failure means: a socket nobody
 * listens on is "start the daemon", a 4xx is the daemon's own message.
 */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* A request/response bound together for the write callback. */
typedef struct transfer {
    CURL *curl;
    const cl_request *req;
    cl_response *resp;
    bool sink_failed;
    bool no_memory;
} transfer;

static bool append(cl_response *r, const char *data, size_t n)
{
    char *b = realloc(r->body, r->len + n + 1);
    if (!b)
        return false;
    memcpy(b + r->len, data, n);
    r->len += n;
    b[r->len] = '\0';
    r->body = b;
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    transfer *t = ctx;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    /* Only a success is streamed: an error body is the daemon's JSON
     * message, collected so it can be shown instead of written out. */
    if (t->req->sink && status >= 200 && status < 300) {
        if (!t->req->sink(data, n, t->req->sink_ctx)) {
            t->sink_failed = true;
            return 0;
        }
        return n;
    }
    if (!append(t->resp, data, n)) {
        t->no_memory = true;
        return 0;
    }
    return n;
}

static cl_err connect_failure(CURL *curl, cl_response *resp, CURLcode c)
{
    long os = 0;
    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os);
    snprintf(resp->message, sizeof resp->message, "%s",
             os ? strerror((int)os) : curl_easy_strerror(c));
    if (os == EACCES || os == EPERM)
        return CL_DENIED;
    return CL_NO_DAEMON;
}

static void error_message(cl_response *resp)
{
    json_t *msg = json_object_get(json_object_get(resp->json, "error"), "message");
    if (json_is_string(msg)) {
        snprintf(resp->message, sizeof resp->message, "%s", json_string_value(msg));
        return;
    }
    /* Not the contract's error body: show what there is, shortened. */
    snprintf(resp->message, sizeof resp->message, "HTTP %ld%s%.200s", resp->status,
             resp->body ? ": " : "", resp->body ? resp->body : "");
}

cl_err cl_perform(const cl_request *req, cl_response *resp)
{
    memset(resp, 0, sizeof *resp);
    if (strlen(req->socket) >= sizeof((struct sockaddr_un *)0)->sun_path) {
        snprintf(resp->message, sizeof resp->message, "socket path too long");
        return CL_NO_DAEMON;
    }
    char url[2048];
    if ((size_t)snprintf(url, sizeof url, "http://localhost%s", req->path) >= sizeof url) {
        snprintf(resp->message, sizeof resp->message, "request path too long");
        return CL_TRANSPORT;
    }
    CURL *curl = curl_easy_init();
    if (!curl)
        return CL_NO_MEMORY;
    transfer t = {.curl = curl, .req = req, .resp = resp};
    struct curl_slist *hdrs = NULL;
    char ctype[128];
    /* No "Expect: 100-continue": it costs a second's wait on uploads to a
     * server that does not answer it, for nothing on a local socket. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (req->content_type) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", req->content_type);
        hdrs = curl_slist_append(hdrs, ctype);
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, req->socket);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    /* A stream lasts as long as it lasts; anything else that takes two
     * minutes on a local socket is a hung daemon. */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, req->sink ? 0L : 120L);
    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(req->method, "POST") != 0)
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
    }
    CURLcode c = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    cl_err e = CL_OK;
    if (t.no_memory) {
        e = CL_NO_MEMORY;
        snprintf(resp->message, sizeof resp->message, "out of memory");
    } else if (t.sink_failed) {
        e = CL_SINK;
        snprintf(resp->message, sizeof resp->message, "could not write the answer out");
    } else if (c == CURLE_COULDNT_CONNECT) {
        e = connect_failure(curl, resp, c);
    } else if (c != CURLE_OK) {
        e = CL_TRANSPORT;
        snprintf(resp->message, sizeof resp->message, "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(c));
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    if (e != CL_OK)
        return e;
    if (resp->body)
        resp->json = json_loadb(resp->body, resp->len, 0, NULL);
    if (resp->status < 200 || resp->status >= 300) {
        error_message(resp);
        return CL_HTTP;
    }
    return CL_OK;
}

void cl_response_free(cl_response *resp)
{
    free(resp->body);
    json_decref(resp->json);
    resp->body = NULL;
    resp->json = NULL;
}

int cl_exit_for_status(long status)
{
    if (status >= 200 && status < 300)
        return CLI_OK;
    if (status == 404)
        return CLI_NOT_FOUND;
    if (status >= 400 && status < 500)
        return CLI_REFUSED;
    return CLI_FAILED;
}

int cl_exit_for(cl_err e, long status)
{
    switch (e) {
    case CL_OK:
        return CLI_OK;
    case CL_NO_DAEMON:
    case CL_DENIED:
        return CLI_UNREACHABLE;
    case CL_HTTP:
        return cl_exit_for_status(status);
    case CL_TRANSPORT:
    case CL_BAD_REPLY:
    case CL_SINK:
    case CL_NO_MEMORY:
        break;
    }
    return CLI_FAILED;
}

int cl_report(const char *cmd, const char *socket, cl_err e, const cl_response *resp)
{
    switch (e) {
    case CL_OK:
        return CLI_OK;
    case CL_NO_DAEMON:
        fprintf(stderr,
                "flashline %s: cannot reach flashlined at %s (%s); start it (systemctl start "
                "flashlined) or pass --socket PATH\n",
                cmd, socket, resp->message);
        break;
    case CL_DENIED:
        fprintf(stderr,
                "flashline %s: not allowed to connect to %s (%s); the user must be root or in "
                "group flashline\n",
                cmd, socket, resp->message);
        break;
    case CL_BAD_REPLY:
        fprintf(stderr, "flashline %s: unexpected answer from flashlined: %s\n", cmd,
                resp->message);
        break;
    case CL_HTTP:
    case CL_TRANSPORT:
    case CL_SINK:
    case CL_NO_MEMORY:
        fprintf(stderr, "flashline %s: %s\n", cmd, resp->message);
        break;
    }
    return cl_exit_for(e, resp->status);
}

int cl_call(const cli_opts *o, const char *cmd, const char *method, const char *path, json_t *body,
            json_t **out)
{
    *out = NULL;
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text) {
            fprintf(stderr, "flashline %s: out of memory\n", cmd);
            return CLI_FAILED;
        }
    }
    const char *socket = cli_socket(o);
    cl_request req = {.socket = socket,
                      .method = method,
                      .path = path,
                      .content_type = text ? "application/json" : NULL,
                      .body = text,
                      .body_len = text ? strlen(text) : 0};
    cl_response resp;
    cl_err e = cl_perform(&req, &resp);
    free(text);
    if (e == CL_OK && !json_is_object(resp.json)) {
        e = CL_BAD_REPLY;
        snprintf(resp.message, sizeof resp.message, "%s %s: the body is not a JSON object", method,
                 path);
    }
    int code = cl_report(cmd, socket, e, &resp);
    if (code == CLI_OK)
        *out = json_incref(resp.json);
    cl_response_free(&resp);
    return code;
}

bool cl_escape(const char *value, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
        if (n + 4 > size)
            return false;
        /* RFC 3986 unreserved characters go as they are. */
        if ((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') ||
            *v == '-' || *v == '.' || *v == '_' || *v == '~') {
            out[n++] = (char)*v;
        } else {
            out[n++] = '%';
            out[n++] = hex[*v >> 4];
            out[n++] = hex[*v & 15];
        }
    }
    if (n + 1 > size)
        return false;
    out[n] = '\0';
    return true;
}

bool cl_query_add(char *path, size_t size, const char *key, const char *value)
{
    size_t len = strlen(path);
    int head = snprintf(path + len, size - len, "%c%s=", strchr(path, '?') ? '&' : '?', key);
    if (head < 0 || (size_t)head >= size - len ||
        !cl_escape(value, path + len + head, size - len - (size_t)head)) {
        path[len] = '\0';
        return false;
    }
    return true;
}

const char *cli_socket(const cli_opts *o)
{
    if (o->socket)
        return o->socket;
    const char *env = getenv("FLASHLINE_SOCKET");
    return env && *env ? env : CLI_DEFAULT_SOCKET;
}
