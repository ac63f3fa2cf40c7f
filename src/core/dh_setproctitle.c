/*
 * Process titles.
 *
 * Linux shows a process's command line from the memory that held argv at
 * exec time, followed (contiguously) by the environment strings.  To write
 * a longer title than argv[0] we move the environment to the heap and use
 * the whole argv + environ area; the original arguments are copied first
 * (dh_argv) because the title overwrites them.  prctl(PR_SET_NAME) sets the
 * short name top and pgrep show as well.
 */

#include "dh_config.h"
#include "dh_core.h"


#define DH_TITLE_PREFIX     "divehttpd: "
#define DH_COMM_LEN         16      /* TASK_COMM_LEN, NUL included */


static void dh_setproctitle_move_environ(char *last);
static void dh_set_comm(char *title);


int           dh_argc;
char        **dh_argv;
char        **dh_os_argv;

extern char **environ;

static char  *dh_os_argv_last;      /* end of the writable area */


void
dh_setproctitle_init(int argc, char *const *argv)
{
    int     i;
    char   *last;
    size_t  len;

    dh_argc = argc;
    dh_os_argv = (char **) argv;

    /* keep working copies: the title overwrites the originals */
    dh_argv = malloc((argc + 1) * sizeof(char *));
    if (dh_argv == NULL) {
        dh_argv = (char **) argv;
        return;
    }

    for (i = 0; i < argc; i++) {
        len = strlen(argv[i]) + 1;

        dh_argv[i] = malloc(len);
        if (dh_argv[i] == NULL) {
            dh_argv = (char **) argv;
            return;
        }

        memcpy(dh_argv[i], argv[i], len);
    }

    dh_argv[argc] = NULL;

    if (argc == 0 || argv[0] == NULL) {
        return;
    }

    /* the arguments must be contiguous for the title to use them */
    last = argv[0];

    for (i = 0; i < argc; i++) {
        if (argv[i] != last) {
            break;
        }

        last = argv[i] + strlen(argv[i]) + 1;
    }

    dh_setproctitle_move_environ(last);
}


static void
dh_setproctitle_move_environ(char *last)
{
    int      i;
    char    *copy;
    size_t   len;

    dh_os_argv_last = last;

    for (i = 0; environ[i]; i++) {
        if (environ[i] != last) {
            break;
        }

        len = strlen(environ[i]) + 1;

        copy = malloc(len);
        if (copy == NULL) {
            /* the remaining strings stay in place and in use */
            return;
        }

        memcpy(copy, environ[i], len);
        environ[i] = copy;

        last += len;
        dh_os_argv_last = last;
    }
}


void
dh_setproctitle(char *title)
{
    size_t   size, len;
    char    *p;

    dh_set_comm(title);

    if (dh_os_argv == NULL || dh_os_argv_last == NULL) {
        return;
    }

    p = dh_os_argv[0];
    size = dh_os_argv_last - p;

    if (size < 2) {
        return;
    }

    dh_os_argv[1] = NULL;

    len = snprintf(p, size, DH_TITLE_PREFIX "%s", title);
    if (len >= size) {
        len = size - 1;
    }

    /* ps reads up to the end of the area: clear the old arguments */
    memset(p + len, '\0', size - len);
}


/* A short name for top and pgrep; it keeps "divehttpd" in front so
 * "pgrep divehttpd" still finds every process of the server. */
static void
dh_set_comm(char *title)
{
#if (DH_HAVE_PRCTL)
    char        comm[DH_COMM_LEN];
    const char  *role;

    if (strncmp(title, "master", 6) == 0) {
        role = "mst";

    } else if (strncmp(title, "worker", 6) == 0) {
        role = "wrk";

    } else {
        role = title;
    }

    snprintf(comm, sizeof(comm), "divehttpd-%s", role);

    (void) prctl(PR_SET_NAME, (unsigned long) comm, 0, 0, 0);
#else
    (void) title;
#endif
}
