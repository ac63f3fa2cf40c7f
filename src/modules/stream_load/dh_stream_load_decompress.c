/*
 * Streaming decompressors for Stream Load bodies: gzip (several members
 * in a row, as `cat a.gz b.gz` makes), deflate (zlib wrapper, or raw
 * deflate when the first two bytes are no zlib header), bzip2 (several
 * streams), LZ4 frames and Zstandard frames (several in a row each).
 *
 * Output goes to the sink in chunks of at most DH_SL_DECOMP_CHUNK bytes,
 * so memory is the library's window plus one chunk whatever the ratio.
 * A body that ends inside a member/frame is reported at finish.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "dh_stream_load_reader_int.h"

#if (DH_HAVE_ZLIB)
#include <zlib.h>
#endif
#if (DH_HAVE_BZIP2)
#include <bzlib.h>
#endif
#if (DH_HAVE_LZ4)
#include <lz4frame.h>
#endif
#if (DH_HAVE_ZSTD)
#include <zstd.h>
#endif


#define DH_SL_DECOMP_CHUNK  (64 * 1024)


struct dh_sl_decomp_s {
    dh_sl_compress_e     type;
    dh_pool_t           *pool;
    dh_sl_sink_pt        sink;
    void                *data;
    u_char              *out;
    const char          *name;       /* for messages: "gzip" ... */

    /* between members/frames: finish is fine here */
    unsigned             clean:1;
    unsigned             inited:1;
    unsigned             raw:1;      /* deflate without zlib header */

    u_char               head[2];    /* deflate: bytes before detection */
    size_t               nhead;

#if (DH_HAVE_ZLIB)
    z_stream             z;
#endif
#if (DH_HAVE_BZIP2)
    bz_stream            bz;
#endif
#if (DH_HAVE_LZ4)
    LZ4F_dctx           *lz4;
#endif
#if (DH_HAVE_ZSTD)
    ZSTD_DStream        *zstd;
#endif
};


static const char *dh_sl_decomp_msg(dh_sl_decomp_t *dc, const char *what,
    const char *detail);
static void dh_sl_decomp_cleanup(void *data);

#if (DH_HAVE_ZLIB)
static dh_int_t dh_sl_zlib_init(dh_sl_decomp_t *dc, int wbits,
    const char **err);
static dh_int_t dh_sl_zlib_feed(dh_sl_decomp_t *dc, u_char *p, size_t len,
    const char **err);
static dh_int_t dh_sl_deflate_feed(dh_sl_decomp_t *dc, u_char *p,
    size_t len, const char **err);
#endif
#if (DH_HAVE_BZIP2)
static dh_int_t dh_sl_bzip2_feed(dh_sl_decomp_t *dc, u_char *p, size_t len,
    const char **err);
#endif
#if (DH_HAVE_LZ4)
static dh_int_t dh_sl_lz4_feed(dh_sl_decomp_t *dc, u_char *p, size_t len,
    const char **err);
#endif
#if (DH_HAVE_ZSTD)
static dh_int_t dh_sl_zstd_feed(dh_sl_decomp_t *dc, u_char *p, size_t len,
    const char **err);
#endif


static const char *dh_sl_decomp_names[] = {
    "none", "gzip", "deflate", "bzip2", "lz4", "zstd"
};


dh_sl_decomp_t *
dh_sl_decomp_create(dh_pool_t *pool, dh_sl_compress_e type,
    dh_sl_sink_pt sink, void *data, const char **err)
{
    dh_sl_decomp_t     *dc;
    dh_pool_cleanup_t  *cln;

    if ((size_t) type >= sizeof(dh_sl_decomp_names) / sizeof(char *)
        || type == DH_SL_COMPRESS_NONE)
    {
        *err = "unknown compression";
        return NULL;
    }

    dc = dh_pcalloc(pool, sizeof(dh_sl_decomp_t));
    if (dc == NULL) {
        *err = "out of memory";
        return NULL;
    }

    dc->type = type;
    dc->pool = pool;
    dc->sink = sink;
    dc->data = data;
    dc->name = dh_sl_decomp_names[type];
    dc->clean = 1;

    switch (type) {

#if (DH_HAVE_ZLIB)
    case DH_SL_COMPRESS_GZIP:
    case DH_SL_COMPRESS_DEFLATE:
        break;
#endif

#if (DH_HAVE_BZIP2)
    case DH_SL_COMPRESS_BZIP2:
        break;
#endif

#if (DH_HAVE_LZ4)
    case DH_SL_COMPRESS_LZ4:
        break;
#endif

#if (DH_HAVE_ZSTD)
    case DH_SL_COMPRESS_ZSTD:
        break;
#endif

    default:
        *err = dh_sl_decomp_msg(dc, "compression", "is not built in");
        return NULL;
    }

    dc->out = dh_pnalloc(pool, DH_SL_DECOMP_CHUNK);
    if (dc->out == NULL) {
        *err = "out of memory";
        return NULL;
    }

    /* library state is made on the first bytes, freed with the pool */
    cln = dh_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        *err = "out of memory";
        return NULL;
    }

    cln->handler = dh_sl_decomp_cleanup;
    cln->data = dc;

    return dc;
}


