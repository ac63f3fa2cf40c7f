/*
 * Counted strings.  dh_str_t is length + pointer and is not NUL-terminated:
 * parsers point into the buffers they read instead of copying.
 */

#ifndef DH_STRING_H
#define DH_STRING_H

#include "dh_core.h"

typedef struct {
    size_t      len;
    u_char     *data;
} dh_str_t;

typedef struct {
    dh_str_t    key;
    dh_str_t    value;
} dh_keyval_t;

#define dh_string(str)     { sizeof(str) - 1, (u_char *) str }
#define dh_null_string     { 0, NULL }
#define dh_str_set(str, text)                                                 \
    (str)->len = sizeof(text) - 1; (str)->data = (u_char *) text
#define dh_str_null(str)   (str)->len = 0; (str)->data = NULL

/* printf helpers: printf("%.*s", DH_STR_FMT(s)) */
#define DH_STR_FMT(s)      (int) (s).len, (char *) (s).data

#define dh_tolower(c)      (u_char) ((c >= 'A' && c <= 'Z') ? (c | 0x20) : c)
#define dh_toupper(c)      (u_char) ((c >= 'a' && c <= 'z') ? (c & ~0x20) : c)

#define dh_strncmp(s1, s2, n)  strncmp((const char *) s1, (const char *) s2, n)
#define dh_strcmp(s1, s2)  strcmp((const char *) s1, (const char *) s2)
#define dh_strstr(s1, s2)  strstr((const char *) s1, (const char *) s2)
#define dh_strlen(s)       strlen((const char *) s)
#define dh_strchr(s1, c)   strchr((const char *) s1, (int) c)
#define dh_memzero(buf, n) (void) memset(buf, 0, n)
#define dh_memset(buf, c, n) (void) memset(buf, c, n)
#define dh_memcpy(dst, src, n)   (void) memcpy(dst, src, n)
#define dh_cpymem(dst, src, n)   (((u_char *) memcpy(dst, src, n)) + (n))
#define dh_memmove(dst, src, n)  (void) memmove(dst, src, n)
#define dh_memcmp(s1, s2, n)     memcmp((const char *) s1, (const char *) s2, n)

void dh_strlow(u_char *dst, u_char *src, size_t n);
/* Copies at most n - 1 bytes (stopping at src's NUL), NUL-terminates, and
 * returns a pointer to the terminator; n is the size of dst. */
u_char *dh_cpystrn(u_char *dst, u_char *src, size_t n);
/* NUL-terminated copy */
u_char *dh_pstrdup(dh_pool_t *pool, dh_str_t *src);
char *dh_pstrdup_cstr(dh_pool_t *pool, dh_str_t *src);    /* same, as char * */

dh_int_t dh_strcasecmp(u_char *s1, u_char *s2);
dh_int_t dh_strncasecmp(u_char *s1, u_char *s2, size_t n);
/* Finds the C string s2 in the first n bytes of s1 (NUL bytes included). */
u_char *dh_strnstr(u_char *s1, char *s2, size_t n);
/* Finds s2 (n bytes, lower-case) in [s1, last) ignoring case.  Note: n is
 * the full length of s2 (not length - 1 as in nginx). */
u_char *dh_strlcasestrn(u_char *s1, u_char *last, u_char *s2, size_t n);
dh_int_t dh_str_eq(dh_str_t *a, dh_str_t *b);            /* 1 when equal */
dh_int_t dh_str_caseeq(dh_str_t *a, const char *b);      /* 1 when equal */

/* Number parsing: each returns DH_ERROR on empty input, a non-digit or an
 * overflow, so a caller never sees a silently wrapped value. */
dh_int_t dh_atoi(u_char *line, size_t n);
ssize_t dh_atosz(u_char *line, size_t n);
off_t dh_atoof(u_char *line, size_t n);
dh_int_t dh_hextoi(u_char *line, size_t n);

/* snprintf-style formatting into [buf, last); returns the new end.  Uses
 * the C library's format language, so dh_str_t is printed with "%.*s".
 * Writes no NUL; output that does not fit is cut at last (which is then
 * returned).  Not async-signal-safe (vsnprintf). */
u_char *dh_slprintf(u_char *buf, u_char *last, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
u_char *dh_vslprintf(u_char *buf, u_char *last, const char *fmt, va_list args);
/* Allocates the result (NUL-terminated, len excludes it) from the pool;
 * NULL on failure. */
dh_str_t *dh_psprintf(dh_pool_t *pool, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

u_char *dh_hex_dump(u_char *dst, u_char *src, size_t len);

/* dst->data must hold dh_base64_encoded_length() / _decoded_length()
 * bytes; dst->len is set.  Decoding accepts missing padding and returns
 * DH_ERROR on a character outside the alphabet or misplaced '='. */
void dh_encode_base64(dh_str_t *dst, dh_str_t *src);
dh_int_t dh_decode_base64(dh_str_t *dst, dh_str_t *src);
#define dh_base64_encoded_length(len)  (((len + 2) / 3) * 4)
#define dh_base64_decoded_length(len)  (((len + 3) / 4) * 3)

/* Percent-decoding of size bytes at *src into *dst (may be the same
 * buffer); both pointers are advanced.  '+' is left alone and %00 decodes
 * to a NUL byte (callers that build paths must reject it).  Returns
 * DH_ERROR on a malformed %XX escape. */
dh_int_t dh_unescape_uri(u_char **dst, u_char **src, size_t size);

/* Escapes for JSON string bodies (" \ and control characters, as \n or
 * \u00XX; UTF-8 passes through).  Returns the escaped length: the bytes
 * needed when dst is NULL, the bytes written otherwise. */
size_t dh_escape_json(u_char *dst, u_char *src, size_t size);
/* Escapes < > & " ' for HTML text; returns the length like above. */
size_t dh_escape_html(u_char *dst, u_char *src, size_t size);

/* Compare in constant time (for passwords and tokens). 0 when equal. */
dh_int_t dh_memcmp_const_time(const u_char *a, const u_char *b, size_t n);

#endif /* DH_STRING_H */
