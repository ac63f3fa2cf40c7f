/*
 * The http {} block: creates the configuration contexts of every HTTP
 * module, parses the block, merges server and location settings down the
 * tree, prepares the location lists, the phase engine and the request
 * header hash, and turns the listen addresses into listening sockets.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


static char *dh_http_block(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static dh_int_t dh_http_init_phases(dh_conf_t *cf,
    dh_http_core_main_conf_t *cmcf);
static dh_int_t dh_http_init_headers_in_hash(dh_conf_t *cf,
    dh_http_core_main_conf_t *cmcf);
static dh_int_t dh_http_init_phase_handlers(dh_conf_t *cf,
    dh_http_core_main_conf_t *cmcf);
static char *dh_http_merge_servers(dh_conf_t *cf,
    dh_http_core_main_conf_t *cmcf, dh_http_module_t *module,
    dh_uint_t ctx_index);
static char *dh_http_merge_locations(dh_conf_t *cf, dh_array_t *locations,
    void **loc_conf, dh_http_module_t *module, dh_uint_t ctx_index);
static dh_int_t dh_http_init_locations(dh_conf_t *cf,
    dh_http_core_loc_conf_t *pclcf);
static int dh_http_cmp_exact(const void *one, const void *two);
static int dh_http_cmp_prefix(const void *one, const void *two);
static dh_int_t dh_http_optimize_servers(dh_conf_t *cf,
    dh_http_core_main_conf_t *cmcf);
static dh_int_t dh_http_server_names(dh_conf_t *cf,
    dh_http_conf_addr_t *addr, dh_http_addr_conf_t *conf);
static dh_int_t dh_http_add_listening(dh_conf_t *cf, dh_http_conf_port_t *port,
    dh_http_conf_addr_t *addrs, dh_uint_t first, dh_uint_t last);


dh_uint_t   dh_http_max_module;

dh_http_output_header_filter_pt  dh_http_top_header_filter;
dh_http_output_body_filter_pt    dh_http_top_body_filter;

dh_str_t  dh_http_server_string = dh_string("divehttpd");
dh_str_t  dh_http_server_full_string = dh_string("divehttpd/" DH_VERSION);


static dh_command_t  dh_http_commands[] = {

    { dh_string("http"),
      DH_MAIN_CONF|DH_CONF_BLOCK|DH_CONF_NOARGS,
      dh_http_block,
      0,
      0,
      NULL },

      dh_null_command
};


static dh_core_module_t  dh_http_module_ctx = {
    dh_string("http"),
    NULL,
    NULL
};


dh_module_t  dh_http_module = {
    DH_MODULE_V1,
    &dh_http_module_ctx,                   /* module context */
    dh_http_commands,                      /* module directives */
    DH_CORE_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static char *
