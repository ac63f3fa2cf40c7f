/*
 * The module table.  objs/dh_modules.c lists the compiled-in modules; this
 * file numbers them and copies the list into each cycle, so a later
 * feature (dynamic modules) can give a cycle its own list without touching
 * the static one.
 */

#include "dh_config.h"
#include "dh_core.h"


dh_uint_t  dh_max_module;


dh_int_t
dh_preinit_modules(void)
{
    dh_uint_t  i;

    for (i = 0; dh_modules[i]; i++) {
        dh_modules[i]->index = i;
        dh_modules[i]->name = dh_module_names[i];
    }

    dh_max_module = i;

    return DH_OK;
}


dh_int_t
dh_cycle_modules(dh_cycle_t *cycle)
{
    /* one spare NULL slot: loops over cycle->modules stop on it */
    cycle->modules = dh_pcalloc(cycle->pool,
                                (dh_max_module + 1) * sizeof(dh_module_t *));
    if (cycle->modules == NULL) {
        return DH_ERROR;
    }

    dh_memcpy(cycle->modules, dh_modules,
              dh_max_module * sizeof(dh_module_t *));

    cycle->modules_n = dh_max_module;

    return DH_OK;
}


dh_int_t
dh_init_modules(dh_cycle_t *cycle)
{
    dh_uint_t  i;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->init_module == NULL) {
            continue;
        }

        if (cycle->modules[i]->init_module(cycle) != DH_OK) {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


dh_int_t
dh_count_modules(dh_cycle_t *cycle, dh_uint_t type)
{
    dh_uint_t     i, n;
    dh_module_t  *module;

    n = 0;

    for (i = 0; cycle->modules[i]; i++) {
        module = cycle->modules[i];

        if (module->type != type) {
            continue;
        }

        /* the table order is fixed at build time, so every cycle assigns
         * the same ctx_index and configurations stay comparable */
        module->ctx_index = n++;
    }

    return (dh_int_t) n;
}


dh_uint_t
dh_module_built(const char *name)
{
    dh_uint_t  i;

    for (i = 0; dh_module_names[i]; i++) {
        if (strcmp(dh_module_names[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}
