#include "dh_config.h"
#include "dh_core.h"


static dh_int_t dh_shm_init_zone_pool(dh_cycle_t *cycle, dh_shm_zone_t *zn);
static dh_shm_zone_t *dh_shm_find_zone(dh_cycle_t *cycle, dh_str_t *name);


dh_int_t
dh_shm_alloc(dh_shm_t *shm)
{
    void  *p;

    p = mmap(NULL, shm->size, PROT_READ|PROT_WRITE, MAP_ANONYMOUS|MAP_SHARED,
             -1, 0);

    if (p == MAP_FAILED) {
        if (shm->log != NULL) {
            dh_log_error(DH_LOG_ALERT, shm->log, dh_errno,
                         "mmap(MAP_ANONYMOUS|MAP_SHARED, %zu) failed",
                         shm->size);
        }
        return DH_ERROR;
    }

    shm->addr = p;

    return DH_OK;
}


void
dh_shm_free(dh_shm_t *shm)
{
    if (shm->addr == NULL) {
        return;
    }

    if (munmap(shm->addr, shm->size) == -1 && shm->log != NULL) {
        dh_log_error(DH_LOG_ALERT, shm->log, dh_errno,
                     "munmap(%p, %zu) failed", (void *) shm->addr, shm->size);
    }

    shm->addr = NULL;
}


dh_shm_zone_t *
dh_shared_memory_add(dh_conf_t *cf, dh_str_t *name, size_t size, void *tag)
{
    u_char         *p;
    dh_shm_zone_t  *zone;

    zone = dh_shm_find_zone(cf->cycle, name);

    if (zone != NULL) {

        if (zone->tag != tag) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "the shared memory zone \"%.*s\" is "
                              "already declared for a different use",
                              DH_STR_FMT(zone->shm.name));
            return NULL;
        }

        if (zone->shm.size == 0) {
            zone->shm.size = size;
        }

        if (size && size != zone->shm.size) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "the size %zu of shared memory zone \"%.*s\" "
                              "conflicts with already declared size %zu",
                              size, DH_STR_FMT(zone->shm.name),
                              zone->shm.size);
            return NULL;
        }

        return zone;
    }

    /* the name usually points into the parser's argument array */
    p = dh_pstrdup(cf->cycle->pool, name);
    if (p == NULL) {
        return NULL;
    }

    zone = dh_list_push(&cf->cycle->shared_memory);
    if (zone == NULL) {
        return NULL;
    }

    dh_memzero(zone, sizeof(dh_shm_zone_t));

    zone->shm.log = cf->cycle->log;
    zone->shm.size = size;
    zone->shm.name.len = name->len;
    zone->shm.name.data = p;
    zone->tag = tag;

    return zone;
}


static dh_shm_zone_t *
dh_shm_find_zone(dh_cycle_t *cycle, dh_str_t *name)
{
    dh_uint_t        i;
    dh_shm_zone_t   *zone;
    dh_list_part_t  *part;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].shm.name.len == name->len
            && dh_memcmp(zone[i].shm.name.data, name->data, name->len) == 0)
        {
            return &zone[i];
        }
    }
}


/*
 * Decision on resized zones: a zone whose size (or owner) changed gets a
 * fresh mapping and init(zone, NULL), never the old data.  The old data
 * holds pointers into the old mapping, which is unmapped once the new
 * cycle is committed, so handing it over would only invite dangling
 * pointers.  Its contents are lost, as an admin who resizes a zone
 * expects.
 */