dh_http_block(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    char                        *rv;
    dh_uint_t                    m, mi, s;
    dh_conf_t                    pcf;
    dh_module_t                **modules;
    dh_http_module_t            *module;
    dh_http_conf_ctx_t          *ctx;
    dh_http_core_srv_conf_t    **cscfp;
    dh_http_core_loc_conf_t     *clcf;
    dh_http_core_main_conf_t    *cmcf;

    if (*(dh_http_conf_ctx_t **) conf) {
        return "is duplicate";
    }

    ctx = dh_pcalloc(cf->pool, sizeof(dh_http_conf_ctx_t));
    if (ctx == NULL) {
        return DH_CONF_ERROR;
    }

    *(dh_http_conf_ctx_t **) conf = ctx;

    dh_http_max_module = dh_count_modules(cf->cycle, DH_HTTP_MODULE);

    ctx->main_conf = dh_pcalloc(cf->pool,
                                sizeof(void *) * dh_http_max_module);
    ctx->srv_conf = dh_pcalloc(cf->pool,
                               sizeof(void *) * dh_http_max_module);
    ctx->loc_conf = dh_pcalloc(cf->pool,
                               sizeof(void *) * dh_http_max_module);

    if (ctx->main_conf == NULL || ctx->srv_conf == NULL
        || ctx->loc_conf == NULL)
    {
        return DH_CONF_ERROR;
    }

    modules = cf->cycle->modules;

    /* the http-level contexts: srv and loc confs here are the defaults
     * that every server and location inherits from */

    for (m = 0; modules[m]; m++) {
        if (modules[m]->type != DH_HTTP_MODULE) {
            continue;
        }

        module = modules[m]->ctx;
        mi = modules[m]->ctx_index;

        if (module->create_main_conf) {
            ctx->main_conf[mi] = module->create_main_conf(cf);
            if (ctx->main_conf[mi] == NULL) {
                return DH_CONF_ERROR;
            }
        }

        if (module->create_srv_conf) {
            ctx->srv_conf[mi] = module->create_srv_conf(cf);
            if (ctx->srv_conf[mi] == NULL) {
                return DH_CONF_ERROR;
            }
        }

        if (module->create_loc_conf) {
            ctx->loc_conf[mi] = module->create_loc_conf(cf);
            if (ctx->loc_conf[mi] == NULL) {
                return DH_CONF_ERROR;
            }
        }
    }

    pcf = *cf;
    cf->ctx = ctx;

    if (dh_http_variables_add_core_vars(cf) != DH_OK) {
        return DH_CONF_ERROR;
    }

    for (m = 0; modules[m]; m++) {
        if (modules[m]->type != DH_HTTP_MODULE) {
            continue;
        }

        module = modules[m]->ctx;

        if (module->preconfiguration) {
            if (module->preconfiguration(cf) != DH_OK) {
                return DH_CONF_ERROR;
            }
        }
    }

    cf->module_type = DH_HTTP_MODULE;
    cf->cmd_type = DH_HTTP_MAIN_CONF;
    rv = dh_conf_parse(cf, NULL);

    if (rv != DH_CONF_OK) {
        goto failed;
    }

    cmcf = ctx->main_conf[dh_http_core_module.ctx_index];
    cscfp = cmcf->servers.elts;

    for (m = 0; modules[m]; m++) {
        if (modules[m]->type != DH_HTTP_MODULE) {
            continue;
        }

        module = modules[m]->ctx;
        mi = modules[m]->ctx_index;

        if (module->init_main_conf) {
            rv = module->init_main_conf(cf, ctx->main_conf[mi]);
            if (rv != DH_CONF_OK) {
                goto failed;
            }
        }

        rv = dh_http_merge_servers(cf, cmcf, module, mi);
        if (rv != DH_CONF_OK) {
            goto failed;
        }
    }

    for (s = 0; s < cmcf->servers.nelts; s++) {
        clcf = cscfp[s]->ctx->loc_conf[dh_http_core_module.ctx_index];

        if (dh_http_init_locations(cf, clcf) != DH_OK) {
            return DH_CONF_ERROR;
        }
    }

    if (dh_http_init_phases(cf, cmcf) != DH_OK) {
        return DH_CONF_ERROR;
    }

    if (dh_http_init_headers_in_hash(cf, cmcf) != DH_OK) {
        return DH_CONF_ERROR;
    }

    for (m = 0; modules[m]; m++) {
        if (modules[m]->type != DH_HTTP_MODULE) {
            continue;
        }

        module = modules[m]->ctx;

        if (module->postconfiguration) {
            if (module->postconfiguration(cf) != DH_OK) {
                return DH_CONF_ERROR;
            }
        }
    }

    if (dh_http_variables_init_vars(cf) != DH_OK) {
        return DH_CONF_ERROR;
    }

    if (dh_http_init_phase_handlers(cf, cmcf) != DH_OK) {
        return DH_CONF_ERROR;
    }

    *cf = pcf;

    if (dh_http_optimize_servers(cf, cmcf) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;

failed:

    *cf = pcf;

    return rv;
}


static dh_int_t
dh_http_init_phases(dh_conf_t *cf, dh_http_core_main_conf_t *cmcf)
{
    dh_uint_t  i;

    for (i = 0; i <= DH_HTTP_LOG_PHASE; i++) {
        if (dh_array_init(&cmcf->phases[i].handlers, cf->pool, 2,
                          sizeof(dh_http_handler_pt))
            != DH_OK)
        {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


static dh_int_t
dh_http_init_headers_in_hash(dh_conf_t *cf, dh_http_core_main_conf_t *cmcf)
{
    dh_http_header_t  *header;
    dh_hash_init_t     hk;

    if (dh_hash_keys_init(&hk, cf->pool, 16, 1) != DH_OK) {
        return DH_ERROR;
    }

    for (header = dh_http_headers_in; header->name.len; header++) {
        if (dh_hash_add_key(&hk, &header->name, header) != DH_OK) {
            return DH_ERROR;
        }
    }

    return dh_hash_build(&cmcf->headers_in_hash, &hk);
}


/*
 * Flattens the registered handlers into one array: each entry carries its
 * phase's checker and the index of the next phase's first handler.
 * FIND_CONFIG has one entry of the core's own; handlers in a phase run in
 * the reverse order of registration (the last module registered first).
 */
static dh_int_t
dh_http_init_phase_handlers(dh_conf_t *cf, dh_http_core_main_conf_t *cmcf)
{
    dh_int_t                   j;
    dh_uint_t                  i, n;
    dh_http_handler_pt        *h;
    dh_http_phase_handler_t   *ph;
    dh_http_phase_handler_pt   checker;

    n = 1;                                  /* find config */

    for (i = 0; i < DH_HTTP_LOG_PHASE; i++) {
        n += cmcf->phases[i].handlers.nelts;
    }

    ph = dh_pcalloc(cf->pool, sizeof(dh_http_phase_handler_t) * (n + 1));
    if (ph == NULL) {
        return DH_ERROR;
    }

    cmcf->phase_engine.handlers = ph;
    cmcf->phase_engine.server_rewrite_index = (dh_uint_t) -1;
    cmcf->phase_engine.location_rewrite_index = (dh_uint_t) -1;
    n = 0;

    for (i = 0; i < DH_HTTP_LOG_PHASE; i++) {
        h = cmcf->phases[i].handlers.elts;

        switch (i) {

        case DH_HTTP_SERVER_REWRITE_PHASE:
            if (cmcf->phase_engine.server_rewrite_index == (dh_uint_t) -1) {
                cmcf->phase_engine.server_rewrite_index = n;
            }
            checker = dh_http_core_generic_phase;
            break;

        case DH_HTTP_FIND_CONFIG_PHASE:
            ph->checker = dh_http_core_find_config_phase;
            ph->next = ++n;
            ph++;
            continue;

        case DH_HTTP_REWRITE_PHASE:
            if (cmcf->phase_engine.location_rewrite_index == (dh_uint_t) -1)
            {
                cmcf->phase_engine.location_rewrite_index = n;
            }
            checker = dh_http_core_generic_phase;
            break;

        case DH_HTTP_ACCESS_PHASE:
            checker = dh_http_core_access_phase;
            break;

        case DH_HTTP_CONTENT_PHASE:
            checker = dh_http_core_content_phase;
            break;

        default:
            checker = dh_http_core_generic_phase;
        }

        n += cmcf->phases[i].handlers.nelts;

        for (j = (dh_int_t) cmcf->phases[i].handlers.nelts - 1; j >= 0; j--)
        {
            ph->checker = checker;
            ph->handler = h[j];
            ph->next = n;
            ph++;
        }
    }

    /* the content phase may be empty: its checker must still run, so the
     * request gets a 404 rather than falling off the end */
    if (cmcf->phases[DH_HTTP_CONTENT_PHASE].handlers.nelts == 0) {
        dh_log_error(DH_LOG_EMERG, cf->log, 0, "no HTTP content handler");
        return DH_ERROR;
    }

    return DH_OK;
}


static char *
dh_http_merge_servers(dh_conf_t *cf, dh_http_core_main_conf_t *cmcf,
    dh_http_module_t *module, dh_uint_t ctx_index)
{
    char                        *rv;
    dh_uint_t                    s;
    dh_http_conf_ctx_t          *ctx, saved;
    dh_http_core_loc_conf_t     *clcf;
    dh_http_core_srv_conf_t    **cscfp;

    cscfp = cmcf->servers.elts;
    ctx = (dh_http_conf_ctx_t *) cf->ctx;
    saved = *ctx;
    rv = DH_CONF_OK;

    for (s = 0; s < cmcf->servers.nelts; s++) {

        /* a merge hook may look at the conf arrays of this server */
        ctx->srv_conf = cscfp[s]->ctx->srv_conf;

        if (module->merge_srv_conf) {
            rv = module->merge_srv_conf(cf, saved.srv_conf[ctx_index],
                                        cscfp[s]->ctx->srv_conf[ctx_index]);
            if (rv != DH_CONF_OK) {
                goto done;
            }
        }

        if (module->merge_loc_conf) {
            ctx->loc_conf = cscfp[s]->ctx->loc_conf;

            rv = module->merge_loc_conf(cf, saved.loc_conf[ctx_index],
                                        cscfp[s]->ctx->loc_conf[ctx_index]);
            if (rv != DH_CONF_OK) {
                goto done;
            }

            clcf = cscfp[s]->ctx->loc_conf[dh_http_core_module.ctx_index];

            rv = dh_http_merge_locations(cf, clcf->locations,
                                         cscfp[s]->ctx->loc_conf,
                                         module, ctx_index);
            if (rv != DH_CONF_OK) {
                goto done;
            }
        }
    }

done:

    *ctx = saved;

    return rv;
}


static char *
dh_http_merge_locations(dh_conf_t *cf, dh_array_t *locations,
    void **loc_conf, dh_http_module_t *module, dh_uint_t ctx_index)
{
    char                       *rv;
    dh_uint_t                   i;
    dh_http_conf_ctx_t         *ctx, saved;
    dh_http_core_loc_conf_t   **clcfp;

    if (locations == NULL) {
        return DH_CONF_OK;
    }

    ctx = (dh_http_conf_ctx_t *) cf->ctx;
    saved = *ctx;
    clcfp = locations->elts;

    for (i = 0; i < locations->nelts; i++) {
        ctx->loc_conf = clcfp[i]->loc_conf;

        rv = module->merge_loc_conf(cf, loc_conf[ctx_index],
                                    clcfp[i]->loc_conf[ctx_index]);
        if (rv != DH_CONF_OK) {
            return rv;
        }

        rv = dh_http_merge_locations(cf, clcfp[i]->locations,
                                     clcfp[i]->loc_conf, module, ctx_index);
        if (rv != DH_CONF_OK) {
            return rv;
        }
    }

    *ctx = saved;

    return DH_CONF_OK;
}


/*
 * Splits the children of a location (or server) into the exact ones,
 * sorted by name for a binary search, and the prefix ones, longest first
 * so the first match is the longest.  Regex locations are a third
 * list, tried in written order after the prefix search; named ones a
 * fourth, which only dh_http_named_location() looks at.
 */
static dh_int_t
dh_http_init_locations(dh_conf_t *cf, dh_http_core_loc_conf_t *pclcf)
{
    dh_uint_t                   i, ne, np, nr, nn;
    dh_http_core_loc_conf_t   **clcfp, *clcf;

    if (pclcf->locations == NULL) {
        return DH_OK;
    }

    clcfp = pclcf->locations->elts;
    ne = 0;
    np = 0;
    nr = 0;
    nn = 0;

    for (i = 0; i < pclcf->locations->nelts; i++) {
        if (clcfp[i]->named) {
            nn++;
        } else if (clcfp[i]->exact_match) {
            ne++;
        } else if (clcfp[i]->regex) {
            nr++;
        } else {
            np++;
        }
    }

    if (nr) {
        pclcf->regex_locations = dh_palloc(cf->pool, nr * sizeof(void *));
        if (pclcf->regex_locations == NULL) {
            return DH_ERROR;
        }
    }

    if (ne) {
        pclcf->exact_locations = dh_palloc(cf->pool, ne * sizeof(void *));
        if (pclcf->exact_locations == NULL) {
            return DH_ERROR;
        }
    }

    if (np) {
        pclcf->prefix_locations = dh_palloc(cf->pool, np * sizeof(void *));
        if (pclcf->prefix_locations == NULL) {
            return DH_ERROR;
        }
    }

    if (nn) {
        pclcf->named_locations = dh_palloc(cf->pool, nn * sizeof(void *));
        if (pclcf->named_locations == NULL) {
            return DH_ERROR;
        }
    }

    for (i = 0; i < pclcf->locations->nelts; i++) {
        clcf = clcfp[i];

        if (clcf->named) {
            pclcf->named_locations[pclcf->nnamed++] = clcf;
        } else if (clcf->exact_match) {
            pclcf->exact_locations[pclcf->nexact++] = clcf;
        } else if (clcf->regex) {
            pclcf->regex_locations[pclcf->nregex++] = clcf;
        } else {
            pclcf->prefix_locations[pclcf->nprefix++] = clcf;
        }

        if (dh_http_init_locations(cf, clcf) != DH_OK) {
            return DH_ERROR;
        }
    }

    if (ne) {
        qsort(pclcf->exact_locations, ne, sizeof(void *), dh_http_cmp_exact);
    }

    if (np) {
        qsort(pclcf->prefix_locations, np, sizeof(void *),
              dh_http_cmp_prefix);
    }

    return DH_OK;
}


static int
dh_http_cmp_names(dh_str_t *a, dh_str_t *b)
{
    int  rc;

    rc = dh_memcmp(a->data, b->data, dh_min(a->len, b->len));

    if (rc != 0) {
        return rc;
    }

    return (a->len > b->len) - (a->len < b->len);
}


static int
dh_http_cmp_exact(const void *one, const void *two)
{
    dh_http_core_loc_conf_t  *a, *b;

    a = *(dh_http_core_loc_conf_t **) one;
    b = *(dh_http_core_loc_conf_t **) two;

    return dh_http_cmp_names(&a->name, &b->name);
}


static int
dh_http_cmp_prefix(const void *one, const void *two)
{
    dh_http_core_loc_conf_t  *a, *b;

    a = *(dh_http_core_loc_conf_t **) one;
    b = *(dh_http_core_loc_conf_t **) two;

    if (a->name.len != b->name.len) {
        return (a->name.len < b->name.len) ? 1 : -1;
    }

    return dh_http_cmp_names(&a->name, &b->name);
}


/* ---- listen ---------------------------------------------------------- */

dh_int_t
dh_http_add_listen(dh_conf_t *cf, dh_http_core_srv_conf_t *cscf,
    dh_http_listen_opt_t *lsopt)
{
    in_port_t                   p;
    dh_uint_t                   i, a;
    dh_http_conf_port_t        *port;
    dh_http_conf_addr_t        *addr;
    dh_http_core_srv_conf_t   **server;
    dh_http_core_main_conf_t   *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    if (cmcf->ports == NULL) {
        cmcf->ports = dh_array_create(cf->temp_pool, 2,
                                      sizeof(dh_http_conf_port_t));
        if (cmcf->ports == NULL) {
            return DH_ERROR;
        }
    }

    p = dh_inet_get_port(&lsopt->sockaddr.sockaddr);
    port = cmcf->ports->elts;

    for (i = 0; i < cmcf->ports->nelts; i++) {
        if (port[i].port == p
            && port[i].family == lsopt->sockaddr.sockaddr.sa_family)
        {
            break;
        }
    }

    if (i == cmcf->ports->nelts) {
        port = dh_array_push(cmcf->ports);
        if (port == NULL) {
            return DH_ERROR;
        }

        port->family = lsopt->sockaddr.sockaddr.sa_family;
        port->port = p;

        if (dh_array_init(&port->addrs, cf->temp_pool, 2,
                          sizeof(dh_http_conf_addr_t))
            != DH_OK)
        {
            return DH_ERROR;
        }

    } else {
        port = &port[i];
    }

    addr = port->addrs.elts;

    for (a = 0; a < port->addrs.nelts; a++) {
        if (dh_cmp_sockaddr(&lsopt->sockaddr.sockaddr, lsopt->socklen,
                            &addr[a].opt.sockaddr.sockaddr,
                            addr[a].opt.socklen, 0)
            == DH_OK)
        {
            break;
        }
    }

    if (a == port->addrs.nelts) {
        addr = dh_array_push(&port->addrs);
        if (addr == NULL) {
            return DH_ERROR;
        }

        addr->opt = *lsopt;
        addr->default_server = cscf;

        if (dh_array_init(&addr->servers, cf->temp_pool, 2, sizeof(void *))
            != DH_OK)
        {
            return DH_ERROR;
        }

    } else {
        addr = &addr[a];

        /* socket options belong to the socket: only one listen may set
         * them, and the default_server one wins the default */
        if (lsopt->set && addr->opt.set) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "duplicate listen options for %.*s",
                              DH_STR_FMT(lsopt->addr_text));
            return DH_ERROR;
        }

        if (lsopt->default_server) {
            if (addr->opt.default_server) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "a duplicate default server for %.*s",
                                  DH_STR_FMT(lsopt->addr_text));
                return DH_ERROR;
            }

            addr->default_server = cscf;
        }

        if (lsopt->set) {
            addr->opt.set = 1;
            addr->opt.backlog = lsopt->backlog;
            addr->opt.reuseport = lsopt->reuseport;
        }

        addr->opt.default_server |= lsopt->default_server;
        /* one "ssl" makes the whole address a TLS one */
        addr->opt.ssl |= lsopt->ssl;
    }

    server = addr->servers.elts;

    for (i = 0; i < addr->servers.nelts; i++) {
        if (server[i] == cscf) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "a duplicate listen %.*s",
                              DH_STR_FMT(lsopt->addr_text));
            return DH_ERROR;
        }
    }

    server = dh_array_push(&addr->servers);
    if (server == NULL) {
        return DH_ERROR;
    }

    *server = cscf;

    return DH_OK;
}


