#include "dh_config.h"
#include "dh_core.h"


void
dh_strlow(u_char *dst, u_char *src, size_t n)
{
    while (n) {
        *dst = dh_tolower(*src);
        dst++;
        src++;
        n--;
    }
}


u_char *
dh_cpystrn(u_char *dst, u_char *src, size_t n)
{
    if (n == 0) {
        return dst;
    }

    while (--n) {
        *dst = *src;

        if (*dst == '\0') {
            return dst;
        }

        dst++;
        src++;
    }

    *dst = '\0';

    return dst;
}


u_char *
dh_pstrdup(dh_pool_t *pool, dh_str_t *src)
{
    u_char  *dst;

    dst = dh_pnalloc(pool, src->len + 1);
    if (dst == NULL) {
        return NULL;
    }

    if (src->len) {
        dh_memcpy(dst, src->data, src->len);
    }

    dst[src->len] = '\0';

    return dst;
}


char *
dh_pstrdup_cstr(dh_pool_t *pool, dh_str_t *src)
{
    return (char *) dh_pstrdup(pool, src);
}


dh_int_t
dh_strcasecmp(u_char *s1, u_char *s2)
{
    dh_uint_t  c1, c2;

    for ( ;; ) {
        c1 = dh_tolower(*s1);
        c2 = dh_tolower(*s2);
        s1++;
        s2++;

        if (c1 != c2) {
            return c1 < c2 ? -1 : 1;
        }

        if (c1 == 0) {
            return 0;
        }
    }
}


dh_int_t
dh_strncasecmp(u_char *s1, u_char *s2, size_t n)
{
    dh_uint_t  c1, c2;

    while (n) {
        c1 = dh_tolower(*s1);
        c2 = dh_tolower(*s2);
        s1++;
        s2++;

        if (c1 != c2) {
            return c1 < c2 ? -1 : 1;
        }

        if (c1 == 0) {
            return 0;
        }

        n--;
    }

    return 0;
}


u_char *
dh_strnstr(u_char *s1, char *s2, size_t n)
{
    return memmem(s1, n, s2, dh_strlen(s2));
}


u_char *
dh_strlcasestrn(u_char *s1, u_char *last, u_char *s2, size_t n)
{
    u_char  c1, c2;

    if (n == 0) {
        return s1;
    }

    if (last < s1 || (size_t) (last - s1) < n) {
        return NULL;
    }

    c2 = dh_tolower(*s2);
    last -= n - 1;

    for ( /* void */ ; s1 < last; s1++) {
        c1 = dh_tolower(*s1);

        if (c1 == c2 && dh_strncasecmp(s1 + 1, s2 + 1, n - 1) == 0) {
            return s1;
        }
    }

    return NULL;
}


dh_int_t
dh_str_eq(dh_str_t *a, dh_str_t *b)
{
    return a->len == b->len
           && (a->len == 0 || dh_memcmp(a->data, b->data, a->len) == 0);
}


dh_int_t
dh_str_caseeq(dh_str_t *a, const char *b)
{
    size_t  len;

    len = strlen(b);

    return a->len == len
           && dh_strncasecmp(a->data, (u_char *) b, len) == 0;
}


/*
 * The decimal parsers share one loop: stop before value * 10 + d can pass
 * max, so no intermediate value ever wraps.
 */
static int64_t
dh_parse_decimal(u_char *line, size_t n, int64_t max)
{
    int64_t  value, cutoff, cutlim, d;

    if (n == 0) {
        return DH_ERROR;
    }

    cutoff = max / 10;
    cutlim = max % 10;

    for (value = 0; n--; line++) {
        if (*line < '0' || *line > '9') {
            return DH_ERROR;
        }

        d = *line - '0';

        if (value > cutoff || (value == cutoff && d > cutlim)) {
            return DH_ERROR;
        }

        value = value * 10 + d;
    }

    return value;
}


dh_int_t
dh_atoi(u_char *line, size_t n)
{
    return (dh_int_t) dh_parse_decimal(line, n, DH_MAX_INT_T_VALUE);
}


ssize_t
dh_atosz(u_char *line, size_t n)
{
    return (ssize_t) dh_parse_decimal(line, n, SSIZE_MAX);
}


