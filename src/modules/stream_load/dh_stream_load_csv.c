/*
 * The CSV splitter of Stream Load.
 *
 * Two passes per row, each byte seen once by each: the finder locates the
 * row delimiter (outside enclose), then the splitter cuts the complete row
 * into fields.  Rows that lie whole inside the fed bytes are split where
 * they are; only a row cut by the end of a feed() is copied, into a buffer
 * of max_row_size, and the finder resumes where it stopped (its quote
 * state is kept) when more bytes come.
 *
 * Without enclose and escape both passes are memchr()/memmem(); with them
 * they walk bytes: a field that starts with the enclose byte (after spaces
 * when trim_space is on) runs to the next lone enclose byte, a doubled one
 * inside stands for itself; the escape byte makes the next byte literal.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "dh_stream_load_reader_int.h"


#define DH_SL_CSV_FIELDS  64
#define DH_SL_CSV_STEP    4096


struct dh_sl_csv_s {
    dh_pool_t           *pool;
    dh_sl_row_pt         handler;
    void                *data;

    u_char              *sep;
    size_t               slen;
    u_char              *delim;
    size_t               dlen;
    size_t               maxlen;      /* max(slen, dlen) */
    u_char               enclose;
    u_char               escape;
    dh_uint_t            skip;        /* header rows still to drop */
    size_t               max;         /* max_row_size */

    /* the pending part of a row cut by the end of a feed */
    u_char              *buf;
    size_t               len;
    size_t               cap;
    size_t               scanned;     /* the finder resumes here */
    size_t               partial;     /* skipping: delimiter bytes seen */

    /* finder state at buf + scanned */
    unsigned             in_quote:1;
    unsigned             field_start:1;
    unsigned             esc:1;

    unsigned             slow:1;      /* enclose or escape set */
    unsigned             trim:1;
    unsigned             skipping:1;  /* a too long row, up to its end */

    dh_str_t            *fields;
    u_char              *nulls;
    dh_uint_t            nalloc;
    u_char              *out;         /* unescaped fields (slow split) */
    size_t               out_size;
};


static u_char *dh_sl_csv_find(dh_sl_csv_t *csv, u_char *p, u_char *end,
    u_char **resume, dh_uint_t final);
static u_char *dh_sl_csv_find_slow(dh_sl_csv_t *csv, u_char *p,
    u_char *end, u_char **resume, dh_uint_t final);
static dh_int_t dh_sl_csv_skip(dh_sl_csv_t *csv, u_char **pp, u_char *end);
static dh_int_t dh_sl_csv_row(dh_sl_csv_t *csv, u_char *p, u_char *end);
static dh_int_t dh_sl_csv_too_long(dh_sl_csv_t *csv, u_char *p, size_t len);
static dh_int_t dh_sl_csv_split_fast(dh_sl_csv_t *csv, u_char *p,
    u_char *end, dh_uint_t *n);
static dh_int_t dh_sl_csv_split_slow(dh_sl_csv_t *csv, u_char *p,
    u_char *end, dh_uint_t *n, const char **error);
static dh_int_t dh_sl_csv_field(dh_sl_csv_t *csv, dh_uint_t i, u_char *p,
    u_char *end, dh_uint_t null);
static dh_uint_t dh_sl_csv_is_null(dh_sl_csv_t *csv, u_char *p,
    u_char *end);
static u_char *dh_sl_csv_rtrim(dh_sl_csv_t *csv, u_char *start,
    u_char *kept, u_char *end);
static void dh_sl_csv_rest(dh_sl_csv_t *csv, u_char *from, u_char *last,
    size_t n, u_char **pp);
static void dh_sl_csv_reset(dh_sl_csv_t *csv);


