/* flashlined's configuration: defaults, INI file (libinih), command line. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

static void free_list(char **l)
{
    if (!l)
        return;
    for (char **p = l; *p; p++)
        free(*p);
    free(l);
}

static char **copy_list(char *const *l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        if (!(out[i] = strdup(l[i]))) {
            free_list(out);
            return NULL;
        }
    }
    return out;
}

static bool set_str(char **dst, const char *v)
{
    char *s = v ? strdup(v) : NULL;
    if (v && !s)
        return false;
    free(*dst);
    *dst = s;
    return true;
}

bool config_init(config *c)
{
    memset(c, 0, sizeof *c);
    c->socket_mode = 0660;
    c->max_upload_mb = 16;
    health_config_defaults(&c->health);
    c->socket = strdup(CONFIG_DEFAULT_SOCKET);
    c->db = strdup(CONFIG_DEFAULT_DB);
    return c->socket && c->db;
}

void config_free(config *c)
{
    free(c->socket);
    free(c->db);
    free(c->http);
    free(c->http_token);
    free(c->http_token_file);
    free_list(c->http_hosts);
    free(c->socket_group);
    free_list(c->use_serials);
    free_list(c->ignore_serials);
    memset(c, 0, sizeof *c);
}

bool config_parse_mode(const char *s, unsigned *mode)
{
    if (!s || !*s || strspn(s, "01234567") != strlen(s) || strlen(s) > 4)
        return false;
    unsigned long v = strtoul(s, NULL, 8);
    if (v > 0777)
        return false;
    *mode = (unsigned)v;
    return true;
}

static bool parse_uint(const char *s, unsigned long max, unsigned *out)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    unsigned long v = strtoul(s, NULL, 10);
    if (errno || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

/* A share (percent), or attempts per unit: a decimal number in range. */
static bool parse_number(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s || strspn(s, "0123456789.") != strlen(s))
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* [health] (daemon/health.h): the figures a probe is judged by. */
static bool set_health(health_config *h, const char *key, const char *value, char *msg,
                       size_t msglen)
{
    unsigned u = 0;
    double d = 0;
    if (strcmp(key, "window") == 0 && parse_uint(value, HEALTH_WINDOW_MAX, &u) && u > 0)
        h->window = u;
    else if (strcmp(key, "degraded_min_units") == 0 && parse_uint(value, HEALTH_WINDOW_MAX, &u))
        h->degraded_min_units = u;
    else if (strcmp(key, "failing_min_units") == 0 && parse_uint(value, HEALTH_WINDOW_MAX, &u))
        h->failing_min_units = u;
    else if (strcmp(key, "degraded_recovery_percent") == 0 && parse_number(value, 0, 100, &d))
        h->degraded_recovery = d / 100;
    else if (strcmp(key, "failing_recovery_percent") == 0 && parse_number(value, 0, 100, &d))
        h->failing_recovery = d / 100;
    else if (strcmp(key, "degraded_attempts") == 0 && parse_number(value, 1, 100, &d))
        h->degraded_attempts = d;
    else if (strcmp(key, "failing_attempts") == 0 && parse_number(value, 1, 100, &d))
        h->failing_attempts = d;
    else if (strcmp(key, "failing_usb_resets_per_hour") == 0 && parse_uint(value, 1000, &u))
        h->failing_usb_resets = u;
    else if (strcmp(key, "quarantine") == 0 &&
             (strcmp(value, "true") == 0 || strcmp(value, "false") == 0))
        h->quarantine = strcmp(value, "true") == 0;
    else {
        snprintf(msg, msglen,
                 "[health] %s = \"%s\": the keys are window (units, 1-%d), degraded_min_units, "
                 "failing_min_units, degraded_recovery_percent and failing_recovery_percent "
                 "(0-100), degraded_attempts and failing_attempts (1-100), "
                 "failing_usb_resets_per_hour, quarantine (true or false)",
                 key, value, HEALTH_WINDOW_MAX);
        return false;
    }
    return true;
}