/* "compression gzip is not built in", "gzip data is corrupt: ..." */
static const char *
dh_sl_decomp_msg(dh_sl_decomp_t *dc, const char *what, const char *detail)
{
    dh_str_t  *s;

    if (dh_strcmp(what, "compression") == 0) {
        s = dh_psprintf(dc->pool, "compression %s %s", dc->name, detail);

    } else {
        s = dh_psprintf(dc->pool, "%s data %s%s%s", dc->name, what,
                        detail ? ": " : "", detail ? detail : "");
    }

    return s ? (const char *) s->data : "compressed data is corrupt";
}


static void
dh_sl_decomp_cleanup(void *data)
{
    dh_sl_decomp_t  *dc = data;

    if (!dc->inited) {
        return;
    }

    switch (dc->type) {

#if (DH_HAVE_ZLIB)
    case DH_SL_COMPRESS_GZIP:
    case DH_SL_COMPRESS_DEFLATE:
        (void) inflateEnd(&dc->z);
        break;
#endif

#if (DH_HAVE_BZIP2)
    case DH_SL_COMPRESS_BZIP2:
        (void) BZ2_bzDecompressEnd(&dc->bz);
        break;
#endif

#if (DH_HAVE_LZ4)
    case DH_SL_COMPRESS_LZ4:
        (void) LZ4F_freeDecompressionContext(dc->lz4);
        break;
#endif

#if (DH_HAVE_ZSTD)
    case DH_SL_COMPRESS_ZSTD:
        (void) ZSTD_freeDStream(dc->zstd);
        break;
#endif

    default:
        break;
    }

    dc->inited = 0;
}


dh_int_t
dh_sl_decomp_feed(dh_sl_decomp_t *dc, u_char *p, size_t len,
    const char **err)
{
    switch (dc->type) {

#if (DH_HAVE_ZLIB)
    case DH_SL_COMPRESS_GZIP:
        if (!dc->inited && dh_sl_zlib_init(dc, 15 + 16, err) != DH_OK) {
            return DH_ERROR;
        }

        return dh_sl_zlib_feed(dc, p, len, err);

    case DH_SL_COMPRESS_DEFLATE:
        return dh_sl_deflate_feed(dc, p, len, err);
#endif

#if (DH_HAVE_BZIP2)
    case DH_SL_COMPRESS_BZIP2:
        return dh_sl_bzip2_feed(dc, p, len, err);
#endif

#if (DH_HAVE_LZ4)
    case DH_SL_COMPRESS_LZ4:
        return dh_sl_lz4_feed(dc, p, len, err);
#endif

#if (DH_HAVE_ZSTD)
    case DH_SL_COMPRESS_ZSTD:
        return dh_sl_zstd_feed(dc, p, len, err);
#endif

    default:
        *err = dh_sl_decomp_msg(dc, "compression", "is not built in");
        return DH_ERROR;
    }
}


dh_int_t
dh_sl_decomp_finish(dh_sl_decomp_t *dc, const char **err)
{
#if (DH_HAVE_ZLIB)
    /* one or two bytes of a deflate body were held for detection */
    if (dc->type == DH_SL_COMPRESS_DEFLATE && !dc->inited && dc->nhead) {
        *err = dh_sl_decomp_msg(dc, "is truncated", NULL);
        return DH_ERROR;
    }
#endif

    if (!dc->clean) {
        *err = dh_sl_decomp_msg(dc, "is truncated", NULL);
        return DH_ERROR;
    }

    return DH_OK;
}


#if (DH_HAVE_ZLIB)

static dh_int_t
dh_sl_zlib_init(dh_sl_decomp_t *dc, int wbits, const char **err)
{
    dh_memzero(&dc->z, sizeof(z_stream));

    if (inflateInit2(&dc->z, wbits) != Z_OK) {
        *err = "out of memory";
        return DH_ERROR;
    }

    dc->inited = 1;

    return DH_OK;
}


