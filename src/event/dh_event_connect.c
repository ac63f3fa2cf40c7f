/*
 * Outbound non-blocking connect.  The connection is registered with epoll
 * before connect(), so the write edge that reports the outcome of an
 * EINPROGRESS connect cannot be missed.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"


static void
dh_event_connect_log(dh_peer_connection_t *pc, dh_uint_t level, dh_err_t err)
{
    if (pc->name) {
        dh_log_error(level, pc->log, err, "connect() to %.*s failed",
                     DH_STR_FMT(*pc->name));

    } else {
        dh_log_error(level, pc->log, err, "connect() failed");
    }
}


dh_int_t
dh_event_connect_peer(dh_peer_connection_t *pc)
{
    int               type, rc;
    dh_err_t          err;
    dh_socket_t       s;
    dh_connection_t  *c;

    pc->connection = NULL;

    type = pc->type ? pc->type : SOCK_STREAM;

    s = socket(pc->sockaddr->sa_family, type|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);

    if (s == -1) {
        dh_log_error(DH_LOG_ALERT, pc->log, dh_socket_errno,
                     "socket() failed");
        return DH_ERROR;
    }

    c = dh_get_connection(s, pc->log);

    if (c == NULL) {
        if (close(s) == -1) {
            dh_log_error(DH_LOG_ALERT, pc->log, dh_socket_errno,
                         "close() socket %d failed", s);
        }

        return DH_ERROR;
    }

    c->type = type;

    if (pc->rcvbuf
        && setsockopt(s, SOL_SOCKET, SO_RCVBUF, &pc->rcvbuf, sizeof(int))
           == -1)
    {
        dh_log_error(DH_LOG_ALERT, pc->log, dh_socket_errno,
                     "setsockopt(SO_RCVBUF) failed");
        goto failed;
    }

    c->recv = dh_unix_recv;
    c->send = dh_unix_send;
    c->send_chain = dh_linux_sendfile_chain;

    c->log_error = DH_ERROR_ERR;
    c->number = ++dh_connection_counter;
    c->start_time = dh_current_msec;

    if (dh_add_conn(c) != DH_OK) {
        goto failed;
    }

    pc->connection = c;

    do {
        rc = connect(s, pc->sockaddr, pc->socklen);
        err = (rc == -1) ? dh_socket_errno : 0;
    } while (err == DH_EINTR);

    if (rc == 0) {
        c->write->ready = 1;
        return DH_OK;
    }

    if (err == DH_EINPROGRESS) {
        return DH_AGAIN;
    }

    pc->connection = NULL;

    switch (err) {

    /* this peer is down or unreachable: the caller may try another */
    case DH_ECONNREFUSED:
    case DH_ECONNRESET:
    case DH_EHOSTUNREACH:
    case DH_ETIMEDOUT:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case DH_EAGAIN:         /* a unix socket with a full backlog */
    case DH_ENOENT:         /* a unix socket path that is gone */
        dh_event_connect_log(pc, DH_LOG_ERR, err);
        dh_close_connection(c);
        return DH_DECLINED;

    default:
        dh_event_connect_log(pc, DH_LOG_ALERT, err);
        dh_close_connection(c);
        return DH_ERROR;
    }

failed:

    dh_close_connection(c);

    return DH_ERROR;
}
