#include "dh_config.h"
#include "dh_core.h"

/*
 * The cached values live in DH_TIME_SLOTS rotating slots.  An update
 * writes the next slot completely and only then publishes it, so a reader
 * that was interrupted (by a signal handler that updated the time, or
 * that races with the loop thread) still sees a consistent older value.
 * Each slot is reused only after DH_TIME_SLOTS further updates.
 */

#define DH_TIME_SLOTS  64

/* the latest date dh_http_time() can print in four year digits */
#define DH_MAX_HTTP_TIME  253402300799LL    /* 9999-12-31 23:59:59 */

static dh_uint_t    slot;
static int          dh_time_lock;

static dh_time_t    cached_time[DH_TIME_SLOTS];

static u_char  cached_err_log_time[DH_TIME_SLOTS]
                                  [sizeof("1970/09/28 12:00:00")];
static u_char  cached_http_time[DH_TIME_SLOTS]
                               [sizeof("Mon, 28 Sep 1970 06:00:00 GMT")];
static u_char  cached_http_log_time[DH_TIME_SLOTS]
                                   [sizeof("28/Sep/1970:12:00:00 +0600")];
static u_char  cached_iso8601[DH_TIME_SLOTS]
                             [sizeof("1970-09-28T12:00:00+06:00")];

volatile dh_time_t  *dh_cached_time = &cached_time[0];
volatile dh_str_t    dh_cached_err_log_time;
volatile dh_str_t    dh_cached_http_time;
volatile dh_str_t    dh_cached_http_log_time;
volatile dh_str_t    dh_cached_iso8601;
volatile dh_msec_t   dh_current_msec;

static const char  *week[] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};

static const char  *week_long[] = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "Saturday"
};

static const char  *months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};


static void dh_time_publish(dh_time_t *tp, struct tm *local,
    dh_uint_t all);


/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
static int64_t
dh_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static dh_uint_t
dh_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


static dh_uint_t
dh_days_in_month(int64_t y, dh_uint_t m)
{
    static const u_char  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    return (m == 2 && dh_is_leap(y)) ? 29 : days[m - 1];
}


/* Pure arithmetic (no locale, no locks), so signal handlers may call it. */
void
dh_gmtime(time_t t, struct tm *tp)
{
    int64_t    days, secs, z, era, doe, yoe, y, doy, mp, d, m;
    dh_uint_t  i;

    days = (int64_t) t / 86400;
    secs = (int64_t) t % 86400;

    if (secs < 0) {
        secs += 86400;
        days--;
    }

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = (mp < 10) ? mp + 3 : mp - 9;
    y += (m <= 2);

    tp->tm_sec = (int) (secs % 60);
    tp->tm_min = (int) (secs / 60 % 60);
    tp->tm_hour = (int) (secs / 3600);
    tp->tm_mday = (int) d;
    tp->tm_mon = (int) m - 1;
    tp->tm_year = (int) (y - 1900);
    tp->tm_wday = (int) (((days % 7) + 11) % 7);
    tp->tm_isdst = 0;

    tp->tm_yday = (int) d - 1;
    for (i = 1; i < (dh_uint_t) m; i++) {
        tp->tm_yday += (int) dh_days_in_month(y, i);
    }
}


static u_char *
dh_put_num(u_char *p, dh_uint_t value, dh_uint_t width)
{
    u_char  *q;

    q = p + width;

    while (q > p) {
        *--q = (u_char) ('0' + value % 10);
        value /= 10;
    }

    return p + width;
}


static u_char *
dh_put_str(u_char *p, const char *s)
{
    while (*s) {
        *p++ = (u_char) *s++;
    }

    return p;
}


u_char *
dh_http_time(u_char *buf, time_t t)
{
    u_char     *p;
    struct tm   tm;

    if (t < 0) {
        t = 0;
    }

    if ((int64_t) t > DH_MAX_HTTP_TIME) {
        t = (time_t) DH_MAX_HTTP_TIME;
    }

    dh_gmtime(t, &tm);

    p = dh_put_str(buf, week[tm.tm_wday]);
    p = dh_put_str(p, ", ");
    p = dh_put_num(p, (dh_uint_t) tm.tm_mday, 2);
    *p++ = ' ';
    p = dh_put_str(p, months[tm.tm_mon]);
    *p++ = ' ';
    p = dh_put_num(p, (dh_uint_t) tm.tm_year + 1900, 4);
    *p++ = ' ';
    p = dh_put_num(p, (dh_uint_t) tm.tm_hour, 2);
    *p++ = ':';
    p = dh_put_num(p, (dh_uint_t) tm.tm_min, 2);
    *p++ = ':';
    p = dh_put_num(p, (dh_uint_t) tm.tm_sec, 2);

    return dh_put_str(p, " GMT");
}


