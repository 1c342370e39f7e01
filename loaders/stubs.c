/* The embedded loader stubs, by name: the table is generated from the
 * stubs/stub_*.c files the build finds (loaders/CMakeLists.txt). */
#include "stubs.h"

#include <string.h>

typedef struct stub_row {
    const char *family;
    const unsigned char *code;
    const size_t *len;
} stub_row;

#include "stub_table.inc"

bool fl_stub_find(const char *family, fl_stub *out)
{
    for (size_t i = 0; family && i < sizeof stub_rows / sizeof stub_rows[0]; i++)
        if (strcmp(stub_rows[i].family, family) == 0) {
            *out = (fl_stub){stub_rows[i].family, stub_rows[i].code, *stub_rows[i].len};
            return true;
        }
    return false;
}
