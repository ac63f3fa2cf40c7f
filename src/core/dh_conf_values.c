/*
 * Directive values: sizes, offsets and times with their units, and the
 * generic slot setters that store a directive's argument straight into a
 * field of a module's configuration (flag, string, number, size, time,
 * enum, bitmask, path ...), each refusing a bad value with file:line.
 */

#include "dh_config.h"
#include "dh_core.h"


static char *dh_conf_invalid_value(dh_conf_t *cf, dh_command_t *cmd,
    dh_str_t *value);
static char *dh_conf_post(dh_conf_t *cf, dh_command_t *cmd, void *field);


/*
 * The unit suffix of a size (k, m, g, either case); *len is shortened to
 * the digits.  Sizes and offsets share it so they accept the same units.
 */
static off_t
dh_parse_size_scale(dh_str_t *line, size_t *len)
{
    *len = line->len;

    switch (line->data[*len - 1]) {

    case 'K':
    case 'k':
        (*len)--;
        return 1024;

    case 'M':
    case 'm':
        (*len)--;
        return 1024 * 1024;

    case 'G':
    case 'g':
        (*len)--;
        return 1024 * 1024 * 1024;

    default:
        return 1;
    }
}


ssize_t
dh_parse_size(dh_str_t *line)
{
    size_t   len;
    ssize_t  size, scale;

    if (line->len == 0) {
        return DH_ERROR;
    }

    scale = (ssize_t) dh_parse_size_scale(line, &len);
    size = dh_atosz(line->data, len);

    if (size == DH_ERROR || size > SSIZE_MAX / scale) {
        return DH_ERROR;
    }

    return size * scale;
}


off_t
dh_parse_offset(dh_str_t *line)
{
    size_t  len;
    off_t   offset, scale;

    if (line->len == 0) {
        return DH_ERROR;
    }

    scale = dh_parse_size_scale(line, &len);
    offset = dh_atoof(line->data, len);

    if (offset == DH_ERROR || offset > DH_MAX_OFF_T_VALUE / scale) {
        return DH_ERROR;
    }

    return offset * scale;
}


/*
 * "1h 30m", "1h30m", "500ms", "10": units must come in decreasing order,
 * each at most once; a bare number is seconds.  The result is seconds
 * when is_sec is set, milliseconds otherwise ("ms" is not allowed then).
 */
dh_int_t
dh_parse_time(dh_str_t *line, dh_uint_t is_sec)
{
    u_char     *p, *last;
    dh_int_t    value, total, scale;
    dh_uint_t   step, unit, digits;

    enum {
        st_start = 0,
        st_year,
        st_month,
        st_week,
        st_day,
        st_hour,
        st_min,
        st_sec,
        st_msec
    };

    p = line->data;
    last = p + line->len;

    step = st_start;
    total = 0;
    value = 0;
    digits = 0;

    while (p < last) {

        if (*p >= '0' && *p <= '9') {
            if (value > (DH_MAX_INT_T_VALUE - (*p - '0')) / 10) {
                return DH_ERROR;
            }

            value = value * 10 + (*p++ - '0');
            digits = 1;
            continue;
        }

        if (*p == ' ') {
            /* spaces separate items, never a number from its unit */
            if (digits) {
                return DH_ERROR;
            }

            p++;
            continue;
        }

        if (!digits) {
            return DH_ERROR;
        }

        switch (*p++) {

        case 'y':
            unit = st_year;
            scale = 365 * 24 * 60 * 60;
            break;

        case 'M':
            unit = st_month;
            scale = 30 * 24 * 60 * 60;
            break;

        case 'w':
            unit = st_week;
            scale = 7 * 24 * 60 * 60;
            break;

        case 'd':
            unit = st_day;
            scale = 24 * 60 * 60;
            break;

        case 'h':
            unit = st_hour;
            scale = 60 * 60;
            break;

        case 'm':
            if (p < last && *p == 's') {
                if (is_sec) {
                    return DH_ERROR;
                }

                p++;
                unit = st_msec;
                scale = 1;
                break;
            }

            unit = st_min;
            scale = 60;
            break;

        case 's':
            unit = st_sec;
            scale = 1;
            break;

        default:
            return DH_ERROR;
        }

        if (unit <= step) {
            return DH_ERROR;
        }

        step = unit;

        if (!is_sec && unit != st_msec) {
            scale *= 1000;
        }

        if (value > (DH_MAX_INT_T_VALUE - total) / scale) {
            return DH_ERROR;
        }

        total += value * scale;
        value = 0;
        digits = 0;
    }

    if (digits) {
        if (step >= st_sec) {
            return DH_ERROR;
        }

        scale = is_sec ? 1 : 1000;

        if (value > (DH_MAX_INT_T_VALUE - total) / scale) {
            return DH_ERROR;
        }

        total += value * scale;

    } else if (step == st_start) {
        return DH_ERROR;
    }

    return total;
}