static int
dh_http_cmp_conf_addrs(const void *one, const void *two)
{
    dh_http_conf_addr_t  *a, *b;

    a = (dh_http_conf_addr_t *) one;
    b = (dh_http_conf_addr_t *) two;

    /* the wildcard address goes last: it is the fallback of its port */
    return (int) a->opt.wildcard - (int) b->opt.wildcard;
}


/*
 * One listening socket per address and port.  When a port has a wildcard
 * address, Linux refuses to bind the other addresses of that port beside
 * it, so the wildcard socket serves them all and the connection's local
 * address picks the servers.
 */
static dh_int_t
dh_http_optimize_servers(dh_conf_t *cf, dh_http_core_main_conf_t *cmcf)
{
    dh_uint_t              p, a, n;
    dh_http_conf_port_t   *port;
    dh_http_conf_addr_t   *addr;

    if (cmcf->ports == NULL) {
        return DH_OK;
    }

    port = cmcf->ports->elts;

    for (p = 0; p < cmcf->ports->nelts; p++) {

        qsort(port[p].addrs.elts, port[p].addrs.nelts,
              sizeof(dh_http_conf_addr_t), dh_http_cmp_conf_addrs);

        addr = port[p].addrs.elts;
        n = port[p].addrs.nelts;

        if (addr[n - 1].opt.wildcard) {
            if (dh_http_add_listening(cf, &port[p], addr, 0, n) != DH_OK) {
                return DH_ERROR;
            }
            continue;
        }

        for (a = 0; a < n; a++) {
            if (dh_http_add_listening(cf, &port[p], addr, a, a + 1)
                != DH_OK)
            {
                return DH_ERROR;
            }
        }
    }

    return DH_OK;
}