dh_int_t
dh_shm_init_cycle_zones(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    dh_uint_t        i;
    dh_shm_zone_t   *zone, *old;
    dh_list_part_t  *part;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].shm.size == 0) {
            dh_log_error(DH_LOG_EMERG, cycle->log, 0,
                         "zero size shared memory zone \"%.*s\"",
                         DH_STR_FMT(zone[i].shm.name));
            goto failed;
        }

        /* declared but nobody uses it: nothing to map */
        if (zone[i].init == NULL) {
            continue;
        }

        zone[i].shm.log = cycle->log;
        zone[i].shm.exists = 0;

        old = NULL;

        if (old_cycle != NULL && !zone[i].noreuse) {
            old = dh_shm_find_zone(old_cycle, &zone[i].shm.name);
        }

        if (old != NULL && old->shm.addr != NULL
            && old->tag == zone[i].tag && old->shm.size == zone[i].shm.size
            && !old->noreuse)
        {
            zone[i].shm.addr = old->shm.addr;
            zone[i].shm.exists = 1;

            if (zone[i].init(&zone[i], old->data) != DH_OK) {
                goto failed;
            }

            continue;
        }

        if (dh_shm_alloc(&zone[i].shm) != DH_OK) {
            goto failed;
        }

        if (dh_shm_init_zone_pool(cycle, &zone[i]) != DH_OK) {
            goto failed;
        }

        if (zone[i].init(&zone[i], NULL) != DH_OK) {
            goto failed;
        }
    }

    return DH_OK;

failed:

    dh_shm_free_cycle_zones(cycle);

    return DH_ERROR;
}


static dh_int_t
dh_shm_init_zone_pool(dh_cycle_t *cycle, dh_shm_zone_t *zn)
{
    u_char          *ctx;
    size_t           len;
    dh_slab_pool_t  *sp;

    if (zn->shm.size < sizeof(dh_slab_pool_t)) {
        dh_log_error(DH_LOG_EMERG, cycle->log, 0,
                     "shared memory zone \"%.*s\" is too small",
                     DH_STR_FMT(zn->shm.name));
        return DH_ERROR;
    }

    sp = (dh_slab_pool_t *) zn->shm.addr;

    sp->end = zn->shm.addr + zn->shm.size;
    sp->min_shift = 3;
    sp->addr = zn->shm.addr;

    dh_slab_init(sp);

    if (sp->npages == 0) {
        dh_log_error(DH_LOG_EMERG, cycle->log, 0,
                     "shared memory zone \"%.*s\" is too small",
                     DH_STR_FMT(zn->shm.name));
        return DH_ERROR;
    }

    /* the zone's name for its own messages, kept inside the zone */
    len = sizeof(" in zone \"\"") + zn->shm.name.len;

    ctx = dh_slab_alloc(sp, len);
    if (ctx != NULL) {
        (void) snprintf((char *) ctx, len, " in zone \"%.*s\"",
                        DH_STR_FMT(zn->shm.name));
        sp->log_ctx = ctx;
    }

    return DH_OK;
}


/* Unmaps the zones of `cycle` whose mapping `keep` does not share. */
static void
dh_shm_unmap_unshared(dh_cycle_t *cycle, dh_cycle_t *keep)
{
    dh_uint_t        i, j, shared;
    dh_shm_zone_t   *zone, *kz;
    dh_list_part_t  *part, *kpart;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].shm.addr == NULL) {
            continue;
        }

        shared = 0;

        if (keep != NULL) {
            kpart = &keep->shared_memory.part;
            kz = kpart->elts;

            for (j = 0; /* void */ ; j++) {

                if (j >= kpart->nelts) {
                    if (kpart->next == NULL) {
                        break;
                    }
                    kpart = kpart->next;
                    kz = kpart->elts;
                    j = 0;
                }

                if (kz[j].shm.addr == zone[i].shm.addr) {
                    shared = 1;
                    break;
                }
            }
        }

        if (shared) {
            /* adopted: the other cycle owns the mapping from now on */
            zone[i].shm.addr = NULL;
            continue;
        }

        dh_shm_free(&zone[i].shm);
    }
}


void
dh_shm_free_cycle_zones(dh_cycle_t *cycle)
{
    dh_uint_t        i;
    dh_shm_zone_t   *zone;
    dh_list_part_t  *part;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    /* adopted mappings still belong to the old cycle: forget, not unmap */
    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].shm.exists) {
            zone[i].shm.addr = NULL;
            zone[i].shm.exists = 0;
        }
    }

    dh_shm_unmap_unshared(cycle, NULL);
}


void
dh_shm_free_old_zones(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    if (old_cycle == NULL) {
        return;
    }

    dh_shm_unmap_unshared(old_cycle, cycle);
}
