/* deploy.config_sample: deploy/flashline.conf.sample, installed as
 * /etc/flashline/flashline.conf, is read by the daemon's own parser
 * (daemon/config.c):
 *   - as shipped (everything commented out) it parses and leaves the
 *     defaults, so a fresh install starts;
 *   - with every "#key = value" line uncommented it still parses, and sets
 *     every key config.c knows (each CONFIG_SET_* bit), so the sample
 *     documents them all and its examples are valid values. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* "#key = ..." at the start of a line (a commented-out setting, not prose:
 * prose has a space after '#') loses its '#'. */
static void uncomment(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        bool bol = r == s || r[-1] == '\n';
        if (bol && r[0] == '#' && r[1] >= 'a' && r[1] <= 'z' && strstr(r, " =") &&
            strstr(r, " =") < strchr(r, '\n')) {
            r++;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_config_sample SAMPLE\n");
        return 2;
    }
    char *text = slurp(argv[1]);
    if (!text) {
        fprintf(stderr, "FAIL: cannot read %s\n", argv[1]);
        return 1;
    }
    int fail = 0;
    char msg[512];
    config c, def;
    config_init(&c);
    config_init(&def);
    if (!config_parse_string(&c, text, "sample", msg, sizeof msg)) {
        fprintf(stderr, "FAIL: the sample as shipped: %s\n", msg);
        fail = 1;
    } else if (c.set != 0 || strcmp(c.socket, def.socket) || strcmp(c.db, def.db)) {
        fprintf(stderr, "FAIL: the sample as shipped changes settings (set=%#x)\n", c.set);
        fail = 1;
    }
    config_free(&c);

    uncomment(text);
    config_init(&c);
    unsigned all = (CONFIG_SET_HEALTH << 1) - 1; /* the last bit */
    if (!config_parse_string(&c, text, "sample-uncommented", msg, sizeof msg)) {
        fprintf(stderr, "FAIL: the sample with its settings uncommented: %s\n", msg);
        fail = 1;
    } else if (c.set != all) {
        fprintf(stderr, "FAIL: keys missing from the sample (CONFIG_SET_* bits %#x)\n",
                all & ~c.set);
        fail = 1;
    } else if (strcmp(c.socket, CONFIG_DEFAULT_SOCKET) || strcmp(c.db, CONFIG_DEFAULT_DB) ||
               c.socket_mode != def.socket_mode || c.max_upload_mb != def.max_upload_mb ||
               c.retention_days != 0 || c.socket_group || c.http_token || c.http_token_file ||
               c.http_hosts || c.http_max_connections != 256 || c.http_max_per_peer != 32 ||
               c.http_max_streams != 64 || c.http_request_timeout_s != 30 ||
               c.http_idle_timeout_s != 60) {
        fprintf(stderr, "FAIL: a commented-out value is not the default it claims to be\n");
        fail = 1;
    }
    config_free(&c);
    config_free(&def);
    free(text);
    if (!fail)
        printf("PASS: the sample parses as shipped and with every key set\n");
    return fail;
}
