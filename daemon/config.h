/* flashlined's settings: the defaults of ARCHITECTURE.md "Names", the config
 * file (INI, read with libinih) and the command line, which wins.
 *
 *   [daemon]     socket, db, http (ADDR:PORT), http_token_file,
 *                http_token (deprecated: the token belongs in a file),
 *                http_hosts, http_max_connections, http_max_connections_per_peer,
 *                http_max_streams, http_request_timeout_s, http_idle_timeout_s,
 *                socket_group, socket_mode (octal), max_upload_mb
 *   [probes]     use = SERIAL,SERIAL (only these), ignore = SERIAL,...
 *   [retention]  days (0: keep everything)
 *
 * Unknown sections or keys and bad values are errors with the line number:
 * a typo in a production config must not be silently ignored. */
#ifndef FLASHLINE_DAEMON_CONFIG_H
#define FLASHLINE_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "health.h"

#define CONFIG_DEFAULT_SOCKET "/run/flashline/api.sock"
#define CONFIG_DEFAULT_DB     "/var/lib/flashline/flashline.db"
#define CONFIG_DEFAULT_FILE   "/etc/flashline/flashline.conf"

typedef struct config {
    char *socket;          /* malloc'd; never NULL after config_init */
    char *db;              /* malloc'd; never NULL after config_init */
    char *http;            /* "ADDR:PORT", NULL: no TCP listener */
    char *http_token;      /* NULL: TCP is read-only (deprecated in the file) */
    char *http_token_file; /* the token's file, read by config_read_token() */
    char **http_hosts;     /* NULL-terminated; NULL: the transport's defaults */
    /* The HTTP transport's caps and timeouts (0: its defaults, daemon/http.h) */
    unsigned http_max_connections, http_max_per_peer, http_max_streams;
    unsigned http_request_timeout_s, http_idle_timeout_s;
    char *socket_group; /* NULL: keep the group the socket gets */
    unsigned socket_mode;
    unsigned max_upload_mb;
    char **use_serials;    /* NULL-terminated, NULL: every probe */
    char **ignore_serials; /* NULL-terminated, NULL: none */
    unsigned retention_days;
    health_config health; /* [health]: probe health thresholds */
    /* Which fields were set (by the file or the command line), so that the
     * command line can be applied over the file. */
    unsigned set;
} config;

enum {
    CONFIG_SET_SOCKET = 1u << 0,
    CONFIG_SET_DB = 1u << 1,
    CONFIG_SET_HTTP = 1u << 2,
    CONFIG_SET_TOKEN = 1u << 3,
    CONFIG_SET_GROUP = 1u << 4,
    CONFIG_SET_MODE = 1u << 5,
    CONFIG_SET_UPLOAD = 1u << 6,
    CONFIG_SET_USE = 1u << 7,
    CONFIG_SET_IGNORE = 1u << 8,
    CONFIG_SET_RETENTION = 1u << 9,
    CONFIG_SET_TOKEN_FILE = 1u << 10,
    CONFIG_SET_HOSTS = 1u << 11,
    CONFIG_SET_HTTP_LIMITS = 1u << 12, /* any of the caps and timeouts */
    CONFIG_SET_HEALTH = 1u << 13,      /* any key of [health]; the last bit
                                          (tests/deploy/test_config_sample.c) */
};

/* Defaults. False only when out of memory. */
bool config_init(config *c);
void config_free(config *c);

/* Parse INI text / a file into c (over what it holds). False with msg
 * "FILE:LINE: what is wrong; what to do" on the first error; c may then hold
 * the values before the bad line. A missing file is an error too (the caller
 * decides whether the default path is optional). */
bool config_parse_string(config *c, const char *text, const char *name, char *msg, size_t msglen);
bool config_parse_file(config *c, const char *path, char *msg, size_t msglen);

/* Set one [section] key = value, as the file would; used by the command line
 * too so that both share one validation. False with msg (no location). */
bool config_set(config *c, const char *section, const char *key, const char *value, char *msg,
                size_t msglen);

/* Fields of src that are set override dst's (command line over file). */
bool config_overlay(config *dst, const config *src);

/* "ADDR:PORT", "[v6]:PORT", ":PORT" or "PORT" -> addr (malloc'd, NULL for
 * every interface) and port. */
bool config_split_http(const char *s, char **addr, int *port);

/* The TCP token from path into *token (malloc'd): the file's first line,
 * without surrounding white space. Refused (false, msg says what to do) if
 * the file is not a regular file, may be read or written by others (mode &
 * 007), is empty, or the token holds white space. */
bool config_read_token(const char *path, char **token, char *msg, size_t msglen);

/* Octal permission bits such as "0660" or "660". */
bool config_parse_mode(const char *s, unsigned *mode);

#endif
