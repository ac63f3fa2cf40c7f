/*
 * PCRE2 regular expressions.
 */

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_PCRE2)

/* one per process: reused by every match, grown on demand */
static pcre2_match_data  *dh_regex_match_data;
static dh_uint_t          dh_regex_match_data_size;


static void
dh_regex_cleanup(void *data)
{
    dh_regex_t  *re = data;

    if (re->code) {
        pcre2_code_free(re->code);
        re->code = NULL;
    }
}


static dh_int_t
dh_regex_names(dh_regex_compile_t *rc, dh_regex_t *re)
{
    u_char      *table, *entry;
    uint32_t     count, size, i;
    dh_uint_t    len;

    if (pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count) != 0
        || count == 0)
    {
        return DH_OK;
    }

    if (pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &size) != 0
        || pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table) != 0)
    {
        return DH_ERROR;
    }

    re->names = dh_palloc(rc->pool, count * sizeof(dh_regex_name_t));
    if (re->names == NULL) {
        return DH_ERROR;
    }

    /* entries: 2-byte capture number (big-endian), NUL-terminated name */
    for (i = 0; i < count; i++) {
        entry = table + i * size;
        len = dh_strlen((char *) entry + 2);

        re->names[i].capture = (entry[0] << 8) | entry[1];
        re->names[i].name.len = len;
        re->names[i].name.data = dh_pnalloc(rc->pool, len + 1);
        if (re->names[i].name.data == NULL) {
            return DH_ERROR;
        }

        dh_memcpy(re->names[i].name.data, entry + 2, len + 1);
    }

    re->nnames = count;

    return DH_OK;
}


dh_int_t
dh_regex_compile(dh_regex_compile_t *rc)
{
    int                  errcode;
    u_char               msg[160];
    uint32_t             n, options;
    PCRE2_SIZE           erroff;
    dh_regex_t          *re;
    dh_pool_cleanup_t   *cln;

    re = dh_pcalloc(rc->pool, sizeof(dh_regex_t));
    if (re == NULL) {
        return DH_ERROR;
    }

    cln = dh_pool_cleanup_add(rc->pool, 0);
    if (cln == NULL) {
        return DH_ERROR;
    }

    options = (rc->options & DH_REGEX_CASELESS) ? PCRE2_CASELESS : 0;

    re->code = pcre2_compile((PCRE2_SPTR) rc->pattern.data, rc->pattern.len,
                             options, &errcode, &erroff, NULL);

    if (re->code == NULL) {
        pcre2_get_error_message(errcode, msg, sizeof(msg));

        rc->err.data = rc->err_buf;
        rc->err.len = dh_slprintf(rc->err_buf,
                                  rc->err_buf + sizeof(rc->err_buf),
                                  "pcre2_compile() failed: %s at offset "
                                  "%lu in \"%.*s\"", (char *) msg,
                                  (unsigned long) erroff,
                                  DH_STR_FMT(rc->pattern))
                      - rc->err_buf;
        return DH_ERROR;
    }

    cln->handler = dh_regex_cleanup;
    cln->data = re;

    /* JIT is an optimisation: a regex it cannot handle still matches */
    (void) pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);

    if (pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &n) != 0) {
        return DH_ERROR;
    }

    re->captures = n;

    if (dh_regex_names(rc, re) != DH_OK) {
        return DH_ERROR;
    }

    rc->regex = re;

    return DH_OK;
}


dh_int_t
dh_regex_exec(dh_regex_t *re, dh_str_t *s, int *captures, dh_uint_t size,
    dh_log_t *log)
{
    int          rc;
    dh_uint_t    i, pairs;
    PCRE2_SIZE  *ov;

    pairs = re->captures + 1;

    if (dh_regex_match_data == NULL || dh_regex_match_data_size < pairs) {
        if (dh_regex_match_data) {
            pcre2_match_data_free(dh_regex_match_data);
        }

        dh_regex_match_data = pcre2_match_data_create(pairs, NULL);
        if (dh_regex_match_data == NULL) {
            dh_regex_match_data_size = 0;
            dh_log_error(DH_LOG_ALERT, log, 0,
                         "pcre2_match_data_create() failed");
            return DH_ERROR;
        }

        dh_regex_match_data_size = pairs;
    }

    rc = pcre2_match(re->code, (PCRE2_SPTR) s->data, s->len, 0, 0,
                     dh_regex_match_data, NULL);

    if (rc == PCRE2_ERROR_NOMATCH) {
        return DH_DECLINED;
    }

    if (rc < 0) {
        dh_log_error(DH_LOG_ALERT, log, 0,
                     "pcre2_match() failed: %d on \"%.*s\"", rc,
                     DH_STR_FMT(*s));
        return DH_ERROR;
    }

    ov = pcre2_get_ovector_pointer(dh_regex_match_data);

    /* rc counts up to the highest group that matched; unset groups in
     * between are PCRE2_UNSET and become -1 */
    if (rc == 0 || (dh_uint_t) rc > pairs) {
        rc = (int) pairs;
    }

    for (i = 0; i < (dh_uint_t) rc && 2 * i + 1 < size; i++) {
        if (ov[2 * i] == PCRE2_UNSET) {
            captures[2 * i] = -1;
            captures[2 * i + 1] = -1;
        } else {
            captures[2 * i] = (int) ov[2 * i];
            captures[2 * i + 1] = (int) ov[2 * i + 1];
        }
    }

    return rc;
}

#endif /* DH_HAVE_PCRE2 */
