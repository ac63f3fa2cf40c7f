/*
 * HTTP variables and complex values.
 *
 * Every variable a configuration names is given an index at configuration
 * time (dh_http_get_variable_index), so a request finds a value in O(1):
 * r->variables[index], an array allocated from the request pool the first
 * time a variable is read.  Values are computed lazily by get handlers and
 * cached unless the variable is not cacheable.
 *
 * A complex value is a string with $variables in it ("https://$host$uri"),
 * compiled into a list of literal and variable parts once, evaluated per
 * request by dh_http_complex_value().
 */

#ifndef DH_HTTP_VARIABLES_H
#define DH_HTTP_VARIABLES_H

#include "dh_http.h"

typedef struct {
    unsigned    len:28;
    unsigned    valid:1;
    unsigned    no_cacheable:1;
    unsigned    not_found:1;
    unsigned    escape:1;
    u_char     *data;
} dh_http_variable_value_t;

typedef struct dh_http_variable_s  dh_http_variable_t;

typedef dh_int_t (*dh_http_get_variable_pt)(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);

struct dh_http_variable_s {
    dh_str_t                  name;        /* without '$' */
    dh_http_get_variable_pt   get_handler;
    uintptr_t                 data;
    dh_uint_t                 flags;
    dh_uint_t                 index;
};

#define DH_HTTP_VAR_CHANGEABLE   1
#define DH_HTTP_VAR_NOCACHEABLE  2
#define DH_HTTP_VAR_PREFIX       4

/* Declares a variable (a module's preconfiguration).  Adding a name that
 * exists returns the existing one when DH_HTTP_VAR_CHANGEABLE is set, NULL
 * (logged) otherwise.  A PREFIX variable ("arg_") serves every name that
 * starts with it; its handler gets a dh_str_t * of the full name as data. */
dh_http_variable_t *dh_http_add_variable(dh_conf_t *cf, dh_str_t *name,
    dh_uint_t flags);

/* Index of a variable named in the configuration (name without '$').
 * Unknown names are checked once the whole http {} is read: an unknown
 * variable is an error at the file:line where it was first used. */
dh_int_t dh_http_get_variable_index(dh_conf_t *cf, dh_str_t *name);

/* The value of a variable for r (cached), or NULL on allocation failure.
 * A variable without a value has not_found set. */
dh_http_variable_value_t *dh_http_get_indexed_variable(dh_http_request_t *r,
    dh_uint_t index);
/* Same, but recomputes a value marked no_cacheable. */
dh_http_variable_value_t *dh_http_get_flushed_variable(dh_http_request_t *r,
    dh_uint_t index);

/* Looks a variable up by name at run time (lower-cased name, without '$');
 * for code that cannot know the name at configuration time. */
dh_http_variable_value_t *dh_http_get_variable(dh_http_request_t *r,
    dh_str_t *name);

typedef struct {
    dh_str_t      value;       /* the source text; the value when constant */
    dh_uint_t    *flushes;     /* indexes to flush, ending with -1; or NULL */
    void         *lengths;     /* dh_http_cv_part_t array; NULL: constant */
    void         *values;      /* number of parts, as (uintptr_t) */
} dh_http_complex_value_t;

typedef struct {
    dh_conf_t                 *cf;
    dh_str_t                  *value;
    dh_http_complex_value_t   *complex_value;
} dh_http_compile_complex_value_t;

dh_int_t dh_http_compile_complex_value(dh_http_compile_complex_value_t *ccv);
/* Evaluates val for r into value (request pool memory).  DH_OK/DH_ERROR. */
dh_int_t dh_http_complex_value(dh_http_request_t *r,
    dh_http_complex_value_t *val, dh_str_t *value);
/* Directive handler: one argument compiled into a
 * dh_http_complex_value_t * field at cmd->offset (NULL when unset). */
char *dh_http_set_complex_value_slot(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);

#if (DH_HAVE_PCRE2)

/* A regex of the configuration whose captures become variables: $1..$9
 * and one variable per named capture, (?<name>...). */
typedef struct {
    dh_uint_t                  capture;
    dh_int_t                   index;      /* of the variable */
} dh_http_regex_var_t;

typedef struct {
    dh_regex_t                *regex;
    dh_http_regex_var_t       *vars;
    dh_uint_t                  nvars;
    dh_str_t                   name;       /* the pattern, for logs */
} dh_http_regex_t;

/* Compiles rc->pattern; a bad regex is logged at the current file:line.
 * NULL on error. */
dh_http_regex_t *dh_http_regex_compile(dh_conf_t *cf, dh_regex_compile_t *rc);
/* DH_OK: matched (captures and named variables of r set); DH_DECLINED: no
 * match; DH_ERROR.  s must live as long as r (captures point into it). */
dh_int_t dh_http_regex_exec(dh_http_request_t *r, dh_http_regex_t *re,
    dh_str_t *s);

#endif

/* Called by the http module around the configuration. */
dh_int_t dh_http_variables_add_core_vars(dh_conf_t *cf);
dh_int_t dh_http_variables_init_vars(dh_conf_t *cf);

/* The request id (32 hex chars) of r, made on first use. */
dh_int_t dh_http_request_id(dh_http_request_t *r, dh_str_t *id);

#endif /* DH_HTTP_VARIABLES_H */
