/*
 * Quantiles from histogram buckets (dh_metrics_quantile): linear inside
 * the bucket that holds the rank, the last bound for the +Inf bucket, 0
 * for an empty histogram.
 */

#include "dh_config.h"
#include "dh_core.h"

#include <math.h>

#include "t/unit/dh_tap.h"


static int
near(double got, double want)
{
    return fabs(got - want) < 1e-9;
}


int
main(void)
{
    double        bounds[] = { 1, 2, 4 };
    uint64_t      v[6];
    dh_metric_t   m;

    memset(&m, 0, sizeof(dh_metric_t));
    m.type = DH_METRIC_HISTOGRAM;
    m.bounds = bounds;
    m.nbounds = 3;
    m.width = 6;              /* 3 buckets, +Inf, sum, count */

    memset(v, 0, sizeof(v));
    ok(near(dh_metrics_quantile(&m, v, 0.5), 0), "empty: 0");

    /* ten observations in (1, 2] */
    v[1] = 10;
    v[5] = 10;
    ok(near(dh_metrics_quantile(&m, v, 0.5), 1.5), "p50 inside (1, 2]");
    ok(near(dh_metrics_quantile(&m, v, 0.99), 1.99), "p99 inside (1, 2]");

    /* ten in [0, 1]: the first bucket starts at 0 */
    memset(v, 0, sizeof(v));
    v[0] = 10;
    v[5] = 10;
    ok(near(dh_metrics_quantile(&m, v, 0.5), 0.5), "p50 in the first");

    /* half fast, half slow: p50 at the top of the fast bucket, p95 and
     * p99 in the slow one, in order */
    memset(v, 0, sizeof(v));
    v[0] = 50;
    v[2] = 50;
    v[5] = 100;
    ok(near(dh_metrics_quantile(&m, v, 0.5), 1), "p50 at a bound");
    ok(near(dh_metrics_quantile(&m, v, 0.95), 3.8), "p95 in (2, 4]");
    ok(dh_metrics_quantile(&m, v, 0.5) <= dh_metrics_quantile(&m, v, 0.95)
       && dh_metrics_quantile(&m, v, 0.95)
          <= dh_metrics_quantile(&m, v, 0.99), "p50 <= p95 <= p99");

    /* beyond the last bound: the last bound */
    memset(v, 0, sizeof(v));
    v[3] = 4;
    v[5] = 4;
    ok(near(dh_metrics_quantile(&m, v, 0.99), 4), "+Inf: the last bound");

    return done_testing();
}