static dh_int_t
dh_http_add_listening(dh_conf_t *cf, dh_http_conf_port_t *port,
    dh_http_conf_addr_t *addrs, dh_uint_t first, dh_uint_t last)
{
    dh_int_t             workers;
    dh_uint_t            i;
    dh_core_conf_t      *ccf;
    dh_listening_t      *ls;
    dh_http_port_t      *hport;
    dh_http_in_addr_t   *in;
    dh_http_conf_addr_t *bind;

    /* the socket is bound to the last address: the wildcard one when
     * there is one, or the single address */
    bind = &addrs[last - 1];

    ls = dh_create_listening(cf, &bind->opt.sockaddr.sockaddr,
                             bind->opt.socklen);
    if (ls == NULL) {
        return DH_ERROR;
    }

    hport = dh_palloc(cf->pool, sizeof(dh_http_port_t));
    in = dh_pcalloc(cf->pool, (last - first) * sizeof(dh_http_in_addr_t));

    if (hport == NULL || in == NULL) {
        return DH_ERROR;
    }

    hport->addrs = in;
    hport->naddrs = last - first;

    for (i = first; i < last; i++, in++) {
        in->sockaddr = addrs[i].opt.sockaddr;
        in->socklen = addrs[i].opt.socklen;
        in->conf.default_server = addrs[i].default_server;
        in->conf.ssl = addrs[i].opt.ssl;

        if (dh_http_server_names(cf, &addrs[i], &in->conf) != DH_OK) {
            return DH_ERROR;
        }

        if (addrs[i].opt.set && i != last - 1) {
            dh_conf_log_error(DH_LOG_WARN, cf, 0,
                              "listen options of %.*s are ignored: the "
                              "wildcard socket of its port serves it",
                              DH_STR_FMT(addrs[i].opt.addr_text));
        }
    }

    ls->handler = dh_http_init_connection;
    ls->servers = hport;
    ls->pool_size = 64 * sizeof(void *);

    if (bind->opt.backlog) {
        ls->backlog = bind->opt.backlog;
    }

    ls->reuseport = bind->opt.reuseport;

    if (!ls->reuseport) {
        return DH_OK;
    }

    /* one socket per worker: the kernel spreads connections among them.
     * worker_processes must come before http {} to count here, as in
     * nginx; when it was not given it is 1 */
    ccf = (dh_core_conf_t *) dh_get_conf(cf->cycle->conf_ctx,
                                         dh_core_module);
    workers = 1;

    if (ccf && ccf->worker_processes != DH_CONF_UNSET
        && ccf->worker_processes > 0)
    {
        workers = ccf->worker_processes;
    }

    return dh_clone_listening(cf->cycle, ls, (dh_uint_t) workers);
}