/* "1970/09/28 12:00:00" */
static u_char *
dh_format_err_log_time(u_char *p, struct tm *tm)
{
    p = dh_put_num(p, (dh_uint_t) tm->tm_year + 1900, 4);
    *p++ = '/';
    p = dh_put_num(p, (dh_uint_t) tm->tm_mon + 1, 2);
    *p++ = '/';
    p = dh_put_num(p, (dh_uint_t) tm->tm_mday, 2);
    *p++ = ' ';
    p = dh_put_num(p, (dh_uint_t) tm->tm_hour, 2);
    *p++ = ':';
    p = dh_put_num(p, (dh_uint_t) tm->tm_min, 2);
    *p++ = ':';
    return dh_put_num(p, (dh_uint_t) tm->tm_sec, 2);
}


/* "+0600" or, with a colon, "+06:00" */
static u_char *
dh_format_gmtoff(u_char *p, dh_int_t gmtoff, dh_uint_t colon)
{
    *p++ = (gmtoff < 0) ? '-' : '+';
    p = dh_put_num(p, (dh_uint_t) dh_abs(gmtoff) / 60, 2);

    if (colon) {
        *p++ = ':';
    }

    return dh_put_num(p, (dh_uint_t) dh_abs(gmtoff) % 60, 2);
}


/* "28/Sep/1970:12:00:00 +0600" */
static u_char *
dh_format_http_log_time(u_char *p, struct tm *tm, dh_int_t gmtoff)
{
    p = dh_put_num(p, (dh_uint_t) tm->tm_mday, 2);
    *p++ = '/';
    p = dh_put_str(p, months[tm->tm_mon]);
    *p++ = '/';
    p = dh_put_num(p, (dh_uint_t) tm->tm_year + 1900, 4);
    *p++ = ':';
    p = dh_put_num(p, (dh_uint_t) tm->tm_hour, 2);
    *p++ = ':';
    p = dh_put_num(p, (dh_uint_t) tm->tm_min, 2);
    *p++ = ':';
    p = dh_put_num(p, (dh_uint_t) tm->tm_sec, 2);
    *p++ = ' ';
    return dh_format_gmtoff(p, gmtoff, 0);
}


/* "1970-09-28T12:00:00+06:00" */
static u_char *
dh_format_iso8601(u_char *p, struct tm *tm, dh_int_t gmtoff)
{
    p = dh_put_num(p, (dh_uint_t) tm->tm_year + 1900, 4);
    *p++ = '-';
    p = dh_put_num(p, (dh_uint_t) tm->tm_mon + 1, 2);
    *p++ = '-';
    p = dh_put_num(p, (dh_uint_t) tm->tm_mday, 2);
    *p++ = 'T';
    p = dh_put_num(p, (dh_uint_t) tm->tm_hour, 2);
    *p++ = ':';
    p = dh_put_num(p, (dh_uint_t) tm->tm_min, 2);
    *p++ = ':';
    p = dh_put_num(p, (dh_uint_t) tm->tm_sec, 2);
    return dh_format_gmtoff(p, gmtoff, 1);
}


static dh_msec_t
dh_monotonic_msec(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (dh_msec_t) ts.tv_sec * 1000 + (dh_msec_t) ts.tv_nsec / 1000000;
}


void
dh_time_init(void)
{
    dh_cached_err_log_time.len = sizeof("1970/09/28 12:00:00") - 1;
    dh_cached_http_time.len = sizeof("Mon, 28 Sep 1970 06:00:00 GMT") - 1;
    dh_cached_http_log_time.len = sizeof("28/Sep/1970:12:00:00 +0600") - 1;
    dh_cached_iso8601.len = sizeof("1970-09-28T12:00:00+06:00") - 1;

    /* start over at slot 0 and force a full update: no slot may match
     * the current second, whatever an earlier init left there */
    slot = 0;
    cached_time[0].sec = -1;
    dh_cached_time = &cached_time[0];

    dh_time_update();
}


static dh_uint_t
dh_time_trylock(void)
{
    return __sync_bool_compare_and_swap(&dh_time_lock, 0, 1);
}