/*
 * gzip: at the end of a member, inflateReset() and go on with the next
 * one; raw/zlib deflate holds one stream, so bytes after it are corrupt.
 */
static dh_int_t
dh_sl_zlib_feed(dh_sl_decomp_t *dc, u_char *p, size_t len, const char **err)
{
    int       zrc;
    size_t    n;
    dh_int_t  rc;

    dc->z.next_in = p;
    dc->z.avail_in = (uInt) len;

    for ( ;; ) {

        if (dc->clean && dc->type == DH_SL_COMPRESS_DEFLATE
            && dc->z.total_in > 0 && dc->z.avail_in > 0)
        {
            *err = dh_sl_decomp_msg(dc, "is corrupt",
                                    "data after the end of the stream");
            return DH_ERROR;
        }

        dc->z.next_out = dc->out;
        dc->z.avail_out = DH_SL_DECOMP_CHUNK;

        zrc = inflate(&dc->z, Z_NO_FLUSH);

        n = DH_SL_DECOMP_CHUNK - dc->z.avail_out;

        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            *err = dh_sl_decomp_msg(dc, "is corrupt",
                                    dc->z.msg ? dc->z.msg : zError(zrc));
            return DH_ERROR;
        }

        if (n || zrc == Z_OK) {
            dc->clean = 0;
        }

        if (n) {
            rc = dc->sink(dc->data, dc->out, n, err);
            if (rc != DH_OK) {
                return rc;
            }
        }

        if (zrc == Z_STREAM_END) {
            dc->clean = 1;

            if (dc->type == DH_SL_COMPRESS_GZIP && dc->z.avail_in > 0
                && inflateReset(&dc->z) != Z_OK)
            {
                *err = dh_sl_decomp_msg(dc, "is corrupt", "reset failed");
                return DH_ERROR;
            }

            if (dc->z.avail_in == 0) {
                break;
            }

            continue;
        }

        /* a full chunk may leave more output inside zlib */
        if (dc->z.avail_in == 0 && dc->z.avail_out != 0) {
            break;
        }

        if (zrc == Z_BUF_ERROR && n == 0) {
            break;
        }
    }

    return DH_OK;
}


/*
 * A zlib header is CMF FLG with CM 8 and (CMF*256 + FLG) % 31 == 0;
 * anything else is taken as raw deflate.
 */
static dh_int_t
dh_sl_deflate_feed(dh_sl_decomp_t *dc, u_char *p, size_t len,
    const char **err)
{
    int       wbits;
    dh_int_t  rc;

    if (dc->inited) {
        return dh_sl_zlib_feed(dc, p, len, err);
    }

    while (dc->nhead < 2 && len > 0) {
        dc->head[dc->nhead++] = *p++;
        len--;
    }

    if (dc->nhead < 2) {
        return DH_OK;
    }

    wbits = ((dc->head[0] & 0x0f) == 8
             && (dc->head[0] * 256 + dc->head[1]) % 31 == 0) ? 15 : -15;

    dc->raw = (wbits < 0);

    if (dh_sl_zlib_init(dc, wbits, err) != DH_OK) {
        return DH_ERROR;
    }

    rc = dh_sl_zlib_feed(dc, dc->head, 2, err);
    if (rc != DH_OK || len == 0) {
        return rc;
    }

    return dh_sl_zlib_feed(dc, p, len, err);
}

#endif /* DH_HAVE_ZLIB */


#if (DH_HAVE_BZIP2)

static const char *
dh_sl_bzip2_error(int rc)
{
    switch (rc) {
    case BZ_DATA_ERROR:
        return "data integrity error";
    case BZ_DATA_ERROR_MAGIC:
        return "bad magic";
    case BZ_MEM_ERROR:
        return "out of memory";
    default:
        return "decompression error";
    }
}


