/*
 * Cached time strings, HTTP date formatting, and parsing of the three
 * RFC 7231 date formats with validation.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"


#define P(s)  dh_parse_http_time((u_char *) (s), sizeof(s) - 1)


static void
test_format(void)
{
    u_char     buf[64], *p;
    struct tm  tm;

    p = dh_http_time(buf, 784111777);
    *p = '\0';
    is_str(buf, "Sun, 06 Nov 1994 08:49:37 GMT", "RFC 7231 example");
    is_int(p - buf, sizeof("Mon, 28 Sep 1970 06:00:00 GMT") - 1,
           "fixed length");

    p = dh_http_time(buf, 0);
    *p = '\0';
    is_str(buf, "Thu, 01 Jan 1970 00:00:00 GMT", "the epoch");

    p = dh_http_time(buf, 951782400);
    *p = '\0';
    is_str(buf, "Tue, 29 Feb 2000 00:00:00 GMT", "leap day 2000");

    p = dh_http_time(buf, 4107542400LL);
    *p = '\0';
    is_str(buf, "Mon, 01 Mar 2100 00:00:00 GMT", "2100 is not a leap year");

    p = dh_http_time(buf, -5);
    *p = '\0';
    is_str(buf, "Thu, 01 Jan 1970 00:00:00 GMT", "negative clamps to 0");

    p = dh_http_time(buf, (time_t) 1 << 40);
    *p = '\0';
    is_str(buf, "Fri, 31 Dec 9999 23:59:59 GMT", "huge clamps to 9999");

    dh_gmtime(1700000000, &tm);
    is_int(tm.tm_year + 1900, 2023, "gmtime year");
    is_int(tm.tm_mon, 10, "gmtime month (0-based)");
    is_int(tm.tm_mday, 14, "gmtime day");
    is_int(tm.tm_hour * 10000 + tm.tm_min * 100 + tm.tm_sec, 221320,
           "gmtime 22:13:20");
    is_int(tm.tm_wday, 2, "Tuesday");
    is_int(tm.tm_yday, 317, "day of year");

    dh_gmtime(-1, &tm);
    is_int((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday,
           19691231, "gmtime(-1) is 1969-12-31");
    is_int(tm.tm_hour * 10000 + tm.tm_min * 100 + tm.tm_sec, 235959,
           "at 23:59:59");
}


static void
test_gmtime_matches_libc(void)
{
    time_t     t;
    struct tm  a, b;
    dh_uint_t  i, same;

    same = 1;

    for (i = 0, t = -86400 * 400; i < 20000; i++, t += 86400 * 7 + 3607) {
        dh_gmtime(t, &a);
        gmtime_r(&t, &b);

        if (a.tm_year != b.tm_year || a.tm_mon != b.tm_mon
            || a.tm_mday != b.tm_mday || a.tm_hour != b.tm_hour
            || a.tm_min != b.tm_min || a.tm_sec != b.tm_sec
            || a.tm_wday != b.tm_wday || a.tm_yday != b.tm_yday)
        {
            same = 0;
            break;
        }
    }

    ok(same, "dh_gmtime agrees with gmtime_r over 380 years");
}


static void
test_parse(void)
{
    u_char     buf[64];
    time_t     t;
    dh_uint_t  i, round;

    is_int(P("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777, "IMF-fixdate");
    is_int(P("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777, "RFC 850");
    is_int(P("Sun Nov  6 08:49:37 1994"), 784111777, "asctime");
    is_int(P("Sun Nov 06 08:49:37 1994"), 784111777,
           "asctime with a zero-padded day");

    is_int(P("Thu, 01 Jan 1970 00:00:00 GMT"), 0, "the epoch");
    is_int(P("Tue, 29 Feb 2000 12:00:00 GMT"), 951825600, "leap day 2000");
    is_int(P("Thu, 29 Feb 2024 00:00:00 GMT"), 1709164800, "leap day 2024");
    is_int(P("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799LL, "year 9999");

    is_int(P("Wednesday, 09-Nov-05 08:49:37 GMT"), 1131526177,
           "RFC 850 two-digit year 05 is 2005");

    round = 1;
    for (i = 0, t = 0; i < 5000; i++, t += 863 * 211 + i) {
        u_char  *p;

        p = dh_http_time(buf, t);
        if (dh_parse_http_time(buf, (size_t) (p - buf)) != t) {
            round = 0;
            break;
        }
    }
    ok(round, "format then parse gives back the time (5000 values)");

    /* invalid */
    is_int(P(""), -1, "empty");
    is_int(P("Sun, 06 Nov 1994 08:49:37"), -1, "missing GMT");
    is_int(P("Sun, 06 Nov 1994 08:49:37 UTC"), -1, "UTC is not GMT");
    is_int(P("Sun, 06 Nov 1994 08:49:37 GMT "), -1, "trailing space");
    is_int(P(" Sun, 06 Nov 1994 08:49:37 GMT"), -1, "leading space");
    is_int(P("Sun, 6 Nov 1994 08:49:37 GMT"), -1, "one-digit day");
    is_int(P("Sun, 06 Nov 94 08:49:37 GMT"), -1, "two-digit year");
    is_int(P("Sun, 06 Foo 1994 08:49:37 GMT"), -1, "bad month");
    is_int(P("Sun, 06 nov 1994 08:49:37 GMT"), -1, "month is case-sensitive");
    is_int(P("Xyz, 06 Nov 1994 08:49:37 GMT"), -1, "bad weekday");
    is_int(P("Sun, 31 Apr 1994 08:49:37 GMT"), -1, "April 31");
    is_int(P("Sun, 29 Feb 1900 08:49:37 GMT"), -1, "1900 is no leap year");
    is_int(P("Sun, 29 Feb 2023 08:49:37 GMT"), -1, "Feb 29 2023");
    is_int(P("Sun, 00 Nov 1994 08:49:37 GMT"), -1, "day 0");
    is_int(P("Sun, 32 Jan 1994 08:49:37 GMT"), -1, "day 32");
    is_int(P("Sun, 06 Nov 1994 24:00:00 GMT"), -1, "hour 24");
    is_int(P("Sun, 06 Nov 1994 08:60:00 GMT"), -1, "minute 60");
    is_int(P("Sun, 06 Nov 1994 08:49:61 GMT"), -1, "second 61");
    is_int(P("Sun, 06 Nov 1994 8:49:37 GMT"), -1, "one-digit hour");
    is_int(P("Sun, 06 Nov 1969 08:49:37 GMT"), -1, "before 1970");
    is_int(P("Sun, 06 Nov 1994 08-49-37 GMT"), -1, "wrong time separator");
    is_int(P("Sun 06 Nov 1994 08:49:37 GMT"), -1, "IMF without comma");
    is_int(P("Sunday, 06-Nov-1994 08:49:37 GMT"), -1,
           "RFC 850 with four-digit year");
    is_int(P("Sun, 06-Nov-94 08:49:37 GMT"), -1,
           "RFC 850 with a short weekday");
    is_int(P("Funday, 06-Nov-94 08:49:37 GMT"), -1, "RFC 850 bad weekday");
    is_int(P("Sun Nov  6 08:49:37 94"), -1, "asctime two-digit year");
    is_int(P("Sun Nov   6 08:49:37 1994"), -1, "asctime three spaces");
    is_int(P("Sun Nov  6 08:49:37 1994 GMT"), -1, "asctime with zone");
    is_int(dh_parse_http_time((u_char *) "Sun, 06 Nov 1994 08:49:37 GMT", 20),
           -1, "truncated input");
}


