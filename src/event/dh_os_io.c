/*
 * Socket I/O for connections: recv/send and the chain writers.
 *
 * Writes use sendmsg() rather than write()/writev(): MSG_NOSIGNAL keeps a
 * vanished peer from raising SIGPIPE, and MSG_MORE lets response headers
 * wait for the file data that sendfile() sends right after them, so both
 * leave in one segment without two TCP_CORK system calls per response.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"


/* sendfile() moves at most 0x7ffff000 bytes per call on Linux */
#define DH_SENDFILE_MAX_CHUNK  0x7ffff000


typedef struct {
    struct iovec  *iovs;
    dh_uint_t      count;
    dh_uint_t      nalloc;
    size_t         size;
} dh_iovec_t;


ssize_t
dh_unix_recv(dh_connection_t *c, u_char *buf, size_t size)
{
    ssize_t      n;
    dh_err_t     err;
    dh_event_t  *rev;

    rev = c->read;

    for ( ;; ) {
        n = recv(c->fd, buf, size, 0);

        if (n == 0) {
            rev->ready = 0;
            rev->eof = 1;
            return 0;
        }

        if (n > 0) {
            /* recv() copies everything queued up to size, so a short read
             * drained the socket and the next arrival raises a new edge:
             * skip the recv() that would only return EAGAIN.  With a
             * pending EOF the caller must read once more to see it. */
            if ((size_t) n < size && !rev->pending_eof) {
                rev->ready = 0;
            }

            return n;
        }

        err = dh_socket_errno;

        if (err == DH_EAGAIN) {
            rev->ready = 0;
            return DH_AGAIN;
        }

        if (err == DH_EINTR) {
            continue;
        }

        rev->ready = 0;
        rev->error = 1;
        dh_connection_error(c, err, "recv() failed");

        return DH_ERROR;
    }
}


ssize_t
dh_unix_send(dh_connection_t *c, u_char *buf, size_t size)
{
    ssize_t      n;
    dh_err_t     err;
    dh_event_t  *wev;

    wev = c->write;

    for ( ;; ) {
        n = send(c->fd, buf, size, MSG_NOSIGNAL);

        if (n > 0) {
            if ((size_t) n < size) {
                wev->ready = 0;
            }

            c->sent += n;

            return n;
        }

        if (n == 0) {
            dh_log_error(DH_LOG_ALERT, c->log, 0, "send() returned zero");
            wev->ready = 0;
            return 0;
        }

        err = dh_socket_errno;

        if (err == DH_EAGAIN) {
            wev->ready = 0;
            return DH_AGAIN;
        }

        if (err == DH_EINTR) {
            continue;
        }

        wev->error = 1;
        dh_connection_error(c, err, "send() failed");

        return DH_ERROR;
    }
}


/* Collects the memory buffers at the head of `in` into vec, up to `limit`
 * bytes, joining buffers that are adjacent in memory.  Stops at a file
 * buffer, at the limit, or when vec is full; returns the first link not
 * taken. */
static dh_chain_t *
dh_output_chain_to_iovec(dh_iovec_t *vec, dh_chain_t *in, off_t limit)
{
    size_t         total, size;
    u_char        *prev;
    dh_uint_t      n;
    struct iovec  *iov;

    iov = NULL;
    prev = NULL;
    total = 0;
    n = 0;

    for ( /* void */ ; in && (off_t) total < limit; in = in->next) {

        if (dh_buf_special(in->buf)) {
            continue;
        }

        if (!dh_buf_in_memory(in->buf)) {
            break;
        }

        size = (size_t) (in->buf->last - in->buf->pos);

        if (size == 0) {
            continue;
        }

        if ((off_t) size > limit - (off_t) total) {
            size = (size_t) (limit - (off_t) total);
        }

        if (prev == in->buf->pos) {
            iov->iov_len += size;

        } else {
            if (n == vec->nalloc) {
                break;
            }

            iov = &vec->iovs[n++];

            iov->iov_base = (void *) in->buf->pos;
            iov->iov_len = size;
        }

        prev = in->buf->pos + size;
        total += size;
    }

    vec->count = n;
    vec->size = total;

    return in;
}