static char *
dh_conf_invalid_value(dh_conf_t *cf, dh_command_t *cmd, dh_str_t *value)
{
    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "invalid value \"%s\" in \"%s\" directive",
                      value->data, cmd->name.data);

    return DH_CONF_ERROR;
}


static char *
dh_conf_post(dh_conf_t *cf, dh_command_t *cmd, void *field)
{
    dh_conf_post_t  *post;

    if (cmd->post == NULL) {
        return DH_CONF_OK;
    }

    post = cmd->post;

    return post->post_handler(cf, post, field);
}


char *
dh_conf_set_flag_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_str_t   *value;
    dh_flag_t  *fp;

    fp = (dh_flag_t *) ((char *) conf + cmd->offset);

    if (*fp != DH_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (dh_strcasecmp(value[1].data, (u_char *) "on") == 0) {
        *fp = 1;

    } else if (dh_strcasecmp(value[1].data, (u_char *) "off") == 0) {
        *fp = 0;

    } else {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid value \"%s\" in \"%s\" directive, "
                          "it must be \"on\" or \"off\"",
                          value[1].data, cmd->name.data);
        return DH_CONF_ERROR;
    }

    return dh_conf_post(cf, cmd, fp);
}


char *
dh_conf_set_str_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_str_t  *field, *value;

    field = (dh_str_t *) ((char *) conf + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *field = value[1];

    return dh_conf_post(cf, cmd, field);
}


char *
dh_conf_set_str_array_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_str_t     *value, *s;
    dh_array_t  **a;

    a = (dh_array_t **) ((char *) conf + cmd->offset);

    if (*a == DH_CONF_UNSET_PTR || *a == NULL) {
        *a = dh_array_create(cf->pool, 4, sizeof(dh_str_t));
        if (*a == NULL) {
            return DH_CONF_ERROR;
        }
    }

    s = dh_array_push(*a);
    if (s == NULL) {
        return DH_CONF_ERROR;
    }

    value = cf->args->elts;

    *s = value[1];

    return dh_conf_post(cf, cmd, s);
}


char *
dh_conf_set_keyval_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_str_t      *value;
    dh_array_t   **a;
    dh_keyval_t   *kv;

    a = (dh_array_t **) ((char *) conf + cmd->offset);

    if (*a == DH_CONF_UNSET_PTR || *a == NULL) {
        *a = dh_array_create(cf->pool, 4, sizeof(dh_keyval_t));
        if (*a == NULL) {
            return DH_CONF_ERROR;
        }
    }

    kv = dh_array_push(*a);
    if (kv == NULL) {
        return DH_CONF_ERROR;
    }

    value = cf->args->elts;

    kv->key = value[1];
    kv->value = value[2];

    return dh_conf_post(cf, cmd, kv);
}


char *
dh_conf_set_num_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_int_t  *np;
    dh_str_t  *value;

    np = (dh_int_t *) ((char *) conf + cmd->offset);

    if (*np != DH_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *np = dh_atoi(value[1].data, value[1].len);

    if (*np == DH_ERROR) {
        return dh_conf_invalid_value(cf, cmd, &value[1]);
    }

    return dh_conf_post(cf, cmd, np);
}


char *
dh_conf_set_size_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    size_t    *sp;
    ssize_t    size;
    dh_str_t  *value;

    sp = (size_t *) ((char *) conf + cmd->offset);

    if (*sp != DH_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = dh_parse_size(&value[1]);

    if (size == DH_ERROR) {
        return dh_conf_invalid_value(cf, cmd, &value[1]);
    }

    *sp = (size_t) size;

    return dh_conf_post(cf, cmd, sp);
}


