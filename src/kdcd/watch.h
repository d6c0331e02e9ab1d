/*
 * Watching an SQLite store for commits made by any process (lethe-admin,
 * the registrar, another KDC on the same file), so that lethe-kdc serves a
 * change as soon as the command that made it returns.
 *
 * Two signals, both outside SQLite's API but on its documented, stable
 * file format (the WAL and its wal-index, sqlite.org/walformat.html):
 * - a stamp: a hash of the wal-index header in the "-shm" file, mapped
 *   read-only. A writer updates that header at the instant its commit
 *   becomes visible to readers, so a stamp read before a read transaction
 *   covers every commit that transaction can miss. Reading it is a few
 *   loads from shared memory: cheap enough to compare on every request.
 * - an inotify descriptor that becomes readable when the database or its
 *   WAL is written or closed after writing (watches on the files), or
 *   appears, is replaced or goes (a watch on the folder for those events
 *   alone: other files there, such as a log, wake nothing), to wake the
 *   refresher.
 * Either may be missing (no "-shm" yet, no inotify): the stamp is then 0
 * and the fd -1, and the KDC falls back on refresh_interval.
 *
 * A PostgreSQL store (a URI) has no files to watch: the fd is the store's
 * LISTEN connection (store_notify_listen), which every commit notifies,
 * and the stamp counts the notifications read, plus one while that
 * socket holds unread bytes, so a request that comes after a notification
 * arrived waits for it to be applied; refresh_interval polls the
 * generation besides.
 */
#ifndef LETHE_KDCD_WATCH_H
#define LETHE_KDCD_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "store/store.h"

typedef struct kdcd_watch kdcd_watch;

/* Watch the SQLite database at db_path. LETHE_ERR_NOMEM only; a missing
 * "-shm" or inotify is logged and leaves that signal off. */
lethe_status kdcd_watch_open(const char *db_path, kdcd_watch **out);

/*
 * Follow st's notifications when it is a shared (PostgreSQL) store; a
 * no-op for an SQLite one. Call again when the store handle changes,
 * before the old one is closed. Refresher thread only, once it runs.
 */
void kdcd_watch_attach(kdcd_watch *w, store *st);

/* Stop watching. NULL is allowed. */
void kdcd_watch_close(kdcd_watch *w);

/* The stamp of the last commit visible now (0: no stamp available). Any thread. */
uint64_t kdcd_watch_stamp(const kdcd_watch *w);

/* The descriptor to poll for POLLIN, or -1. It may change after a drain. */
int kdcd_watch_fd(const kdcd_watch *w);

/*
 * Read the pending events (never blocks). True when one concerned the
 * database's files. Maps the "-shm" file again when it was replaced or has
 * appeared since. For a PostgreSQL store: reads the notifications (the
 * stamp moves when there were any) and returns false. Refresher thread only.
 */
bool kdcd_watch_drain(kdcd_watch *w);

#endif
