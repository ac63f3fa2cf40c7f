/*
 * Cached time.  dh_time_update() runs once per event-loop iteration and
 * formats every string a request may need (Date header, log times, ISO
 * 8601), so no request pays for strftime.  The slots rotate so a reader
 * interrupted by an update (signal handler) still sees a whole value.
 */

#ifndef DH_TIMES_H
#define DH_TIMES_H

#include "dh_core.h"

typedef struct {
    time_t      sec;
    dh_uint_t   msec;
    dh_int_t    gmtoff;         /* minutes east of UTC */
} dh_time_t;

/* Sets the string lengths and fills the first slot; call before any log
 * line.  Calling it again is harmless. */
void dh_time_init(void);
/* Once per loop iteration; a no-op while another update is running. */
void dh_time_update(void);
/* From signal handlers: refreshes dh_cached_time, dh_current_msec and
 * dh_cached_err_log_time only, without localtime_r(). */
void dh_time_sigsafe_update(void);

/* Formats t as an HTTP date ("Sun, 22 Nov 2026 03:07:09 GMT"); buf must
 * hold sizeof("Mon, 28 Sep 1970 06:00:00 GMT") - 1 bytes.  Returns the
 * end (no NUL).  t is clamped to 1970 .. 9999. */
u_char *dh_http_time(u_char *buf, time_t t);
/* Parses RFC 7231 dates (IMF-fixdate, RFC 850, asctime) exactly, with
 * nothing around them; day, month, time of day and weekday names are
 * validated (Feb 29 only in leap years), years before 1970 refused; a
 * two-digit RFC 850 year more than 50 years ahead is in the last century.
 * -1 if invalid. */
time_t dh_parse_http_time(u_char *value, size_t len);
/* UTC broken-down time by arithmetic only: async-signal-safe. */
void dh_gmtime(time_t t, struct tm *tp);

extern volatile dh_time_t  *dh_cached_time;
/* local time: 1970/09/28 12:00:00 */
extern volatile dh_str_t    dh_cached_err_log_time;
extern volatile dh_str_t    dh_cached_http_time;      /* RFC 7231 date */
/* 28/Sep/1970:12:00:00 +0600 */
extern volatile dh_str_t    dh_cached_http_log_time;
/* 1970-09-28T12:00:00+06:00 */
extern volatile dh_str_t    dh_cached_iso8601;
/* CLOCK_MONOTONIC in milliseconds, for timers */
extern volatile dh_msec_t   dh_current_msec;

#define dh_time()           dh_cached_time->sec
#define dh_timeofday()      (dh_time_t *) dh_cached_time

#endif /* DH_TIMES_H */
