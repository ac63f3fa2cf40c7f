/*
 * Strings: number parsers (including overflow), base64, unescape, JSON
 * and HTML escaping, comparisons, formatting.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"


void
dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...)
{
}


#define S(s)  (u_char *) (s), sizeof(s) - 1


static void
test_atoi(void)
{
    is_int(dh_atoi(S("0")), 0, "atoi 0");
    is_int(dh_atoi(S("12345")), 12345, "atoi 12345");
    is_int(dh_atoi(S("007")), 7, "leading zeros");
    is_int(dh_atoi(S("")), DH_ERROR, "empty");
    is_int(dh_atoi(S("-1")), DH_ERROR, "sign is not a digit");
    is_int(dh_atoi(S("+1")), DH_ERROR, "plus is not a digit");
    is_int(dh_atoi(S("12a")), DH_ERROR, "trailing garbage");
    is_int(dh_atoi(S(" 1")), DH_ERROR, "leading space");
    is_int(dh_atoi(S("9223372036854775807")), INT64_MAX, "INT64_MAX");
    is_int(dh_atoi(S("9223372036854775808")), DH_ERROR, "INT64_MAX + 1");
    is_int(dh_atoi(S("9223372036854775810")), DH_ERROR, "wraps to positive");
    is_int(dh_atoi(S("99999999999999999999999")), DH_ERROR, "way too big");
    is_int(dh_atoi((u_char *) "123", 2), 12, "only n bytes are read");

    is_int(dh_atosz(S("4096")), 4096, "atosz");
    is_int(dh_atosz(S("9223372036854775807")), SSIZE_MAX, "SSIZE_MAX");
    is_int(dh_atosz(S("9223372036854775808")), DH_ERROR, "atosz overflow");
    is_int(dh_atosz(S("1x")), DH_ERROR, "atosz garbage");

    is_int(dh_atoof(S("1099511627776")), 1099511627776LL, "atoof 1 TiB");
    is_int(dh_atoof(S("9223372036854775807")), INT64_MAX, "atoof max");
    is_int(dh_atoof(S("18446744073709551616")), DH_ERROR, "atoof 2^64");
    is_int(dh_atoof(S("")), DH_ERROR, "atoof empty");

    is_int(dh_hextoi(S("ff")), 255, "hex ff");
    is_int(dh_hextoi(S("DeadBeef")), 0xdeadbeef, "mixed-case hex");
    is_int(dh_hextoi(S("0")), 0, "hex 0");
    is_int(dh_hextoi(S("7fffffffffffffff")), INT64_MAX, "hex max");
    is_int(dh_hextoi(S("8000000000000000")), DH_ERROR, "hex overflow");
    is_int(dh_hextoi(S("10000000000000000")), DH_ERROR, "hex 17 digits");
    is_int(dh_hextoi(S("fg")), DH_ERROR, "hex garbage");
    is_int(dh_hextoi(S("")), DH_ERROR, "hex empty");
    is_int(dh_hextoi(S("0x10")), DH_ERROR, "0x prefix is not accepted");
}


static void
test_compare(void)
{
    u_char    buf[16], *p;
    dh_str_t  a = dh_string("Host");
    dh_str_t  b = dh_string("Host");
    dh_str_t  c = dh_string("Hos");
    u_char    hay[] = "xx Content-LENGTH: 5";

    ok(dh_str_eq(&a, &b), "str_eq equal");
    ok(!dh_str_eq(&a, &c), "str_eq different length");
    ok(dh_str_caseeq(&a, "hOST"), "caseeq ignores case");
    ok(!dh_str_caseeq(&a, "hosts"), "caseeq length matters");

    is_int(dh_strcasecmp((u_char *) "abc", (u_char *) "ABC"), 0,
           "strcasecmp equal");
    ok(dh_strcasecmp((u_char *) "abc", (u_char *) "abd") < 0, "abc < abd");
    ok(dh_strcasecmp((u_char *) "abcd", (u_char *) "ABC") > 0,
       "longer is greater");
    is_int(dh_strncasecmp((u_char *) "abcX", (u_char *) "ABCy", 3), 0,
           "strncasecmp stops at n");

    p = dh_strnstr((u_char *) "hello world", "wor", 11);
    ok(p != NULL && memcmp(p, "world", 5) == 0, "strnstr finds");
    ok(dh_strnstr((u_char *) "hello world", "wor", 8) == NULL,
       "strnstr respects n");

    p = dh_strlcasestrn(hay, hay + sizeof(hay) - 1,
                        (u_char *) "content-length", 14);
    ok(p == hay + 3, "strlcasestrn finds case-insensitively");
    ok(dh_strlcasestrn(hay, hay + 10, (u_char *) "content-length", 14)
       == NULL, "strlcasestrn respects last");
    ok(dh_strlcasestrn(hay, hay + sizeof(hay) - 1, (u_char *) ": 5", 3)
       == hay + sizeof(hay) - 4, "match at the very end");

    p = dh_cpystrn(buf, (u_char *) "abcdef", 4);
    is_str(buf, "abc", "cpystrn copies n - 1 and terminates");
    ok(p == buf + 3, "returns the terminator");
    p = dh_cpystrn(buf, (u_char *) "ab", sizeof(buf));
    ok(p == buf + 2 && *p == '\0', "stops at the source's NUL");

    dh_strlow(buf, (u_char *) "MiXeD", 6);
    is_str(buf, "mixed", "strlow");

    is_int(dh_memcmp_const_time((u_char *) "secret", (u_char *) "secret", 6),
           0, "const-time compare: equal");
    ok(dh_memcmp_const_time((u_char *) "secret", (u_char *) "secreT", 6)
       != 0, "last byte differs");
    ok(dh_memcmp_const_time((u_char *) "Secret", (u_char *) "secret", 6)
       != 0, "first byte differs");
    is_int(dh_memcmp_const_time((u_char *) "a", (u_char *) "b", 0), 0,
           "zero length is equal");
}


static void
test_format(dh_pool_t *pool)
{
    u_char     buf[16], *p;
    dh_str_t  *s, name = dh_string("world");

    p = dh_slprintf(buf, buf + sizeof(buf), "%d-%s", 42, "x");
    *p = '\0';
    is_str(buf, "42-x", "slprintf");
    is_int(p - buf, 4, "returns the end");

    memset(buf, '#', sizeof(buf));
    p = dh_slprintf(buf, buf + 8, "%s", "0123456789");
    is_int(p - buf, 8, "truncated output fills the buffer exactly");
    ok(memcmp(buf, "01234567", 8) == 0 && buf[8] == '#',
       "and writes nothing past last");

    p = dh_slprintf(buf, buf + 5, "%s", "01234");
    is_int(p - buf, 5, "exact fit uses every byte");
    ok(memcmp(buf, "01234", 5) == 0, "with the right bytes");

    p = dh_slprintf(buf, buf, "%s", "x");
    ok(p == buf, "empty buffer: nothing written");

    s = dh_psprintf(pool, "hello %.*s %d", DH_STR_FMT(name), 7);
    ok(s != NULL, "psprintf");
    is_int(s->len, 13, "length");
    is_str(s->data, "hello world 7", "NUL-terminated text");

    p = dh_hex_dump(buf, (u_char *) "\x00\xab\x7f", 3);
    *p = '\0';
    is_str(buf, "00ab7f", "hex dump");

    p = dh_pstrdup(pool, &name);
    is_str(p, "world", "pstrdup");
}


static void
base64_round_trip(const char *plain, const char *encoded)
{
    u_char    buf[128], out[128];
    dh_str_t  src, dst;

    src.data = (u_char *) plain;
    src.len = strlen(plain);
    dst.data = buf;
    dh_encode_base64(&dst, &src);
    buf[dst.len] = '\0';
    is_str(buf, encoded, "base64 of \"%s\"", plain);
    ok(dst.len == dh_base64_encoded_length(src.len), "encoded length");

    src = dst;
    dst.data = out;
    is_int(dh_decode_base64(&dst, &src), DH_OK, "decode \"%s\"", encoded);
    out[dst.len] = '\0';
    is_str(out, plain, "round trip");
    ok(dst.len <= dh_base64_decoded_length(src.len), "decoded length bound");
}


static dh_int_t
decode(const char *text, char *out)
{
    dh_int_t  rc;
    dh_str_t  src, dst;

    src.data = (u_char *) text;
    src.len = strlen(text);
    dst.data = (u_char *) out;
    rc = dh_decode_base64(&dst, &src);
    if (rc == DH_OK) {
        out[dst.len] = '\0';
    }
    return rc;
}


static void
test_base64(void)
{
    char       out[64];
    u_char     bin[256], enc[400], dec[300];
    dh_str_t   src, dst;
    dh_uint_t  i;

    base64_round_trip("", "");
    base64_round_trip("f", "Zg==");
    base64_round_trip("fo", "Zm8=");
    base64_round_trip("foo", "Zm9v");
    base64_round_trip("foob", "Zm9vYg==");
    base64_round_trip("fooba", "Zm9vYmE=");
    base64_round_trip("foobar", "Zm9vYmFy");
    base64_round_trip("user:pa ss", "dXNlcjpwYSBzcw==");

    for (i = 0; i < 256; i++) {
        bin[i] = (u_char) i;
    }
    src.data = bin;
    src.len = 256;
    dst.data = enc;
    dh_encode_base64(&dst, &src);
    src = dst;
    dst.data = dec;
    ok(dh_decode_base64(&dst, &src) == DH_OK && dst.len == 256
       && memcmp(dec, bin, 256) == 0, "all 256 byte values round trip");

    is_int(decode("Zm8", out), DH_OK, "missing padding is accepted");
    is_str(out, "fo", "and decodes");
    is_int(decode("Zg", out), DH_OK, "two chars, no padding");
    is_int(decode("Z", out), DH_ERROR, "one dangling char");
    is_int(decode("Zm9vY", out), DH_ERROR, "dangling char after a group");
    is_int(decode("Zm8==", out), DH_ERROR, "too much padding");
    is_int(decode("Zg=", out), DH_ERROR, "incomplete padding");
    is_int(decode("Zm=v", out), DH_ERROR, "padding in the middle");
    is_int(decode("Zm9v!A==", out), DH_ERROR, "invalid character");
    is_int(decode("Zm 9v", out), DH_ERROR, "space is invalid");
    is_int(decode("====", out), DH_ERROR, "only padding");
}


static void
test_unescape(void)
{
    u_char   buf[64], *d, *s;
    dh_int_t rc;

#define UNESC(in)                                                             \
    d = buf; s = (u_char *) in;                                               \
    rc = dh_unescape_uri(&d, &s, sizeof(in) - 1);                             \
    if (rc == DH_OK) *d = '\0'

    UNESC("/a%20b/%7Euser");
    is_int(rc, DH_OK, "unescape ok");
    is_str(buf, "/a b/~user", "unescaped text");
    is_int(d - buf, 10, "dst advanced past the output");

    {
        u_char  in[] = "x%41y";

        d = buf;
        s = in;
        rc = dh_unescape_uri(&d, &s, 5);
        ok(rc == DH_OK && s == in + 5 && d == buf + 3 && buf[1] == 'A',
           "src advanced to the end, %%41 is A");
    }

    UNESC("%2f%2F");
    is_str(buf, "//", "hex digits in both cases");

    UNESC("a+b");
    is_str(buf, "a+b", "plus is left alone");

    UNESC("%");
    is_int(rc, DH_ERROR, "lone percent");
    UNESC("ab%4");
    is_int(rc, DH_ERROR, "truncated escape");
    UNESC("%zz");
    is_int(rc, DH_ERROR, "non-hex escape");
    UNESC("%4g");
    is_int(rc, DH_ERROR, "second digit non-hex");

    UNESC("");
    is_int(rc, DH_OK, "empty input");
    is_int(d - buf, 0, "writes nothing");

#undef UNESC
}


static void
test_escape(void)
{
    u_char  buf[128];
    size_t  n;

#define ESC(fn, in)                                                           \
    n = fn(NULL, (u_char *) in, sizeof(in) - 1);                              \
    is_int(fn(buf, (u_char *) in, sizeof(in) - 1), n,                        \
           #fn ": counted length equals written length");                     \
    buf[n] = '\0'

    ESC(dh_escape_json, "plain text");
    is_str(buf, "plain text", "json: nothing to escape");

    ESC(dh_escape_json, "say \"hi\"\\ now");
    is_str(buf, "say \\\"hi\\\"\\\\ now", "json: quote and backslash");

    ESC(dh_escape_json, "a\nb\rc\td\be\ff");
    is_str(buf, "a\\nb\\rc\\td\\be\\ff", "json: short escapes");

    ESC(dh_escape_json, "\x01\x1f\x7f");
    is_str(buf, "\\u0001\\u001f\\u007f", "json: other controls as \\u00XX");
    is_int(n, 18, "json: 6 bytes each");

    n = dh_escape_json(buf, (u_char *) "a\0b", 3);
    buf[n] = '\0';
    is_str(buf, "a\\u0000b", "json: NUL is escaped, not a terminator");

    ESC(dh_escape_json, "caf\xc3\xa9");
    is_str(buf, "caf\xc3\xa9", "json: UTF-8 passes through");

    ESC(dh_escape_html, "<a href=\"x\">Tom & 'Jerry'</a>");
    is_str(buf, "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;"
           "&lt;/a&gt;", "html escapes");

#undef ESC
}


int
main(void)
{
    dh_pool_t  *pool;

    pool = dh_create_pool(1024, NULL);

    test_atoi();
    test_compare();
    test_format(pool);
    test_base64();
    test_unescape();
    test_escape();

    dh_destroy_pool(pool);

    return done_testing();
}