/* Sorts wildcard names longest first, so the first match is the longest;
 * an insertion sort, stable, so of equal names the first written wins. */
static void
dh_http_sort_stable(dh_http_server_name_t *sn, dh_uint_t n)
{
    dh_uint_t              i, j;
    dh_http_server_name_t  t;

    for (i = 1; i < n; i++) {
        t = sn[i];

        for (j = i; j > 0 && sn[j - 1].name.len < t.name.len; j--) {
            sn[j] = sn[j - 1];
        }

        sn[j] = t;
    }
}


/* Adds a wildcard or regex name of cscf to vn (arrays sized by the
 * caller).  *re walks cscf->name_regexes in step with the "~" names. */
static void
dh_http_server_name_special(dh_http_virtual_names_t *vn, dh_str_t *name,
    dh_http_core_srv_conf_t *cscf, dh_uint_t *re)
{
    dh_http_server_name_t  *sn;

    if (name->data[0] == '~') {
#if (DH_HAVE_PCRE2)
        dh_http_regex_t  **rep;

        rep = cscf->name_regexes->elts;
        sn = &vn->regex[vn->nregex++];
        sn->name = *name;
        sn->server = cscf;
        sn->dot = 0;
        sn->regex = rep[(*re)++];
#endif
        return;
    }

    if (name->data[0] == '*' || name->data[0] == '.') {
        sn = &vn->lwc[vn->nlwc++];
        sn->dot = (name->data[0] == '.');
        sn->name.data = name->data + (sn->dot ? 0 : 1);
        sn->name.len = name->len - (sn->dot ? 0 : 1);

    } else {
        sn = &vn->twc[vn->ntwc++];
        sn->dot = 0;
        sn->name.data = name->data;
        sn->name.len = name->len - 1;
    }

    sn->server = cscf;
#if (DH_HAVE_PCRE2)
    sn->regex = NULL;
#endif
}


