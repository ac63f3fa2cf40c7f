/*
 * Regular expressions: compile errors with offsets, matching, captures
 * (including unset groups), named captures, caseless matching and the
 * match data growing for a regex with more groups.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"


void
dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...)
{
}


#if (DH_HAVE_PCRE2)

static dh_regex_t *
compile(dh_pool_t *pool, char *pattern, dh_uint_t options,
    dh_regex_compile_t *rc)
{
    dh_memzero(rc, sizeof(dh_regex_compile_t));

    rc->pattern.data = (u_char *) pattern;
    rc->pattern.len = strlen(pattern);
    rc->pool = pool;
    rc->options = options;

    return dh_regex_compile(rc) == DH_OK ? rc->regex : NULL;
}


static dh_int_t
match(dh_regex_t *re, char *s, int *cap, dh_uint_t size)
{
    dh_str_t  str;

    str.data = (u_char *) s;
    str.len = strlen(s);

    return dh_regex_exec(re, &str, cap, size, NULL);
}


int
main(void)
{
    int                  cap[20];
    dh_pool_t           *pool;
    dh_regex_t          *re;
    dh_regex_compile_t   rc;

    pool = dh_create_pool(1024, NULL);

    re = compile(pool, "^/(unclosed", 0, &rc);
    ok(re == NULL, "bad regex fails");
    ok(rc.err.len && dh_strnstr(rc.err.data, "at offset 11",
                                rc.err.len) != NULL,
       "error names the offset: %.*s", (int) rc.err.len, rc.err.data);
    ok(dh_strnstr(rc.err.data, "\"^/(unclosed\"", rc.err.len) != NULL,
       "error names the pattern");

    re = compile(pool, "\\.php$", 0, &rc);
    ok(re != NULL, "compiles");
    is_int(re->captures, 0, "no groups");
    is_int(match(re, "/a.php", cap, 20), 1, "matches: one pair");
    is_int(cap[0], 2, "$0 start");
    is_int(cap[1], 6, "$0 end");
    is_int(match(re, "/a.PHP", cap, 20), DH_DECLINED, "case-sensitive");

    re = compile(pool, "\\.php$", DH_REGEX_CASELESS, &rc);
    is_int(match(re, "/a.PhP", cap, 20), 1, "caseless");

    re = compile(pool, "^/(a)(x)?(b)$", 0, &rc);
    is_int(re->captures, 3, "three groups");
    is_int(match(re, "/ab", cap, 20), 4, "four pairs");
    is_int(cap[2], 1, "$1 start");
    is_int(cap[4], -1, "unset group is -1");
    is_int(cap[6], 2, "$3 start");

    re = compile(pool, "^/(?<user>[a-z]+)/(?<id>\\d+)$", 0, &rc);
    is_int(re->nnames, 2, "two names");
    ok(re->nnames == 2 && dh_strcmp(re->names[0].name.data, "id") == 0
       && re->names[0].capture == 2, "name table: id is group 2");
    ok(re->nnames == 2 && dh_strcmp(re->names[1].name.data, "user") == 0
       && re->names[1].capture == 1, "name table: user is group 1");
    is_int(match(re, "/bob/42", cap, 20), 3, "named match");

    /* more groups than any regex before: the match data grows */
    re = compile(pool, "(a)(b)(c)(d)(e)(f)(g)(h)(i)", 0, &rc);
    is_int(match(re, "abcdefghi", cap, 20), 10, "ten pairs");
    is_int(cap[18], 8, "$9 start");

    /* a smaller captures array is filled only as far as it goes */
    cap[4] = 77;
    is_int(match(re, "abcdefghi", cap, 4), 10, "small array");
    is_int(cap[4], 77, "not written past size");

    dh_destroy_pool(pool);

    return done_testing();
}

#else

int
main(void)
{
    ok(1, "built without PCRE2");

    return done_testing();
}

#endif