/* Sends vec with one sendmsg(); returns bytes sent, DH_AGAIN (0 sent) or
 * DH_ERROR. */
static ssize_t
dh_sendmsg_iovec(dh_connection_t *c, dh_iovec_t *vec, int flags)
{
    ssize_t        n;
    dh_err_t       err;
    struct msghdr  msg;

    dh_memzero(&msg, sizeof(struct msghdr));
    msg.msg_iov = vec->iovs;
    msg.msg_iovlen = vec->count;

    for ( ;; ) {
        n = sendmsg(c->fd, &msg, flags | MSG_NOSIGNAL);

        if (n >= 0) {
            return n;
        }

        err = dh_socket_errno;

        if (err == DH_EAGAIN) {
            return DH_AGAIN;
        }

        if (err == DH_EINTR) {
            continue;
        }

        c->write->error = 1;
        dh_connection_error(c, err, "sendmsg() failed");

        return DH_ERROR;
    }
}


/* dh_chain_update_sent() stops at a zero-sized link when the byte count
 * runs out; a chain that was sent completely must come back as NULL. */
static dh_chain_t *
dh_chain_skip_empty(dh_chain_t *in)
{
    while (in && dh_buf_size(in->buf) == 0) {
        in = in->next;
    }

    return in;
}


static off_t
dh_chain_limit(off_t limit)
{
    off_t  max;

    max = (off_t) (DH_MAX_OFF_T_VALUE - (off_t) dh_pagesize);

    if (limit <= 0 || limit > max) {
        return max;
    }

    return limit;
}


dh_chain_t *
dh_writev_chain(dh_connection_t *c, dh_chain_t *in, off_t limit)
{
    off_t          send;
    ssize_t        n;
    dh_chain_t    *cl;
    dh_iovec_t     vec;
    struct iovec   iovs[DH_IOVS_PREALLOCATE];

    if (!c->write->ready) {
        return in;
    }

    limit = dh_chain_limit(limit);

    vec.iovs = iovs;
    vec.nalloc = DH_IOVS_PREALLOCATE;

    send = 0;

    for ( ;; ) {
        cl = dh_output_chain_to_iovec(&vec, in, limit - send);

        if (vec.count == 0) {
            in = dh_chain_skip_empty(in);

            if (in && in->buf->in_file) {
                dh_log_error(DH_LOG_ALERT, c->log, 0,
                             "file buffer in writev chain");
                return DH_CHAIN_ERROR;
            }

            return in;
        }

        n = dh_sendmsg_iovec(c, &vec, 0);

        if (n == DH_ERROR) {
            return DH_CHAIN_ERROR;
        }

        if (n == DH_AGAIN) {
            n = 0;
        }

        send += n;
        c->sent += n;

        in = dh_chain_skip_empty(dh_chain_update_sent(in, n));

        if ((size_t) n < vec.size) {
            c->write->ready = 0;
            return in;
        }

        if (send >= limit || in == NULL || cl == NULL) {
            return in;
        }
    }
}


/* Sends the file range at the head of `in`, joined with the following
 * buffers that continue it in the same file; returns bytes sent, DH_AGAIN
 * or DH_ERROR, and the number of bytes it tried in *tried. */