static dh_uint_t
dh_http_server_name_kind(dh_str_t *name)
{
    if (name->data[0] == '~') {
        return 3;
    }

    if (name->data[0] == '*' || name->data[0] == '.') {
        return 1;
    }

    if (name->data[name->len - 1] == '*') {
        return 2;
    }

    return 0;
}


/* The server names of one address: a hash of the exact names and lists of
 * the wildcard and regex ones.  An exact name served twice on the same
 * address keeps its first server, like nginx (with a warning). */
static dh_int_t
dh_http_server_names(dh_conf_t *cf, dh_http_conf_addr_t *addr,
    dh_http_addr_conf_t *conf)
{
    dh_int_t                   rc;
    dh_uint_t                  s, n, count, nspecial[4], re;
    dh_str_t                  *name;
    dh_hash_init_t             hk;
    dh_http_virtual_names_t   *vn;
    dh_http_core_srv_conf_t  **cscfp;

    cscfp = addr->servers.elts;
    count = 0;
    dh_memzero(nspecial, sizeof(nspecial));

    for (s = 0; s < addr->servers.nelts; s++) {
        name = cscfp[s]->server_names.elts;

        for (n = 0; n < cscfp[s]->server_names.nelts; n++) {
            if (name[n].len) {
                nspecial[dh_http_server_name_kind(&name[n])]++;
            }
        }

        count += cscfp[s]->server_names.nelts;
    }

    if (count == 0) {
        conf->virtual_names = NULL;
        return DH_OK;
    }

    vn = dh_pcalloc(cf->pool, sizeof(dh_http_virtual_names_t));
    if (vn == NULL) {
        return DH_ERROR;
    }

    vn->lwc = dh_palloc(cf->pool, (nspecial[1] + 1)
                                  * sizeof(dh_http_server_name_t));
    vn->twc = dh_palloc(cf->pool, (nspecial[2] + 1)
                                  * sizeof(dh_http_server_name_t));
    vn->regex = dh_palloc(cf->pool, (nspecial[3] + 1)
                                    * sizeof(dh_http_server_name_t));
    if (vn->lwc == NULL || vn->twc == NULL || vn->regex == NULL) {
        return DH_ERROR;
    }

    if (dh_hash_keys_init(&hk, cf->pool, count, 1) != DH_OK) {
        return DH_ERROR;
    }

    for (s = 0; s < addr->servers.nelts; s++) {
        name = cscfp[s]->server_names.elts;
        re = 0;

        for (n = 0; n < cscfp[s]->server_names.nelts; n++) {
            if (name[n].len == 0) {
                continue;                   /* server_name "" */
            }

            if (dh_http_server_name_kind(&name[n])) {
                dh_http_server_name_special(vn, &name[n], cscfp[s], &re);
                continue;
            }

            rc = dh_hash_add_key(&hk, &name[n], cscfp[s]);

            if (rc == DH_ERROR) {
                return DH_ERROR;
            }

            if (rc == DH_BUSY) {
                dh_conf_log_error(DH_LOG_WARN, cf, 0,
                                  "conflicting server name \"%.*s\" on "
                                  "%.*s, ignored", DH_STR_FMT(name[n]),
                                  DH_STR_FMT(addr->opt.addr_text));
            }
        }
    }

    /* stable order matters for equal lengths: the first server wins */
    dh_http_sort_stable(vn->lwc, vn->nlwc);
    dh_http_sort_stable(vn->twc, vn->ntwc);

    vn->nnames = count;

    if (dh_hash_build(&vn->names, &hk) != DH_OK) {
        return DH_ERROR;
    }

    conf->virtual_names = vn;

    return DH_OK;
}


