#include "stubs.h"

#include <string.h>

extern const unsigned char fl_stub_f1[], fl_stub_f4[], fl_stub_l0[], fl_stub_l4[];
extern const size_t fl_stub_f1_len, fl_stub_f4_len, fl_stub_l0_len, fl_stub_l4_len;

bool fl_stub_find(const char *family, fl_stub *out)
{
    const fl_stub stubs[] = {
        {"f1", fl_stub_f1, fl_stub_f1_len},
        {"f4", fl_stub_f4, fl_stub_f4_len},
        {"l0", fl_stub_l0, fl_stub_l0_len},
        {"l4", fl_stub_l4, fl_stub_l4_len},
    };
    for (size_t i = 0; i < sizeof stubs / sizeof stubs[0]; i++)
        if (family && strcmp(stubs[i].family, family) == 0) {
            *out = stubs[i];
            return true;
        }
    return false;
}
