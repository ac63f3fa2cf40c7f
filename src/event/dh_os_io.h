/*
 * Socket I/O.  recv/send return the byte count, 0 at EOF (recv only),
 * DH_AGAIN when the socket would block (and clear ev->ready), DH_ERROR on
 * failure (and set ev->error).  The chain senders write memory buffers with
 * writev and file buffers with sendfile, and return the first unsent link
 * (NULL when all was sent) or DH_CHAIN_ERROR.
 */

#ifndef DH_OS_IO_H
#define DH_OS_IO_H

#include "dh_event.h"

#define DH_CHAIN_ERROR   (dh_chain_t *) DH_ERROR
#define DH_IOVS_PREALLOCATE  64

ssize_t dh_unix_recv(dh_connection_t *c, u_char *buf, size_t size);
ssize_t dh_unix_send(dh_connection_t *c, u_char *buf, size_t size);
dh_chain_t *dh_writev_chain(dh_connection_t *c, dh_chain_t *in, off_t limit);
dh_chain_t *dh_linux_sendfile_chain(dh_connection_t *c, dh_chain_t *in,
    off_t limit);

#endif /* DH_OS_IO_H */
