/* The store: one daemon per database. Two daemons on one file would each
 * believe they own the probes they see and the jobs they run; SQLite's own
 * locks only serialise their transactions. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct store_lock {
    int fd;
};

static void say(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t msglen, const char *fmt, ...)
{
    if (!msg || !msglen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

/* The pid the holder wrote, as text; "unknown" if there is none. */
static void read_pid(const char *path, char *out, size_t n)
{
    snprintf(out, n, "unknown");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[32];
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0)
        return;
    buf[r] = '\0';
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    if (pid > 0 && end != buf && (*end == '\n' || *end == '\0'))
        snprintf(out, n, "%ld", pid);
}

store_err store_lock_take(const char *db_path, store_lock **out, char *msg, size_t msglen)
{
    if (msg && msglen)
        msg[0] = '\0';
    if (!out) {
        say(msg, msglen, "store_lock_take: out is NULL (programming error)");
        return STORE_E_ARG;
    }
    *out = NULL;
    if (!db_path || !*db_path) {
        say(msg, msglen, "no database path given; set one in the configuration");
        return STORE_E_ARG;
    }
    size_t len = strlen(db_path) + sizeof ".lock";
    char *path = malloc(len);
    store_lock *l = calloc(1, sizeof *l);
    if (!path || !l) {
        free(path);
        free(l);
        say(msg, msglen, "out of memory locking %s", db_path);
        return STORE_E_NOMEM;
    }
    snprintf(path, len, "%s.lock", db_path);
    /* flock, not fcntl: POSIX record locks belong to the process, and
     * SQLite's own on the database would drop with any close() of a
     * descriptor of that file; flock locks belong to this open file
     * description only, are independent of SQLite's on Linux, and the
     * kernel drops them when the process dies, kill -9 included. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        say(msg, msglen,
            "cannot open the lock file %s: %s; check that the database's directory"
            " exists and that this user may create files in it",
            path, strerror(errno));
        free(path);
        free(l);
        return STORE_E_IO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close(fd);
        store_err e = STORE_E_IO;
        if (err == EWOULDBLOCK) {
            char pid[24];
            read_pid(path, pid, sizeof pid);
            say(msg, msglen,
                "another flashlined (pid %s) is using %s: stop it first, or give this one"
                " another --db",
                pid, db_path);
            e = STORE_E_LOCKED;
        } else {
            say(msg, msglen, "cannot lock %s: %s", path, strerror(err));
        }
        free(path);
        free(l);
        return e;
    }
    /* The pid is only for the message of the next one to try. */
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        say(msg, msglen, "cannot write the lock file %s: %s; is the disk full?", path,
            strerror(errno));
        close(fd);
        free(path);
        free(l);
        return STORE_E_IO;
    }
    free(path);
    l->fd = fd;
    *out = l;
    return STORE_OK;
}

void store_lock_release(store_lock *l)
{
    if (!l)
        return;
    /* Closing the only descriptor of the open file description drops the
     * lock; the file stays, a later take reuses it. */
    close(l->fd);
    free(l);
}
