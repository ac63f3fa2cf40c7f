/*
 * Regular expressions (PCRE2, JIT-compiled when the platform allows).
 *
 * Compiled at configuration time from a pool (freed with it); matched with
 * one match-data block per process, grown to the largest regex, so a match
 * allocates nothing.  Only when built with PCRE2 (DH_HAVE_PCRE2).
 */

#ifndef DH_REGEX_H
#define DH_REGEX_H

#include "dh_core.h"

#if (DH_HAVE_PCRE2)

#define PCRE2_CODE_UNIT_WIDTH  8
#include <pcre2.h>

#define DH_REGEX_CASELESS      0x01

#define DH_REGEX_MAX_CAPTURES  32

typedef struct {
    dh_str_t        name;
    dh_uint_t       capture;       /* its number, 1.. */
} dh_regex_name_t;

typedef struct {
    pcre2_code     *code;
    dh_uint_t       captures;      /* capture groups, not counting $0 */
    dh_regex_name_t *names;
    dh_uint_t       nnames;
} dh_regex_t;

typedef struct {
    dh_str_t        pattern;
    dh_pool_t      *pool;
    dh_uint_t       options;       /* DH_REGEX_CASELESS */

    dh_regex_t     *regex;         /* out */
    u_char          err_buf[256];
    dh_str_t        err;           /* out: "... at offset N in \"...\"" */
} dh_regex_compile_t;

/* DH_OK, or DH_ERROR with rc->err set (the caller logs it with file:line). */
dh_int_t dh_regex_compile(dh_regex_compile_t *rc);

/* Matches s.  captures (may be NULL when size is 0) gets start/end offset
 * pairs for $0..$n: size is the number of ints, a multiple of 2.  Returns
 * the number of pairs set (>= 1), DH_DECLINED when it does not match, or
 * DH_ERROR (logged to log). */
dh_int_t dh_regex_exec(dh_regex_t *re, dh_str_t *s, int *captures,
    dh_uint_t size, dh_log_t *log);

#endif

#endif /* DH_REGEX_H */