static ssize_t
dh_sendfile_range(dh_connection_t *c, dh_chain_t *in, off_t limit,
    off_t *tried)
{
    off_t        offset, size, part;
    ssize_t      n;
    dh_err_t     err;
    dh_buf_t    *file;
    dh_chain_t  *cl;

    file = in->buf;
    size = 0;

    for (cl = in; cl && size < limit; cl = cl->next) {

        if (dh_buf_special(cl->buf)) {
            continue;
        }

        if (!cl->buf->in_file || dh_buf_in_memory(cl->buf)) {
            break;
        }

        if (cl->buf->file->fd != file->file->fd
            || cl->buf->file_pos != file->file_pos + size)
        {
            break;
        }

        part = cl->buf->file_last - cl->buf->file_pos;

        if (part > limit - size) {
            part = limit - size;
        }

        size += part;
    }

    if (size > DH_SENDFILE_MAX_CHUNK) {
        size = DH_SENDFILE_MAX_CHUNK;
    }

    offset = file->file_pos;
    *tried = size;

    for ( ;; ) {
        n = sendfile(c->fd, file->file->fd, &offset, (size_t) size);

        if (n > 0) {
            return n;
        }

        if (n == 0) {
            /* the file got shorter than the response promised */
            dh_log_error(DH_LOG_ALERT, c->log, 0,
                         "sendfile() reported that \"%.*s\" was truncated "
                         "at %lld", DH_STR_FMT(file->file->name),
                         (long long) file->file_pos);
            return DH_ERROR;
        }

        err = dh_errno;

        if (err == DH_EAGAIN) {
            return DH_AGAIN;
        }

        if (err == DH_EINTR) {
            continue;
        }

        c->write->error = 1;
        dh_connection_error(c, err, "sendfile() failed");

        return DH_ERROR;
    }
}


static dh_uint_t
dh_chain_file_follows(dh_chain_t *cl)
{
    for ( /* void */ ; cl; cl = cl->next) {
        if (dh_buf_special(cl->buf)) {
            continue;
        }

        return cl->buf->in_file && !dh_buf_in_memory(cl->buf);
    }

    return 0;
}


dh_chain_t *
dh_linux_sendfile_chain(dh_connection_t *c, dh_chain_t *in, off_t limit)
{
    int            flags;
    off_t          send, sent, tried;
    ssize_t        n;
    dh_chain_t    *cl;
    dh_iovec_t     vec;
    struct iovec   iovs[DH_IOVS_PREALLOCATE];

    if (!c->write->ready) {
        return in;
    }

    limit = dh_chain_limit(limit);

    vec.iovs = iovs;
    vec.nalloc = DH_IOVS_PREALLOCATE;

    send = 0;

    for ( ;; ) {
        in = dh_chain_skip_empty(in);

        if (in == NULL) {
            return NULL;
        }

        /* memory buffers first (headers, chunk sizes, small bodies) */
        cl = dh_output_chain_to_iovec(&vec, in, limit - send);
        sent = 0;

        if (vec.count) {
            flags = 0;

            if (c->tcp_nopush != DH_TCP_NOPUSH_DISABLED
                && send + (off_t) vec.size < limit
                && dh_chain_file_follows(cl))
            {
                flags = MSG_MORE;
            }

            n = dh_sendmsg_iovec(c, &vec, flags);

            if (n == DH_ERROR) {
                return DH_CHAIN_ERROR;
            }

            sent = (n == DH_AGAIN) ? 0 : n;

            if ((size_t) sent < vec.size) {
                goto done;
            }
        }

        /* then the file range that follows them */
        cl = dh_chain_skip_empty(cl);

        if (cl && cl->buf->in_file && !dh_buf_in_memory(cl->buf)
            && send + sent < limit)
        {
            n = dh_sendfile_range(c, cl, limit - send - sent, &tried);

            if (n == DH_ERROR) {
                return DH_CHAIN_ERROR;
            }

            if (n == DH_AGAIN) {
                goto done;
            }

            sent += n;

            send += sent;
            c->sent += sent;
            in = dh_chain_skip_empty(dh_chain_update_sent(in, sent));

            /* a short sendfile() means the socket buffer is full */
            if (n < tried) {
                c->write->ready = 0;
                return in;
            }

            if (send >= limit) {
                return in;
            }

            continue;
        }

        if (vec.count == 0) {
            if (cl) {
                dh_log_error(DH_LOG_ALERT, c->log, 0,
                             "unsendable buffer in output chain");
                return DH_CHAIN_ERROR;
            }

            return in;
        }

        send += sent;
        c->sent += sent;
        in = dh_chain_skip_empty(dh_chain_update_sent(in, sent));

        if (send >= limit) {
            return in;
        }

        continue;

    done:

        /* the socket took less than offered */
        send += sent;
        c->sent += sent;
        c->write->ready = 0;

        return dh_chain_skip_empty(dh_chain_update_sent(in, sent));
    }
}
