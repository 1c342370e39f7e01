/*
 * flashline chips: what the chip table holds, one row per device id, so
 * that a person can see which ordering codes --chip takes and which lines
 * --family takes without reading the source. Everything comes from the
 * table (loaders/chips.c).
 */
#include "chips.h"
#include "cli.h"
#include "output.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static json_t *row_json(const fl_chip *c)
{
    json_t *parts = json_array();
    for (const char *p = c->parts; *p;) {
        size_t n = strcspn(p, ";");
        json_array_append_new(parts, json_stringn(p, n));
        p += n + (p[n] == ';');
    }
    char id[8];
    snprintf(id, sizeof id, "0x%03X", c->dev_id);
    return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I}", "family", fl_chip_line_short(c),
                     "dev_id", id, "name", c->name, "parts", parts, "flash_max_kib",
                     (json_int_t)(c->flash_size_max / 1024), "sram_kib",
                     (json_int_t)(c->sram_size / 1024), "banks", (json_int_t)c->banks);
}

int cmd_chips(const cli_opts *global, int argc, char **argv)
{
    cli_opts o = *global;
    const char *pos[1];
    int npos;
    int code = cli_parse("chips", argc, argv, NULL, NULL, &o, pos, 0, &npos);
    if (code != CLI_OK)
        return code;
    bool json = o.json;
    if (json) {
        json_t *all = json_array();
        for (size_t i = 0; fl_chip_at(i); i++) {
            json_array_append_new(all, row_json(fl_chip_at(i)));
        }
        out_json(all);
        json_decref(all);
        return 0;
    }
    printf("%-7s %-6s %-36s %9s %8s  %s\n", "FAMILY", "DEV", "NAME", "FLASH", "SRAM", "PARTS");
    for (size_t i = 0; fl_chip_at(i); i++) {
        const fl_chip *c = fl_chip_at(i);
        printf("%-7s 0x%03X  %-36s %6u KiB %4u KiB  ", fl_chip_line_short(c), c->dev_id, c->name,
               c->flash_size_max / 1024, c->sram_size / 1024);
        for (const char *p = c->parts; *p; p++)
            fputs(*p == ';' ? ", " : (char[2]){*p, 0}, stdout);
        putchar('\n');
    }
    return 0;
}
