/*
 * Named shared memory zones.  Modules declare a zone while the
 * configuration is parsed; the cycle maps it (MAP_SHARED|MAP_ANONYMOUS)
 * in the master before fork.  On reload a zone with the same name, tag and
 * size is kept as it is and its init() gets the old data, so counters,
 * limits and caches survive.
 */

#ifndef DH_SHMEM_H
#define DH_SHMEM_H

#include "dh_core.h"

typedef struct {
    u_char       *addr;
    size_t        size;
    dh_str_t      name;
    dh_log_t     *log;
    dh_uint_t     exists;       /* 1 when inherited across reload */
} dh_shm_t;

typedef dh_int_t (*dh_shm_zone_init_pt) (dh_shm_zone_t *zone, void *data);

struct dh_shm_zone_s {
    void                 *data;     /* module's object, or the old one */
    dh_shm_t              shm;
    dh_shm_zone_init_pt   init;
    void                 *tag;      /* the declaring module's address */
    void                 *sync;
    dh_uint_t             noreuse;
};

dh_int_t dh_shm_alloc(dh_shm_t *shm);
void dh_shm_free(dh_shm_t *shm);

/* Declares (or finds) a zone; size 0 means "whatever size it was declared
 * with elsewhere".  Errors are reported against cf's file and line. */
dh_shm_zone_t *dh_shared_memory_add(dh_conf_t *cf, dh_str_t *name,
    size_t size, void *tag);

/* Called by the cycle: map new zones, adopt matching old ones, free the
 * old zones that were not adopted once the new cycle is committed.
 *
 * dh_shm_init_cycle_zones(): zones with init == NULL are skipped; a zone
 * with the same name, tag and size as an old one reuses its mapping
 * (shm.exists = 1) and gets init(zone, old zone's data); any other zone
 * (new, or resized / retagged) gets a fresh mapping that starts with an
 * initialised dh_slab_pool_t, then init(zone, NULL).  On error it undoes
 * its own mappings itself and returns DH_ERROR.
 *
 * dh_shm_free_cycle_zones(): after a new cycle failed later on (listeners,
 * modules), unmaps the zones it mapped itself; adopted ones stay with the
 * old cycle. */
dh_int_t dh_shm_init_cycle_zones(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
void dh_shm_free_old_zones(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
void dh_shm_free_cycle_zones(dh_cycle_t *cycle);

#endif /* DH_SHMEM_H */