dh_sl_csv_t *
dh_sl_csv_create(dh_pool_t *pool, dh_sl_reader_conf_t *conf,
    dh_sl_row_pt row, void *data)
{
    dh_sl_csv_t  *csv;

    csv = dh_pcalloc(pool, sizeof(dh_sl_csv_t));
    if (csv == NULL) {
        return NULL;
    }

    csv->pool = pool;
    csv->handler = row;
    csv->data = data;

    if (conf->column_separator.len) {
        csv->sep = conf->column_separator.data;
        csv->slen = conf->column_separator.len;

    } else {
        csv->sep = (u_char *) "\t";
        csv->slen = 1;
    }

    if (conf->row_delimiter.len) {
        csv->delim = conf->row_delimiter.data;
        csv->dlen = conf->row_delimiter.len;

    } else {
        csv->delim = (u_char *) "\n";
        csv->dlen = 1;
    }

    csv->maxlen = dh_max(csv->slen, csv->dlen);
    csv->enclose = conf->enclose;
    /* one byte cannot both open a field and escape: enclose wins */
    csv->escape = (conf->escape != conf->enclose) ? conf->escape : 0;
    csv->slow = (csv->enclose || csv->escape);
    csv->trim = conf->trim_space;
    csv->skip = conf->skip_header;
    csv->max = conf->max_row_size ? conf->max_row_size : DH_SL_MAX_ROW_SIZE;

    /* a row, then room for a delimiter and the finder's look-ahead */
    csv->cap = csv->max + 2 * csv->maxlen + 2;
    csv->buf = dh_pnalloc(pool, csv->cap);
    if (csv->buf == NULL) {
        return NULL;
    }

    csv->nalloc = DH_SL_CSV_FIELDS;
    csv->fields = dh_palloc(pool, csv->nalloc * sizeof(dh_str_t));
    csv->nulls = dh_pnalloc(pool, csv->nalloc);
    if (csv->fields == NULL || csv->nulls == NULL) {
        return NULL;
    }

    dh_sl_csv_reset(csv);

    return csv;
}


static void
dh_sl_csv_reset(dh_sl_csv_t *csv)
{
    csv->len = 0;
    csv->scanned = 0;
    csv->in_quote = 0;
    csv->esc = 0;
    csv->field_start = 1;
}


dh_int_t
dh_sl_csv_feed(dh_sl_csv_t *csv, u_char *p, size_t len, const char **err)
{
    size_t     n, old;
    u_char    *end, *wend, *d, *resume, *last;
    dh_int_t   rc;

    end = p + len;

    while (p < end) {

        if (csv->skipping) {
            rc = dh_sl_csv_skip(csv, &p, end);
            if (rc != DH_OK) {
                return rc;
            }

            continue;
        }

        if (csv->len == 0) {
            /*
             * Rows that lie whole in the input are split in place.  The
             * finder sees at most what the buffer would hold, so a too
             * long row is cut at the same place however the bytes came.
             */
            wend = ((size_t) (end - p) > csv->cap) ? p + csv->cap : end;
            d = dh_sl_csv_find(csv, p, wend, &resume, 0);

            if (d != NULL) {
                rc = dh_sl_csv_row(csv, p, d);
                if (rc != DH_OK) {
                    return rc;
                }

                p = d + csv->dlen;
                dh_sl_csv_reset(csv);
                continue;
            }

            if ((size_t) (wend - p) == csv->cap) {
                rc = dh_sl_csv_too_long(csv, p, wend - p);
                if (rc != DH_OK) {
                    return rc;
                }

                p = resume;
                continue;
            }

            dh_memcpy(csv->buf, p, end - p);
            csv->len = end - p;
            csv->scanned = resume - p;

            return DH_OK;
        }

        /*
         * A row is pending: add input and let the finder resume.  A few
         * KiB at a time: most rows end soon, and what follows their end
         * is better split where it is than copied.
         */
        old = csv->len;
        n = dh_min((size_t) (end - p), csv->cap - old);
        n = dh_min(n, DH_SL_CSV_STEP);
        dh_memcpy(csv->buf + old, p, n);
        csv->len += n;
        p += n;

        last = csv->buf + csv->len;
        d = dh_sl_csv_find(csv, csv->buf + csv->scanned, last, &resume, 0);

        if (d == NULL) {
            csv->scanned = resume - csv->buf;

            if (csv->len < csv->cap) {
                continue;
            }

            rc = dh_sl_csv_too_long(csv, csv->buf, csv->len);
            if (rc != DH_OK) {
                return rc;
            }

            /* skipping starts in the buffer's unscanned bytes, some of
             * which may have come with an earlier feed */
            d = resume;
            (void) dh_sl_csv_skip(csv, &d, csv->buf + csv->cap);

            if (csv->skipping) {
                continue;
            }

        } else {
            rc = dh_sl_csv_row(csv, csv->buf, d);
            if (rc != DH_OK) {
                return rc;
            }

            d += csv->dlen;
        }

        dh_sl_csv_rest(csv, d, last, n, &p);
    }

    return DH_OK;
}