off_t
dh_atoof(u_char *line, size_t n)
{
    return (off_t) dh_parse_decimal(line, n, DH_MAX_OFF_T_VALUE);
}


static dh_int_t
dh_hex_digit(u_char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }

    ch |= 0x20;

    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }

    return -1;
}


dh_int_t
dh_hextoi(u_char *line, size_t n)
{
    dh_int_t  value, d;

    if (n == 0) {
        return DH_ERROR;
    }

    for (value = 0; n--; line++) {
        d = dh_hex_digit(*line);
        if (d < 0) {
            return DH_ERROR;
        }

        if (value > (DH_MAX_INT_T_VALUE - d) / 16) {
            return DH_ERROR;
        }

        value = value * 16 + d;
    }

    return value;
}


u_char *
dh_slprintf(u_char *buf, u_char *last, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = dh_vslprintf(buf, last, fmt, args);
    va_end(args);

    return p;
}


/*
 * vsnprintf() always keeps a byte for the NUL, but callers fill [buf, last)
 * exactly (log lines end with a newline written at last - 1).  When the
 * result does not fit, format it again with room for the terminator and
 * copy only what fits.
 */
u_char *
dh_vslprintf(u_char *buf, u_char *last, const char *fmt, va_list args)
{
    int       n;
    char     *tmp;
    size_t    size;
    va_list   copy;

    if (buf >= last) {
        return buf;
    }

    size = (size_t) (last - buf);

    va_copy(copy, args);
    n = vsnprintf((char *) buf, size, fmt, args);

    if (n < 0) {
        va_end(copy);
        return buf;
    }

    if ((size_t) n < size) {
        va_end(copy);
        return buf + n;
    }

    tmp = malloc((size_t) n + 1);
    if (tmp == NULL) {
        va_end(copy);
        return last - 1;
    }

    (void) vsnprintf(tmp, (size_t) n + 1, fmt, copy);
    va_end(copy);

    dh_memcpy(buf, tmp, size);
    free(tmp);

    return last;
}


dh_str_t *
dh_psprintf(dh_pool_t *pool, const char *fmt, ...)
{
    int        n;
    va_list    args;
    dh_str_t  *s;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);

    if (n < 0) {
        return NULL;
    }

    s = dh_palloc(pool, sizeof(dh_str_t));
    if (s == NULL) {
        return NULL;
    }

    s->data = dh_pnalloc(pool, (size_t) n + 1);
    if (s->data == NULL) {
        return NULL;
    }

    va_start(args, fmt);
    (void) vsnprintf((char *) s->data, (size_t) n + 1, fmt, args);
    va_end(args);

    s->len = (size_t) n;

    return s;
}


u_char *
dh_hex_dump(u_char *dst, u_char *src, size_t len)
{
    static const u_char  hex[] = "0123456789abcdef";

    while (len--) {
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src++ & 0xf];
    }

    return dst;
}


static const u_char  dh_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


void
dh_encode_base64(dh_str_t *dst, dh_str_t *src)
{
    u_char   *d, *s;
    size_t    len;

    len = src->len;
    s = src->data;
    d = dst->data;

    while (len > 2) {
        *d++ = dh_base64_alphabet[(s[0] >> 2) & 0x3f];
        *d++ = dh_base64_alphabet[((s[0] & 3) << 4) | (s[1] >> 4)];
        *d++ = dh_base64_alphabet[((s[1] & 0x0f) << 2) | (s[2] >> 6)];
        *d++ = dh_base64_alphabet[s[2] & 0x3f];

        s += 3;
        len -= 3;
    }

    if (len) {
        *d++ = dh_base64_alphabet[(s[0] >> 2) & 0x3f];

        if (len == 1) {
            *d++ = dh_base64_alphabet[(s[0] & 3) << 4];
            *d++ = '=';

        } else {
            *d++ = dh_base64_alphabet[((s[0] & 3) << 4) | (s[1] >> 4)];
            *d++ = dh_base64_alphabet[(s[1] & 0x0f) << 2];
        }

        *d++ = '=';
    }

    dst->len = (size_t) (d - dst->data);
}


static int
dh_base64_value(u_char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }

    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }

    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }

    if (ch == '+') {
        return 62;
    }

    if (ch == '/') {
        return 63;
    }

    return -1;
}