static void
dh_time_unlock(void)
{
    __sync_lock_release(&dh_time_lock);
}


void
dh_time_update(void)
{
    time_t            sec;
    dh_uint_t         msec;
    struct tm         tm;
    dh_time_t        *tp;
    struct timespec   ts;

    if (!dh_time_trylock()) {
        return;
    }

    (void) clock_gettime(CLOCK_REALTIME, &ts);
    sec = ts.tv_sec;
    msec = (dh_uint_t) (ts.tv_nsec / 1000000);

    dh_current_msec = dh_monotonic_msec();

    tp = &cached_time[slot];

    if (tp->sec == sec) {
        tp->msec = msec;
        dh_time_unlock();
        return;
    }

    slot = (slot + 1) % DH_TIME_SLOTS;
    tp = &cached_time[slot];

    tp->sec = sec;
    tp->msec = msec;

    (void) localtime_r(&sec, &tm);
    tp->gmtoff = (dh_int_t) (tm.tm_gmtoff / 60);

    dh_time_publish(tp, &tm, 1);

    dh_time_unlock();
}


/*
 * From a signal handler: localtime_r() may take a lock, so the local time
 * is derived from the last known UTC offset with pure arithmetic, and only
 * what a log line needs is refreshed.
 */
void
dh_time_sigsafe_update(void)
{
    time_t            sec;
    dh_int_t          gmtoff;
    struct tm         tm;
    dh_time_t        *tp;
    struct timespec   ts;

    if (!dh_time_trylock()) {
        return;
    }

    (void) clock_gettime(CLOCK_REALTIME, &ts);
    sec = ts.tv_sec;

    dh_current_msec = dh_monotonic_msec();

    tp = &cached_time[slot];

    if (tp->sec == sec) {
        dh_time_unlock();
        return;
    }

    gmtoff = tp->gmtoff;

    slot = (slot + 1) % DH_TIME_SLOTS;
    tp = &cached_time[slot];

    tp->sec = sec;
    tp->msec = (dh_uint_t) (ts.tv_nsec / 1000000);
    tp->gmtoff = gmtoff;

    dh_gmtime(sec + gmtoff * 60, &tm);

    dh_time_publish(tp, &tm, 0);

    dh_time_unlock();
}


/* Formats the slot's strings, then makes them visible. */
static void
dh_time_publish(dh_time_t *tp, struct tm *local, dh_uint_t all)
{
    u_char  *p0, *p1, *p2, *p3;

    p1 = NULL;
    p2 = NULL;
    p3 = NULL;

    p0 = cached_err_log_time[slot];
    (void) dh_format_err_log_time(p0, local);

    if (all) {
        p1 = cached_http_time[slot];
        (void) dh_http_time(p1, tp->sec);

        p2 = cached_http_log_time[slot];
        (void) dh_format_http_log_time(p2, local, tp->gmtoff);

        p3 = cached_iso8601[slot];
        (void) dh_format_iso8601(p3, local, tp->gmtoff);
    }

    /* the strings must be complete before anyone can see the pointers */
    __sync_synchronize();

    dh_cached_time = tp;
    dh_cached_err_log_time.data = p0;

    if (all) {
        dh_cached_http_time.data = p1;
        dh_cached_http_log_time.data = p2;
        dh_cached_iso8601.data = p3;
    }
}


/* Parsing. */

typedef struct {
    u_char  *p;
    u_char  *end;
} dh_time_cursor_t;


static dh_uint_t
dh_time_lit(dh_time_cursor_t *c, const char *s)
{
    size_t  len;

    len = strlen(s);

    if ((size_t) (c->end - c->p) < len || dh_memcmp(c->p, s, len) != 0) {
        return 0;
    }

    c->p += len;

    return 1;
}


/* n digits exactly; -1 on anything else */
static dh_int_t
dh_time_digits(dh_time_cursor_t *c, dh_uint_t n)
{
    dh_int_t  value;

    if ((size_t) (c->end - c->p) < n) {
        return -1;
    }

    for (value = 0; n--; c->p++) {
        if (*c->p < '0' || *c->p > '9') {
            return -1;
        }

        value = value * 10 + (*c->p - '0');
    }

    return value;
}


static dh_int_t
dh_time_name(dh_time_cursor_t *c, const char **names, dh_uint_t n)
{
    dh_uint_t  i;

    for (i = 0; i < n; i++) {
        if (dh_time_lit(c, names[i])) {
            return (dh_int_t) i;
        }
    }

    return -1;
}