bool config_split_http(const char *s, char **addr, int *port)
{
    *addr = NULL;
    if (!s || !*s)
        return false;
    const char *ps = s, *host = NULL;
    size_t hlen = 0;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        host = s + 1;
        hlen = (size_t)(close - host);
        ps = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon) {
            if (memchr(s, ':', (size_t)(colon - s)))
                return false; /* a bare IPv6 address: needs [brackets] */
            host = s;
            hlen = (size_t)(colon - s);
            ps = colon + 1;
        }
    }
    unsigned p;
    if (!parse_uint(ps, 65535, &p) || p == 0)
        return false;
    if (host && hlen > 0) {
        *addr = strndup(host, hlen);
        if (!*addr)
            return false;
    }
    *port = (int)p;
    return true;
}

/* "A, B,C" -> {"A","B","C",NULL}; empty items are refused. what names the
 * items in messages. */
static char **split_list(const char *v, const char *what, char *msg, size_t msglen)
{
    size_t n = 1;
    for (const char *p = v; *p; p++)
        n += *p == ',';
    char **out = calloc(n + 1, sizeof *out);
    if (!out) {
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    const char *p = v;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(p, ",");
        const char *a = p, *b = p + len;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b) {
            snprintf(msg, msglen, "empty %s in \"%s\"; list them separated by commas", what, v);
            free_list(out);
            return NULL;
        }
        for (const char *q = a; q < b; q++) {
            if (!isgraph((unsigned char)*q)) {
                snprintf(msg, msglen, "%s \"%.*s\" has a space or control character", what,
                         (int)(b - a), a);
                free_list(out);
                return NULL;
            }
        }
        if (!(out[i] = strndup(a, (size_t)(b - a)))) {
            snprintf(msg, msglen, "out of memory");
            free_list(out);
            return NULL;
        }
        p += len + (p[len] == ',');
    }
    return out;
}

/* The numeric HTTP settings: true if key is one (*ok then says whether the
 * value was good). */
static bool set_limit(config *c, const char *key, const char *value, char *msg, size_t msglen,
                      bool *ok)
{
    static const struct {
        const char *key;
        size_t off;
        unsigned long max;
        const char *unit;
    } keys[] = {
        {"http_max_connections", offsetof(config, http_max_connections), 100000, "connections"},
        {"http_max_connections_per_peer", offsetof(config, http_max_per_peer), 100000,
         "connections"},
        {"http_max_streams", offsetof(config, http_max_streams), 100000, "event streams"},
        {"http_request_timeout_s", offsetof(config, http_request_timeout_s), 3600, "seconds"},
        {"http_idle_timeout_s", offsetof(config, http_idle_timeout_s), 86400, "seconds"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(key, keys[i].key) != 0)
            continue;
        unsigned *dst = (unsigned *)(void *)((char *)c + keys[i].off);
        *ok = parse_uint(value, keys[i].max, dst) && *dst > 0;
        if (!*ok)
            snprintf(msg, msglen, "%s = \"%s\" must be a whole number of %s from 1 to %lu", key,
                     value, keys[i].unit, keys[i].max);
        c->set |= CONFIG_SET_HTTP_LIMITS;
        return true;
    }
    return false;
}

bool config_read_token(const char *path, char **token, char *msg, size_t msglen)
{
    *token = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(msg, msglen,
                 "cannot read the token file %s: %s; check the path and that the "
                 "daemon's user may read it",
                 path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0007)) {
        snprintf(msg, msglen,
                 "the token file %s %s; make it a regular file only its owner (and group) may "
                 "read: chmod 0600 %s",
                 path,
                 S_ISREG(st.st_mode) ? "may be read or written by other users"
                                     : "is not a regular file",
                 path);
        close(fd);
        return false;
    }
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        snprintf(msg, msglen, "cannot read the token file %s: %s", path, strerror(errno));
        return false;
    }
    buf[n] = '\0';
    char *a = buf, *b = buf + strcspn(buf, "\n");
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    if (a == b) {
        snprintf(msg, msglen, "the token file %s is empty; write the token on its first line",
                 path);
        return false;
    }
    for (const char *q = a; q < b; q++) {
        if (!isgraph((unsigned char)*q)) {
            snprintf(msg, msglen,
                     "the token in %s has a space or control character; use "
                     "letters, digits and punctuation only",
                     path);
            return false;
        }
    }
    if (!(*token = strndup(a, (size_t)(b - a)))) {
        snprintf(msg, msglen, "out of memory");
        return false;
    }
    return true;
}