/*
 * A row (or a skipped one) ended in the buffer before `from`; the bytes
 * from there to last begin what follows.  The last n of the buffer came
 * from the current input: those go back to it (*pp moves back), older
 * ones stay in the buffer as the start of the next row.
 */
static void
dh_sl_csv_rest(dh_sl_csv_t *csv, u_char *from, u_char *last, size_t n,
    u_char **pp)
{
    size_t  left;

    left = last - from;

    if (left <= n) {
        *pp -= left;
        dh_sl_csv_reset(csv);
        return;
    }

    *pp -= n;
    dh_memmove(csv->buf, from, left - n);
    dh_sl_csv_reset(csv);
    csv->len = left - n;
}


dh_int_t
dh_sl_csv_finish(dh_sl_csv_t *csv, const char **err)
{
    u_char    *d, *resume, *p, *end;
    dh_int_t   rc;

    if (csv->skipping) {
        return DH_OK;
    }

    p = csv->buf;
    end = csv->buf + csv->len;

    /* the buffer may still hold whole rows the look-ahead held back */
    for ( ;; ) {
        d = dh_sl_csv_find(csv, p + csv->scanned, end, &resume, 1);
        if (d == NULL) {
            break;
        }

        rc = dh_sl_csv_row(csv, p, d);
        if (rc != DH_OK) {
            return rc;
        }

        p = d + csv->dlen;
        dh_sl_csv_reset(csv);
    }

    /* the last row has no delimiter; an empty last line is no row */
    rc = dh_sl_csv_row(csv, p, end);

    dh_sl_csv_reset(csv);

    return rc;
}


/*
 * Returns the row delimiter's position, or NULL with *resume where the
 * next search must start (bytes from there on may begin a delimiter).
 */
static u_char *
dh_sl_csv_find(dh_sl_csv_t *csv, u_char *p, u_char *end, u_char **resume,
    dh_uint_t final)
{
    u_char  *d;

    if (csv->slow) {
        return dh_sl_csv_find_slow(csv, p, end, resume, final);
    }

    if (csv->dlen == 1) {
        d = memchr(p, csv->delim[0], end - p);

    } else {
        d = memmem(p, end - p, csv->delim, csv->dlen);
    }

    if (d == NULL) {
        *resume = ((size_t) (end - p) >= csv->dlen) ? end - csv->dlen + 1 : p;
    }

    return d;
}


static dh_uint_t
dh_sl_csv_at(u_char *p, u_char *end, u_char *what, size_t len)
{
    return (size_t) (end - p) >= len && p[0] == what[0]
           && dh_memcmp(p, what, len) == 0;
}


/* The byte walk with enclose and escape; its state lives in csv. */
static u_char *
dh_sl_csv_find_slow(dh_sl_csv_t *csv, u_char *p, u_char *end,
    u_char **resume, dh_uint_t final)
{
    u_char  c, *limit;

    /* without more input a separator, a delimiter or a doubled enclose
     * could be cut: stop short of the end unless this is all there is */
    limit = end;

    if (!final) {
        limit = ((size_t) (end - p) > csv->maxlen) ? end - csv->maxlen : p;
    }

    for ( /* void */ ; p < limit; p++) {
        c = *p;

        if (csv->esc) {
            csv->esc = 0;
            continue;
        }

        if (c == csv->escape && csv->escape) {
            csv->esc = 1;
            csv->field_start = 0;
            continue;
        }

        if (csv->in_quote) {
            if (c == csv->enclose) {
                if (p + 1 < end && p[1] == csv->enclose) {
                    p++;
                    continue;
                }

                csv->in_quote = 0;
            }

            continue;
        }

        if (csv->field_start) {
            if (c == ' ' && csv->trim) {
                continue;
            }

            if (c == csv->enclose) {
                csv->in_quote = 1;
                csv->field_start = 0;
                continue;
            }
        }

        if (dh_sl_csv_at(p, end, csv->delim, csv->dlen)) {
            return p;
        }

        if (dh_sl_csv_at(p, end, csv->sep, csv->slen)) {
            csv->field_start = 1;
            p += csv->slen - 1;
            continue;
        }

        csv->field_start = 0;
    }

    *resume = p;

    return NULL;
}