dh_http_core_srv_conf_t *
dh_http_find_virtual_server(dh_http_request_t *r, dh_http_virtual_names_t *vn,
    dh_str_t *host)
{
    dh_uint_t                 i;
    dh_http_server_name_t    *sn;
    dh_http_core_srv_conf_t  *cscf;

    cscf = dh_hash_find(&vn->names, dh_hash_key(host->data, host->len),
                        host->data, host->len);
    if (cscf) {
        return cscf;
    }

    for (i = 0; i < vn->nlwc; i++) {
        sn = &vn->lwc[i];

        if ((host->len > sn->name.len
             && dh_memcmp(host->data + host->len - sn->name.len,
                          sn->name.data, sn->name.len) == 0)
            || (sn->dot && host->len == sn->name.len - 1
                && dh_memcmp(host->data, sn->name.data + 1, host->len) == 0))
        {
            return sn->server;
        }
    }

    for (i = 0; i < vn->ntwc; i++) {
        sn = &vn->twc[i];

        if (host->len > sn->name.len
            && dh_memcmp(host->data, sn->name.data, sn->name.len) == 0)
        {
            return sn->server;
        }
    }

#if (DH_HAVE_PCRE2)
    /* r is NULL for the TLS SNI lookup, before any request exists:
     * regex names (which set captures on the request) are left to the
     * Host header then */
    for (i = 0; r != NULL && i < vn->nregex; i++) {
        sn = &vn->regex[i];

        switch (dh_http_regex_exec(r, sn->regex, host)) {

        case DH_OK:
            return sn->server;

        case DH_DECLINED:
            continue;

        default:
            return NULL;
        }
    }
#endif

    return NULL;
}


/* ---- output entry points -------------------------------------------- */

dh_int_t
dh_http_send_header(dh_http_request_t *r)
{
    if (r->header_sent) {
        dh_log_error(DH_LOG_ALERT, r->connection->log, 0,
                     "header already sent");
        return DH_ERROR;
    }

    if (r->err_status) {
        r->headers_out.status = r->err_status;
        r->headers_out.status_line.len = 0;
    }

    return dh_http_top_header_filter(r);
}


dh_int_t
dh_http_output_filter(dh_http_request_t *r, dh_chain_t *in)
{
    dh_int_t  rc;

    rc = dh_http_top_body_filter(r, in);

    if (rc == DH_ERROR) {
        r->connection->error = 1;
    }

    return rc;
}