bool config_set(config *c, const char *section, const char *key, const char *value, char *msg,
                size_t msglen)
{
    bool ok = true;
    if (strcmp(section, "daemon") == 0) {
        char **str = NULL;
        unsigned flag = 0;
        if (strcmp(key, "socket") == 0) {
            str = &c->socket;
            flag = CONFIG_SET_SOCKET;
        } else if (strcmp(key, "db") == 0) {
            str = &c->db;
            flag = CONFIG_SET_DB;
        } else if (strcmp(key, "http_token") == 0) {
            str = &c->http_token;
            flag = CONFIG_SET_TOKEN;
        } else if (strcmp(key, "http_token_file") == 0) {
            str = &c->http_token_file;
            flag = CONFIG_SET_TOKEN_FILE;
        } else if (strcmp(key, "http_hosts") == 0) {
            /* Empty: the transport's defaults (daemon/http.h). */
            char **l = *value ? split_list(value, "host name", msg, msglen) : NULL;
            if (*value && !l)
                return false;
            free_list(c->http_hosts);
            c->http_hosts = l;
            c->set |= CONFIG_SET_HOSTS;
            return true;
        } else if (set_limit(c, key, value, msg, msglen, &ok)) {
            return ok;
        } else if (strcmp(key, "socket_group") == 0) {
            str = &c->socket_group;
            flag = CONFIG_SET_GROUP;
        } else if (strcmp(key, "http") == 0) {
            char *addr;
            int port;
            if (!config_split_http(value, &addr, &port)) {
                snprintf(msg, msglen,
                         "http = \"%s\" is not ADDR:PORT; write e.g. 127.0.0.1:8080 or "
                         "[::1]:8080",
                         value);
                return false;
            }
            free(addr);
            str = &c->http;
            flag = CONFIG_SET_HTTP;
        } else if (strcmp(key, "socket_mode") == 0) {
            if (!config_parse_mode(value, &c->socket_mode)) {
                snprintf(msg, msglen,
                         "socket_mode = \"%s\" is not octal permission bits; write e.g. 0660",
                         value);
                return false;
            }
            c->set |= CONFIG_SET_MODE;
            return true;
        } else if (strcmp(key, "max_upload_mb") == 0) {
            if (!parse_uint(value, 4096, &c->max_upload_mb) || c->max_upload_mb == 0) {
                snprintf(msg, msglen,
                         "max_upload_mb = \"%s\" must be a whole number of MiB from 1 to 4096",
                         value);
                return false;
            }
            c->set |= CONFIG_SET_UPLOAD;
            return true;
        } else {
            snprintf(msg, msglen,
                     "unknown key \"%s\" in [daemon]; the keys are socket, db, http, "
                     "http_token_file, http_token, http_hosts, http_max_connections, "
                     "http_max_connections_per_peer, http_max_streams, "
                     "http_request_timeout_s, http_idle_timeout_s, socket_group, "
                     "socket_mode, max_upload_mb",
                     key);
            return false;
        }
        if (!*value && flag != CONFIG_SET_TOKEN && flag != CONFIG_SET_TOKEN_FILE &&
            flag != CONFIG_SET_GROUP) {
            snprintf(msg, msglen, "%s is empty; give a value or remove the line", key);
            return false;
        }
        ok = set_str(str, *value ? value : NULL);
        c->set |= flag;
    } else if (strcmp(section, "probes") == 0) {
        bool use = strcmp(key, "use") == 0;
        if (!use && strcmp(key, "ignore") != 0) {
            snprintf(msg, msglen, "unknown key \"%s\" in [probes]; the keys are use, ignore", key);
            return false;
        }
        char **l = split_list(value, "serial", msg, msglen);
        if (!l)
            return false;
        char ***dst = use ? &c->use_serials : &c->ignore_serials;
        free_list(*dst);
        *dst = l;
        c->set |= use ? CONFIG_SET_USE : CONFIG_SET_IGNORE;
    } else if (strcmp(section, "retention") == 0) {
        if (strcmp(key, "days") != 0) {
            snprintf(msg, msglen, "unknown key \"%s\" in [retention]; the key is days", key);
            return false;
        }
        if (!parse_uint(value, 36500, &c->retention_days)) {
            snprintf(msg, msglen,
                     "days = \"%s\" must be a whole number of days (0 keeps everything)", value);
            return false;
        }
        c->set |= CONFIG_SET_RETENTION;
    } else if (strcmp(section, "health") == 0) {
        if (!set_health(&c->health, key, value, msg, msglen))
            return false;
        c->set |= CONFIG_SET_HEALTH;
    } else {
        snprintf(msg, msglen,
                 "unknown section [%s]; the sections are [daemon], [probes], [retention], "
                 "[health]",
                 section);
        return false;
    }
    if (!ok)
        snprintf(msg, msglen, "out of memory");
    return ok;
}