/* "08:49:37" into seconds of the day; -1 if malformed or out of range */
static dh_int_t
dh_time_of_day(dh_time_cursor_t *c)
{
    dh_int_t  h, m, s;

    h = dh_time_digits(c, 2);
    if (h < 0 || h > 23 || !dh_time_lit(c, ":")) {
        return -1;
    }

    m = dh_time_digits(c, 2);
    if (m < 0 || m > 59 || !dh_time_lit(c, ":")) {
        return -1;
    }

    s = dh_time_digits(c, 2);
    if (s < 0 || s > 59) {
        return -1;
    }

    return h * 3600 + m * 60 + s;
}


/*
 * RFC 850 years have two digits.  RFC 7231 7.1.1.1: a year that would be
 * more than 50 years in the future means the most recent past year with
 * the same last two digits.
 */
static dh_int_t
dh_time_full_year(dh_int_t yy)
{
    time_t     now;
    dh_int_t   year, this_year;
    struct tm  tm;

    now = dh_cached_time->sec;
    if (now <= 0) {
        now = time(NULL);
    }

    dh_gmtime(now, &tm);
    this_year = tm.tm_year + 1900;

    year = this_year - this_year % 100 + yy;

    if (year > this_year + 50) {
        year -= 100;
    }

    return year;
}


time_t
dh_parse_http_time(u_char *value, size_t len)
{
    dh_int_t          day, month, year, tod, yy;
    dh_time_cursor_t  c;

    c.p = value;
    c.end = value + len;

    if (len >= 4 && value[3] == ',') {

        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */

        if (dh_time_name(&c, week, 7) < 0 || !dh_time_lit(&c, ", ")) {
            return -1;
        }

        day = dh_time_digits(&c, 2);
        if (day < 0 || !dh_time_lit(&c, " ")) {
            return -1;
        }

        month = dh_time_name(&c, months, 12);
        if (month < 0 || !dh_time_lit(&c, " ")) {
            return -1;
        }

        year = dh_time_digits(&c, 4);
        if (year < 0 || !dh_time_lit(&c, " ")) {
            return -1;
        }

        tod = dh_time_of_day(&c);
        if (tod < 0 || !dh_time_lit(&c, " GMT")) {
            return -1;
        }

    } else if (len >= 4 && value[3] == ' ') {

        /* asctime: "Sun Nov  6 08:49:37 1994" (or "Nov 06") */

        if (dh_time_name(&c, week, 7) < 0 || !dh_time_lit(&c, " ")) {
            return -1;
        }

        month = dh_time_name(&c, months, 12);
        if (month < 0 || !dh_time_lit(&c, " ")) {
            return -1;
        }

        if (dh_time_lit(&c, " ")) {
            day = dh_time_digits(&c, 1);

        } else {
            day = dh_time_digits(&c, 2);
        }

        if (day < 0 || !dh_time_lit(&c, " ")) {
            return -1;
        }

        tod = dh_time_of_day(&c);
        if (tod < 0 || !dh_time_lit(&c, " ")) {
            return -1;
        }

        year = dh_time_digits(&c, 4);
        if (year < 0) {
            return -1;
        }

    } else {

        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */

        if (dh_time_name(&c, week_long, 7) < 0 || !dh_time_lit(&c, ", ")) {
            return -1;
        }

        day = dh_time_digits(&c, 2);
        if (day < 0 || !dh_time_lit(&c, "-")) {
            return -1;
        }

        month = dh_time_name(&c, months, 12);
        if (month < 0 || !dh_time_lit(&c, "-")) {
            return -1;
        }

        yy = dh_time_digits(&c, 2);
        if (yy < 0 || !dh_time_lit(&c, " ")) {
            return -1;
        }

        year = dh_time_full_year(yy);

        tod = dh_time_of_day(&c);
        if (tod < 0 || !dh_time_lit(&c, " GMT")) {
            return -1;
        }
    }

    if (c.p != c.end) {
        return -1;
    }

    month++;

    if (year < 1970 || day < 1
        || (dh_uint_t) day > dh_days_in_month(year, (dh_uint_t) month))
    {
        return -1;
    }

    if (sizeof(time_t) < 8 && year > 2037) {
        return -1;
    }

    return (time_t) (dh_days_from_civil(year, month, day) * 86400 + tod);
}