char *
dh_conf_set_off_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    off_t     *op;
    dh_str_t  *value;

    op = (off_t *) ((char *) conf + cmd->offset);

    if (*op != DH_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *op = dh_parse_offset(&value[1]);

    if (*op == DH_ERROR) {
        return dh_conf_invalid_value(cf, cmd, &value[1]);
    }

    return dh_conf_post(cf, cmd, op);
}


char *
dh_conf_set_msec_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_int_t    msec;
    dh_str_t   *value;
    dh_msec_t  *mp;

    mp = (dh_msec_t *) ((char *) conf + cmd->offset);

    if (*mp != DH_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    msec = dh_parse_time(&value[1], 0);

    if (msec == DH_ERROR) {
        return dh_conf_invalid_value(cf, cmd, &value[1]);
    }

    *mp = (dh_msec_t) msec;

    return dh_conf_post(cf, cmd, mp);
}


char *
dh_conf_set_sec_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    time_t    *sp;
    dh_int_t   sec;
    dh_str_t  *value;

    sp = (time_t *) ((char *) conf + cmd->offset);

    if (*sp != DH_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    sec = dh_parse_time(&value[1], 1);

    if (sec == DH_ERROR) {
        return dh_conf_invalid_value(cf, cmd, &value[1]);
    }

    *sp = (time_t) sec;

    return dh_conf_post(cf, cmd, sp);
}


char *
dh_conf_set_enum_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_uint_t       *np, i;
    dh_str_t        *value;
    dh_conf_enum_t  *e;

    np = (dh_uint_t *) ((char *) conf + cmd->offset);

    if (*np != DH_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    e = cmd->post;

    for (i = 0; e[i].name.len != 0; i++) {
        if (e[i].name.len == value[1].len
            && dh_strcasecmp(e[i].name.data, value[1].data) == 0)
        {
            *np = e[i].value;
            return DH_CONF_OK;
        }
    }

    return dh_conf_invalid_value(cf, cmd, &value[1]);
}


char *
dh_conf_set_bitmask_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_uint_t          *np, i, m;
    dh_str_t           *value;
    dh_conf_bitmask_t  *mask;

    np = (dh_uint_t *) ((char *) conf + cmd->offset);

    /* an unset bitmask is 0 (see dh_conf_merge_bitmask_value) */
    if (*np != 0) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mask = cmd->post;

    for (i = 1; i < cf->args->nelts; i++) {
        for (m = 0; mask[m].name.len != 0; m++) {
            if (mask[m].name.len == value[i].len
                && dh_strcasecmp(mask[m].name.data, value[i].data) == 0)
            {
                break;
            }
        }

        if (mask[m].name.len == 0) {
            return dh_conf_invalid_value(cf, cmd, &value[i]);
        }

        if (*np & mask[m].mask) {
            dh_conf_log_error(DH_LOG_WARN, cf, 0,
                              "duplicate value \"%s\" in \"%s\" directive",
                              value[i].data, cmd->name.data);
        }

        *np |= mask[m].mask;
    }

    return DH_CONF_OK;
}


/* A dh_str_t made absolute against the prefix (-p), NUL-terminated. */
char *
dh_conf_set_path_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_str_t  *field, *value;

    field = (dh_str_t *) ((char *) conf + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *field = value[1];

    if (dh_conf_full_name(cf->cycle, field, 0) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return dh_conf_post(cf, cmd, field);
}


char *
dh_conf_check_num_bounds(dh_conf_t *cf, void *post, void *data)
{
    dh_int_t              *np;
    dh_str_t              *value;
    dh_conf_num_bounds_t  *bounds;

    bounds = post;
    np = data;
    value = cf->args->elts;

    if (bounds->high == -1) {
        if (*np >= bounds->low) {
            return DH_CONF_OK;
        }

        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid value \"%s\" in \"%s\" directive, "
                          "it must be %ld or more", value[1].data,
                          value[0].data, (long) bounds->low);
        return DH_CONF_ERROR;
    }

    if (*np >= bounds->low && *np <= bounds->high) {
        return DH_CONF_OK;
    }

    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "invalid value \"%s\" in \"%s\" directive, "
                      "it must be between %ld and %ld", value[1].data,
                      value[0].data, (long) bounds->low, (long) bounds->high);

    return DH_CONF_ERROR;
}