/*
 * A row over max_row_size: reported, then dropped up to the next
 * delimiter, searched for without regard to enclose (its quote state
 * cannot be trusted any more).
 */
static dh_int_t
dh_sl_csv_too_long(dh_sl_csv_t *csv, u_char *p, size_t len)
{
    dh_sl_row_t  row;

    csv->skipping = 1;
    csv->partial = 0;
    dh_sl_csv_reset(csv);

    if (csv->skip) {
        csv->skip--;
        return DH_OK;
    }

    dh_memzero(&row, sizeof(dh_sl_row_t));
    row.raw.data = p;
    row.raw.len = dh_min(len, DH_SL_RAW_MAX);
    row.error = "the row is longer than max_row_size";

    return csv->handler(csv->data, &row);
}


static dh_int_t
dh_sl_csv_skip(dh_sl_csv_t *csv, u_char **pp, u_char *end)
{
    u_char  *p, *d;
    size_t   k, need;

    p = *pp;

    /* a delimiter cut by the previous feed */
    if (csv->partial) {
        need = csv->dlen - csv->partial;

        if ((size_t) (end - p) >= need
            && dh_memcmp(p, csv->delim + csv->partial, need) == 0)
        {
            *pp = p + need;
            csv->skipping = 0;
            csv->partial = 0;
            return DH_OK;
        }

        csv->partial = 0;
    }

    d = (csv->dlen == 1) ? memchr(p, csv->delim[0], end - p)
                         : memmem(p, end - p, csv->delim, csv->dlen);

    if (d != NULL) {
        *pp = d + csv->dlen;
        csv->skipping = 0;
        return DH_OK;
    }

    /* the longest delimiter prefix the input ends with */
    for (k = dh_min(csv->dlen - 1, (size_t) (end - p)); k > 0; k--) {
        if (dh_memcmp(end - k, csv->delim, k) == 0) {
            csv->partial = k;
            break;
        }
    }

    *pp = end;

    return DH_OK;
}


/* One complete row [p, end) without its delimiter. */
static dh_int_t
dh_sl_csv_row(dh_sl_csv_t *csv, u_char *p, u_char *end)
{
    dh_int_t      rc;
    dh_uint_t     n;
    dh_sl_row_t   row;
    const char   *error;

    if (p == end) {
        return DH_OK;
    }

    if (csv->skip) {
        csv->skip--;
        return DH_OK;
    }

    dh_memzero(&row, sizeof(dh_sl_row_t));
    row.raw.data = p;
    row.raw.len = dh_min((size_t) (end - p), DH_SL_RAW_MAX);

    if ((size_t) (end - p) > csv->max) {
        row.error = "the row is longer than max_row_size";
        return csv->handler(csv->data, &row);
    }

    error = NULL;
    n = 0;

    rc = csv->slow ? dh_sl_csv_split_slow(csv, p, end, &n, &error)
                   : dh_sl_csv_split_fast(csv, p, end, &n);

    if (rc != DH_OK) {
        return rc;
    }

    if (error == NULL) {
        row.fields = csv->fields;
        row.nulls = csv->nulls;
        row.nfields = n;

    } else {
        row.error = error;
    }

    return csv->handler(csv->data, &row);
}


/* Stores field i (trimmed when asked); "\N" outside enclose is NULL. */
static dh_int_t
dh_sl_csv_field(dh_sl_csv_t *csv, dh_uint_t i, u_char *p, u_char *end,
    dh_uint_t null)
{
    dh_uint_t   n;
    dh_str_t   *fields;
    u_char     *nulls;

    if (i == csv->nalloc) {
        n = csv->nalloc * 2;

        fields = dh_palloc(csv->pool, n * sizeof(dh_str_t));
        nulls = dh_pnalloc(csv->pool, n);
        if (fields == NULL || nulls == NULL) {
            return DH_ERROR;
        }

        dh_memcpy(fields, csv->fields, i * sizeof(dh_str_t));
        dh_memcpy(nulls, csv->nulls, i);
        (void) dh_pfree(csv->pool, csv->fields);
        (void) dh_pfree(csv->pool, csv->nulls);
        csv->fields = fields;
        csv->nulls = nulls;
        csv->nalloc = n;
    }

    csv->fields[i].data = p;
    csv->fields[i].len = end - p;
    csv->nulls[i] = (u_char) null;

    return DH_OK;
}