static void
test_cached(void)
{
    u_char       copy[64];
    time_t       now;
    dh_msec_t    m1, m2;
    struct tm    tm;
    struct timespec  ts = { 0, 20 * 1000000 };

    dh_time_init();

    now = time(NULL);
    ok(dh_time() >= now - 1 && dh_time() <= now + 1, "dh_time() is now");
    ok(dh_cached_time->msec < 1000, "msec in range");

    is_int(dh_cached_http_time.len, 29, "http time length");
    is_int(dh_cached_err_log_time.len, 19, "err log time length");
    is_int(dh_cached_http_log_time.len, 26, "http log time length");
    is_int(dh_cached_iso8601.len, 25, "iso8601 length");

    is_int(dh_parse_http_time(dh_cached_http_time.data,
                              dh_cached_http_time.len),
           dh_time(), "cached HTTP date parses back to dh_time()");

    localtime_r((time_t *) &dh_cached_time->sec, &tm);
    snprintf((char *) copy, sizeof(copy), "%04d/%02d/%02d %02d:%02d:%02d",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    ok(memcmp(copy, dh_cached_err_log_time.data, 19) == 0,
       "err log time is local time: %.19s", (char *) copy);

    strftime((char *) copy, sizeof(copy), "%d/%b/%Y:%H:%M:%S %z", &tm);
    ok(memcmp(copy, dh_cached_http_log_time.data, 26) == 0,
       "http log time: %.26s", (char *) copy);

    strftime((char *) copy, sizeof(copy), "%Y-%m-%dT%H:%M:%S", &tm);
    ok(memcmp(copy, dh_cached_iso8601.data, 19) == 0
       && (dh_cached_iso8601.data[19] == '+'
           || dh_cached_iso8601.data[19] == '-')
       && dh_cached_iso8601.data[22] == ':',
       "iso8601: %.25s", (char *) dh_cached_iso8601.data);

    m1 = dh_current_msec;
    nanosleep(&ts, NULL);
    dh_time_update();
    m2 = dh_current_msec;
    ok(m2 - m1 >= 20 && m2 - m1 < 2000, "monotonic msec advanced by %lu",
       (unsigned long) (m2 - m1));

    dh_time_sigsafe_update();
    ok(dh_time() >= now, "sigsafe update keeps a sane time");
    ok(memcmp(copy, dh_cached_iso8601.data, 4) == 0, "iso8601 still valid");
}


static void
test_slots(void)
{
    u_char    *first;
    dh_uint_t  i, distinct;

    /* each new second goes to a new slot; the old string stays intact */
    setenv("TZ", "UTC", 1);
    tzset();

    dh_time_init();
    first = dh_cached_http_time.data;
    distinct = 1;

    for (i = 0; i < 2; i++) {
        time_t  before = dh_time();

        while (time(NULL) == before) {
            struct timespec  ts = { 0, 50 * 1000000 };
            nanosleep(&ts, NULL);
        }

        dh_time_update();
        if (dh_cached_http_time.data == first) {
            distinct = 0;
        }
    }

    ok(distinct, "a new second is written to a new slot");
    is_int(dh_parse_http_time(first, 29) + 2 <= dh_time(), 1,
           "the old slot still holds the old date");
    is_str(dh_cached_iso8601.data[19] == '+' ? "+00:00" : "?", "+00:00",
           "UTC offset formatting");
    ok(memcmp(dh_cached_iso8601.data + 19, "+00:00", 6) == 0,
       "iso8601 ends in +00:00 under TZ=UTC");
    ok(memcmp(dh_cached_http_log_time.data + 20, " +0000", 6) == 0,
       "http log time ends in +0000");
}


int
main(void)
{
    test_format();
    test_gmtime_matches_libc();
    test_parse();
    test_cached();
    test_slots();

    return done_testing();
}
