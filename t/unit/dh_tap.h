/*
 * A tiny TAP producer for the C unit tests, so prove runs them beside the
 * Perl tests.  Each test binary prints "1..N" at the end (done_testing
 * style) and exits non-zero if any check failed.
 */

#ifndef DH_TAP_H
#define DH_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int  dh_tap_n;
static int  dh_tap_failed;

#define ok(cond, ...)                                                         \
    dh_tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                \
    dh_tap_is_int((long long) (got), (long long) (want), __FILE__, __LINE__,  \
                  __VA_ARGS__)

#define is_str(got, want, ...)                                                \
    dh_tap_is_str((const char *) (got), (const char *) (want), __FILE__,      \
                  __LINE__, __VA_ARGS__)

static __attribute__((unused)) void
dh_tap_vok(int pass, const char *file, int line, const char *fmt, va_list ap)
{
    dh_tap_n++;
    printf("%sok %d - ", pass ? "" : "not ", dh_tap_n);
    vprintf(fmt, ap);
    printf("\n");

    if (!pass) {
        dh_tap_failed++;
        printf("#   Failed test at %s line %d.\n", file, line);
    }

    fflush(stdout);
}

static __attribute__((format(printf, 4, 5), unused)) int
dh_tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    dh_tap_vok(pass, file, line, fmt, ap);
    va_end(ap);

    return pass;
}

static __attribute__((format(printf, 5, 6), unused)) int
dh_tap_is_int(long long got, long long want, const char *file, int line,
    const char *fmt, ...)
{
    va_list  ap;
    int      pass = (got == want);

    va_start(ap, fmt);
    dh_tap_vok(pass, file, line, fmt, ap);
    va_end(ap);

    if (!pass) {
        printf("#          got: %lld\n#     expected: %lld\n", got, want);
    }

    return pass;
}

static __attribute__((format(printf, 5, 6), unused)) int
dh_tap_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...)
{
    va_list  ap;
    int      pass;

    pass = (got != NULL && want != NULL && strcmp(got, want) == 0)
           || (got == NULL && want == NULL);

    va_start(ap, fmt);
    dh_tap_vok(pass, file, line, fmt, ap);
    va_end(ap);

    if (!pass) {
        printf("#          got: '%s'\n#     expected: '%s'\n",
               got ? got : "(null)", want ? want : "(null)");
    }

    return pass;
}

/* Call last: prints the plan and returns the exit status for main(). */
static __attribute__((unused)) int
done_testing(void)
{
    printf("1..%d\n", dh_tap_n);
    return dh_tap_failed ? 1 : 0;
}

#endif /* DH_TAP_H */
