/* The fake station of test_api_pure has no metrics: api.c's GET /metrics
 * calls this, which renders an empty exposition (one line), so the router
 * tests link without knowing of issue 7. */
#include "station.h"

#include <stdlib.h>
#include <string.h>

char *station_metrics_text(station *s)
{
    (void)s;
    return strdup("# no metrics in the fake station\n");
}