/*
 * Padding is optional, but when present it must complete the last group;
 * '=' anywhere else, any character outside the alphabet, or a dangling
 * single character is an error.
 */
dh_int_t
dh_decode_base64(dh_str_t *dst, dh_str_t *src)
{
    int       v[4];
    u_char   *s, *d;
    size_t    len, i, pad;

    len = src->len;
    s = src->data;
    pad = 0;

    while (len && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }

    if (pad && (len + pad) % 4 != 0) {
        return DH_ERROR;
    }

    if (len % 4 == 1) {
        return DH_ERROR;
    }

    d = dst->data;

    for (i = 0; i < len; i += 4) {
        v[0] = dh_base64_value(s[i]);
        v[1] = dh_base64_value(s[i + 1]);
        v[2] = (i + 2 < len) ? dh_base64_value(s[i + 2]) : 0;
        v[3] = (i + 3 < len) ? dh_base64_value(s[i + 3]) : 0;

        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) {
            return DH_ERROR;
        }

        *d++ = (u_char) (v[0] << 2 | v[1] >> 4);

        if (i + 2 < len) {
            *d++ = (u_char) (v[1] << 4 | v[2] >> 2);
        }

        if (i + 3 < len) {
            *d++ = (u_char) (v[2] << 6 | v[3]);
        }
    }

    dst->len = (size_t) (d - dst->data);

    return DH_OK;
}


dh_int_t
dh_unescape_uri(u_char **dst, u_char **src, size_t size)
{
    u_char    *d, *s, *end;
    dh_int_t   hi, lo;

    d = *dst;
    s = *src;
    end = s + size;

    while (s < end) {
        if (*s != '%') {
            *d++ = *s++;
            continue;
        }

        if (end - s < 3) {
            return DH_ERROR;
        }

        hi = dh_hex_digit(s[1]);
        lo = dh_hex_digit(s[2]);

        if (hi < 0 || lo < 0) {
            return DH_ERROR;
        }

        *d++ = (u_char) (hi << 4 | lo);
        s += 3;
    }

    *dst = d;
    *src = s;

    return DH_OK;
}


/* The escape for one byte, or NULL when it goes through as it is. */
static const char *
dh_json_escape_of(u_char ch, char *buf)
{
    static const char  hex[] = "0123456789abcdef";

    switch (ch) {
    case '"':  return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    }

    if (ch < 0x20 || ch == 0x7f) {
        buf[0] = '\\';
        buf[1] = 'u';
        buf[2] = '0';
        buf[3] = '0';
        buf[4] = hex[ch >> 4];
        buf[5] = hex[ch & 0xf];
        buf[6] = '\0';
        return buf;
    }

    return NULL;
}


size_t
dh_escape_json(u_char *dst, u_char *src, size_t size)
{
    char         buf[8];
    size_t       len, n;
    const char  *esc;

    len = 0;

    while (size--) {
        esc = dh_json_escape_of(*src, buf);

        if (esc == NULL) {
            if (dst) {
                *dst++ = *src;
            }
            len++;

        } else {
            n = strlen(esc);
            if (dst) {
                dst = dh_cpymem(dst, esc, n);
            }
            len += n;
        }

        src++;
    }

    return len;
}


size_t
dh_escape_html(u_char *dst, u_char *src, size_t size)
{
    size_t       len, n;
    const char  *esc;

    len = 0;

    while (size--) {
        switch (*src) {
        case '<':  esc = "&lt;";   break;
        case '>':  esc = "&gt;";   break;
        case '&':  esc = "&amp;";  break;
        case '"':  esc = "&quot;"; break;
        case '\'': esc = "&#39;";  break;
        default:   esc = NULL;     break;
        }

        if (esc == NULL) {
            if (dst) {
                *dst++ = *src;
            }
            len++;

        } else {
            n = strlen(esc);
            if (dst) {
                dst = dh_cpymem(dst, esc, n);
            }
            len += n;
        }

        src++;
    }

    return len;
}


dh_int_t
dh_memcmp_const_time(const u_char *a, const u_char *b, size_t n)
{
    size_t                  i;
    volatile unsigned char  diff;

    diff = 0;

    for (i = 0; i < n; i++) {
        diff |= a[i] ^ b[i];
    }

    return diff != 0;
}