typedef struct parse_ctx {
    config *c;
    char msg[256];
    bool failed;
} parse_ctx;

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *p = user;
    if (p->failed)
        return 0;
    if (!config_set(p->c, section, name, value, p->msg, sizeof p->msg)) {
        p->failed = true;
        return 0;
    }
    return 1;
}

static bool finish(parse_ctx *p, int rc, const char *name, char *msg, size_t msglen)
{
    if (rc == 0)
        return true;
    if (rc < 0)
        snprintf(msg, msglen, "%s: cannot read it (%s); check the path and its permissions", name,
                 rc == -1 ? strerror(errno) : "out of memory");
    else if (p->failed)
        snprintf(msg, msglen, "%s:%d: %s", name, rc, p->msg);
    else
        snprintf(msg, msglen,
                 "%s:%d: not INI syntax; write [section] headers and key = value lines", name, rc);
    return false;
}

bool config_parse_string(config *c, const char *text, const char *name, char *msg, size_t msglen)
{
    parse_ctx p = {.c = c};
    return finish(&p, ini_parse_string(text, on_ini, &p), name, msg, msglen);
}

bool config_parse_file(config *c, const char *path, char *msg, size_t msglen)
{
    parse_ctx p = {.c = c};
    errno = 0;
    return finish(&p, ini_parse(path, on_ini, &p), path, msg, msglen);
}

bool config_overlay(config *dst, const config *src)
{
    bool ok = true;
    if (src->set & CONFIG_SET_SOCKET)
        ok &= set_str(&dst->socket, src->socket);
    if (src->set & CONFIG_SET_DB)
        ok &= set_str(&dst->db, src->db);
    if (src->set & CONFIG_SET_HTTP)
        ok &= set_str(&dst->http, src->http);
    if (src->set & CONFIG_SET_TOKEN)
        ok &= set_str(&dst->http_token, src->http_token);
    if (src->set & CONFIG_SET_TOKEN_FILE)
        ok &= set_str(&dst->http_token_file, src->http_token_file);
    if (src->set & CONFIG_SET_HOSTS) {
        free_list(dst->http_hosts);
        ok &= (dst->http_hosts = copy_list(src->http_hosts)) != NULL;
    }
    if (src->set & CONFIG_SET_HTTP_LIMITS) {
        /* Only the command line sets these over a file, and it has no flags
         * for them; copy what it holds that is set. */
        if (src->http_max_connections)
            dst->http_max_connections = src->http_max_connections;
        if (src->http_max_per_peer)
            dst->http_max_per_peer = src->http_max_per_peer;
        if (src->http_max_streams)
            dst->http_max_streams = src->http_max_streams;
        if (src->http_request_timeout_s)
            dst->http_request_timeout_s = src->http_request_timeout_s;
        if (src->http_idle_timeout_s)
            dst->http_idle_timeout_s = src->http_idle_timeout_s;
    }
    if (src->set & CONFIG_SET_GROUP)
        ok &= set_str(&dst->socket_group, src->socket_group);
    if (src->set & CONFIG_SET_MODE)
        dst->socket_mode = src->socket_mode;
    if (src->set & CONFIG_SET_UPLOAD)
        dst->max_upload_mb = src->max_upload_mb;
    if (src->set & CONFIG_SET_RETENTION)
        dst->retention_days = src->retention_days;
    if (src->set & CONFIG_SET_HEALTH)
        dst->health = src->health;
    if (src->set & CONFIG_SET_USE) {
        free_list(dst->use_serials);
        ok &= (dst->use_serials = copy_list(src->use_serials)) != NULL;
    }
    if (src->set & CONFIG_SET_IGNORE) {
        free_list(dst->ignore_serials);
        ok &= (dst->ignore_serials = copy_list(src->ignore_serials)) != NULL;
    }
    dst->set |= src->set;
    return ok;
}