static dh_int_t
dh_sl_csv_split_fast(dh_sl_csv_t *csv, u_char *p, u_char *end, dh_uint_t *n)
{
    u_char     *q, *s, *e;
    dh_uint_t   i;

    for (i = 0; /* void */ ; i++) {
        if (csv->slen == 1) {
            q = memchr(p, csv->sep[0], end - p);

        } else {
            q = memmem(p, end - p, csv->sep, csv->slen);
        }

        s = p;
        e = q ? q : end;

        if (csv->trim) {
            while (s < e && *s == ' ') {
                s++;
            }

            while (e > s && e[-1] == ' ') {
                e--;
            }
        }

        if (dh_sl_csv_field(csv, i, s, e,
                            e - s == 2 && s[0] == '\\' && s[1] == 'N')
            != DH_OK)
        {
            return DH_ERROR;
        }

        if (q == NULL) {
            break;
        }

        p = q + csv->slen;
    }

    *n = i + 1;

    return DH_OK;
}


/* The raw text of an unenclosed field is exactly \N (after trimming). */
static dh_uint_t
dh_sl_csv_is_null(dh_sl_csv_t *csv, u_char *p, u_char *end)
{
    if (csv->trim) {
        while (p < end && *p == ' ') {
            p++;
        }

        while (end > p && end[-1] == ' ') {
            end--;
        }
    }

    return end - p == 2 && p[0] == '\\' && p[1] == 'N';
}


/* Trailing spaces go with trim_space, but not enclosed or escaped ones
 * (those end before kept). */
static u_char *
dh_sl_csv_rtrim(dh_sl_csv_t *csv, u_char *start, u_char *kept, u_char *end)
{
    if (!csv->trim) {
        return end;
    }

    if (kept < start) {
        kept = start;
    }

    while (end > kept && end[-1] == ' ') {
        end--;
    }

    return end;
}


/*
 * Fields are unescaped into csv->out, which is as long as the longest
 * row: a field never grows.
 */
static dh_int_t
dh_sl_csv_split_slow(dh_sl_csv_t *csv, u_char *p, u_char *end, dh_uint_t *n,
    const char **error)
{
    u_char     *o, *fstart, *kept, *raw;
    dh_uint_t   i, start, quote, enclosed, null;

    if (csv->out_size < (size_t) (end - p)) {
        csv->out = dh_pnalloc(csv->pool, csv->max);
        if (csv->out == NULL) {
            return DH_ERROR;
        }

        csv->out_size = csv->max;
    }

    o = csv->out;
    fstart = o;
    kept = o;             /* trailing spaces before this are data */
    raw = p;
    i = 0;
    start = 1;
    quote = 0;
    enclosed = 0;

    while (p < end) {

        if (csv->escape && *p == csv->escape) {
            if (p + 1 < end) {
                *o++ = p[1];
            }

            p += 2;
            start = 0;
            kept = o;
            continue;
        }

        if (quote) {
            if (*p == csv->enclose) {
                if (p + 1 < end && p[1] == csv->enclose) {
                    *o++ = *p;
                    p += 2;
                    continue;
                }

                quote = 0;
                kept = o;
                p++;
                continue;
            }

            *o++ = *p++;
            continue;
        }

        if (start && csv->trim && *p == ' ') {
            p++;
            continue;
        }

        if (start && *p == csv->enclose) {
            quote = 1;
            enclosed = 1;
            start = 0;
            p++;
            continue;
        }

        if (dh_sl_csv_at(p, end, csv->sep, csv->slen)) {
            null = !enclosed && dh_sl_csv_is_null(csv, raw, p);

            if (dh_sl_csv_field(csv, i++, fstart,
                                dh_sl_csv_rtrim(csv, fstart, kept, o), null)
                != DH_OK)
            {
                return DH_ERROR;
            }

            p += csv->slen;
            raw = p;
            fstart = o;
            kept = o;
            start = 1;
            enclosed = 0;
            continue;
        }

        *o++ = *p++;
        start = 0;
    }

    if (quote) {
        *error = "unterminated enclose";
        return DH_OK;
    }

    null = !enclosed && dh_sl_csv_is_null(csv, raw, end);

    if (dh_sl_csv_field(csv, i++, fstart,
                        dh_sl_csv_rtrim(csv, fstart, kept, o), null)
        != DH_OK)
    {
        return DH_ERROR;
    }

    *n = i;

    return DH_OK;
}
