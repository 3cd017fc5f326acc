// Wall-clock timing for measurements the CLI reports (bench, tokenize --bench, generate timing).
#ifndef DYSCO_TIMING_H
#define DYSCO_TIMING_H

// Seconds on the monotonic clock.
double dy_now(void);
// The median of v[0..n), n >= 1; sorts v in place.
double dy_median(double *v, int n);

#endif
