/* libFuzzer harness for the Intel HEX reader (invariants: fuzz_check.h). */
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_check(data, size, IMAGE_FMT_IHEX);
}