static dh_int_t
dh_sl_bzip2_feed(dh_sl_decomp_t *dc, u_char *p, size_t len,
    const char **err)
{
    int       brc;
    size_t    n;
    dh_int_t  rc;

    for ( ;; ) {

        if (!dc->inited) {
            if (len == 0) {
                break;
            }

            dh_memzero(&dc->bz, sizeof(bz_stream));

            if (BZ2_bzDecompressInit(&dc->bz, 0, 0) != BZ_OK) {
                *err = "out of memory";
                return DH_ERROR;
            }

            dc->inited = 1;
        }

        dc->bz.next_in = (char *) p;
        dc->bz.avail_in = (unsigned) len;
        dc->bz.next_out = (char *) dc->out;
        dc->bz.avail_out = DH_SL_DECOMP_CHUNK;

        brc = BZ2_bzDecompress(&dc->bz);

        n = DH_SL_DECOMP_CHUNK - dc->bz.avail_out;
        p = (u_char *) dc->bz.next_in;
        len = dc->bz.avail_in;

        if (brc != BZ_OK && brc != BZ_STREAM_END) {
            *err = dh_sl_decomp_msg(dc, "is corrupt", dh_sl_bzip2_error(brc));
            return DH_ERROR;
        }

        dc->clean = 0;

        if (n) {
            rc = dc->sink(dc->data, dc->out, n, err);
            if (rc != DH_OK) {
                return rc;
            }
        }

        if (brc == BZ_STREAM_END) {
            /* the next stream, if any, needs a fresh state */
            (void) BZ2_bzDecompressEnd(&dc->bz);
            dc->inited = 0;
            dc->clean = 1;
            continue;
        }

        if (len == 0 && n < DH_SL_DECOMP_CHUNK) {
            break;
        }
    }

    return DH_OK;
}

#endif /* DH_HAVE_BZIP2 */


#if (DH_HAVE_LZ4)

/* LZ4F_decompress() returns 0 when a frame is complete; the context
 * then takes the next frame by itself. */
static dh_int_t
dh_sl_lz4_feed(dh_sl_decomp_t *dc, u_char *p, size_t len, const char **err)
{
    size_t    hint, in, out;
    dh_int_t  rc;

    if (!dc->inited) {
        if (LZ4F_isError(LZ4F_createDecompressionContext(&dc->lz4,
                                                         LZ4F_VERSION)))
        {
            *err = "out of memory";
            return DH_ERROR;
        }

        dc->inited = 1;
    }

    for ( ;; ) {
        in = len;
        out = DH_SL_DECOMP_CHUNK;

        hint = LZ4F_decompress(dc->lz4, dc->out, &out, p, &in, NULL);

        if (LZ4F_isError(hint)) {
            *err = dh_sl_decomp_msg(dc, "is corrupt",
                                    LZ4F_getErrorName(hint));
            return DH_ERROR;
        }

        p += in;
        len -= in;

        if (in || out) {
            dc->clean = (hint == 0);
        }

        if (out) {
            rc = dc->sink(dc->data, dc->out, out, err);
            if (rc != DH_OK) {
                return rc;
            }
        }

        /* done when the input is used up and the last call filled no
         * whole chunk (nothing more is buffered inside) */
        if (len == 0 && out < DH_SL_DECOMP_CHUNK) {
            break;
        }
    }

    return DH_OK;
}

#endif /* DH_HAVE_LZ4 */


#if (DH_HAVE_ZSTD)

/* ZSTD_decompressStream() returns 0 at the end of a frame and goes on
 * with the next one in the same input. */
static dh_int_t
dh_sl_zstd_feed(dh_sl_decomp_t *dc, u_char *p, size_t len,
    const char **err)
{
    size_t          zrc;
    dh_int_t        rc;
    ZSTD_inBuffer   in;
    ZSTD_outBuffer  out;

    if (!dc->inited) {
        dc->zstd = ZSTD_createDStream();
        if (dc->zstd == NULL
            || ZSTD_isError(ZSTD_initDStream(dc->zstd)))
        {
            if (dc->zstd) {
                (void) ZSTD_freeDStream(dc->zstd);
            }

            *err = "out of memory";
            return DH_ERROR;
        }

        dc->inited = 1;
    }

    in.src = p;
    in.size = len;
    in.pos = 0;

    for ( ;; ) {
        out.dst = dc->out;
        out.size = DH_SL_DECOMP_CHUNK;
        out.pos = 0;

        zrc = ZSTD_decompressStream(dc->zstd, &out, &in);

        if (ZSTD_isError(zrc)) {
            *err = dh_sl_decomp_msg(dc, "is corrupt",
                                    ZSTD_getErrorName(zrc));
            return DH_ERROR;
        }

        dc->clean = (zrc == 0);

        if (out.pos) {
            rc = dc->sink(dc->data, dc->out, out.pos, err);
            if (rc != DH_OK) {
                return rc;
            }
        }

        if (in.pos == in.size && out.pos < out.size) {
            break;
        }
    }

    return DH_OK;
}

#endif /* DH_HAVE_ZSTD */
