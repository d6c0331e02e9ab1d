/* Watching an SQLite store's files for commits: wal-index stamp and inotify. */
#include "kdcd/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#define WAL_HDR_WORDS   12u      /* the first copy of the wal-index header: 48 bytes */
#define SHM_MAP_LEN     4096u    /* both header copies and the checkpoint info fit */
#define OLD_MAPS_MAX    8u       /* mappings kept until close: readers may hold them */
#define WATCH_PATH_MAX  4096u

struct kdcd_watch {
	char shm_path[WATCH_PATH_MAX];
	char db_path[WATCH_PATH_MAX];
	char wal_path[WATCH_PATH_MAX];
	char db_name[NAME_MAX + 1];
	char wal_name[NAME_MAX + 1];
	char shm_name[NAME_MAX + 1];
	int inotify_fd;
	int wd_db, wd_wal;                      /* watches on the files, or -1 */
	_Atomic(const uint32_t *) hdr;          /* the mapped header, or NULL */
	ino_t shm_ino;
	void *maps[OLD_MAPS_MAX + 1];           /* every mapping made, freed at close */
	int map_fds[OLD_MAPS_MAX + 1];          /* their files, open until then */
	size_t nmaps;
	store *st;                              /* a PostgreSQL store, or NULL */
	bool shared;                            /* the path is a PostgreSQL URI */
	_Atomic int notify_fd;                  /* its LISTEN socket, or -1 */
	_Atomic uint64_t notified;              /* drains of a readable LISTEN socket */
};

/*
 * Map the "-shm" file read-only; a missing file leaves the stamp off. The
 * descriptor stays open until kdcd_watch_close: closing any descriptor of
 * a file drops every POSIX lock the process holds on it, SQLite's own
 * included, and another process would then reset the file under the
 * mapping.
 */
static void
map_shm(kdcd_watch *w)
{
	struct stat st;
	void *m;
	int fd;

	if (stat(w->shm_path, &st) != 0 || (size_t)st.st_size < SHM_MAP_LEN) {
		atomic_store(&w->hdr, NULL);
		return;
	}
	if (st.st_ino == w->shm_ino && atomic_load(&w->hdr) != NULL)
		return;
	if (w->nmaps > OLD_MAPS_MAX) {
		log_warnx("store watch: %s was replaced too often; falling back on "
		    "refresh_interval", w->shm_path);
		atomic_store(&w->hdr, NULL);
		return;
	}
	fd = open(w->shm_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		atomic_store(&w->hdr, NULL);
		return;
	}
	m = mmap(NULL, SHM_MAP_LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED || fstat(fd, &st) != 0) {
		log_warn("store watch: mmap %s", w->shm_path);
		if (m != MAP_FAILED)
			munmap(m, SHM_MAP_LEN);
		atomic_store(&w->hdr, NULL);
		/* fd stays open (see above); it is closed with the others. */
		m = NULL;
	}
	w->map_fds[w->nmaps] = fd;
	w->maps[w->nmaps++] = m;
	if (m == NULL)
		return;
	w->shm_ino = st.st_ino;
	atomic_store(&w->hdr, (const uint32_t *)m);
}

/* (Re)watch the database and its WAL for writes; a missing file is watched once it appears. */
static void
watch_files(kdcd_watch *w)
{
	if (w->inotify_fd < 0)
		return;
	w->wd_db = inotify_add_watch(w->inotify_fd, w->db_path, IN_MODIFY | IN_CLOSE_WRITE);
	w->wd_wal = inotify_add_watch(w->inotify_fd, w->wal_path, IN_MODIFY | IN_CLOSE_WRITE);
}

static lethe_status
split_path(kdcd_watch *w, const char *db_path, char *dir, size_t dir_len)
{
	const char *slash = strrchr(db_path, '/');
	const char *base = slash != NULL ? slash + 1 : db_path;
	int n;

	if (slash == NULL)
		n = snprintf(dir, dir_len, ".");
	else if (slash == db_path)
		n = snprintf(dir, dir_len, "/");
	else
		n = snprintf(dir, dir_len, "%.*s", (int)(slash - db_path), db_path);
	ENSURE(n > 0 && (size_t)n < dir_len, LETHE_ERR_TOO_BIG);
	ENSURE(snprintf(w->db_name, sizeof(w->db_name), "%s", base) <
	    (int)sizeof(w->db_name), LETHE_ERR_TOO_BIG);
	ENSURE(snprintf(w->wal_name, sizeof(w->wal_name), "%s-wal", base) <
	    (int)sizeof(w->wal_name), LETHE_ERR_TOO_BIG);
	ENSURE(snprintf(w->shm_name, sizeof(w->shm_name), "%s-shm", base) <
	    (int)sizeof(w->shm_name), LETHE_ERR_TOO_BIG);
	ENSURE(snprintf(w->shm_path, sizeof(w->shm_path), "%s-shm", db_path) <
	    (int)sizeof(w->shm_path), LETHE_ERR_TOO_BIG);
	ENSURE(snprintf(w->wal_path, sizeof(w->wal_path), "%s-wal", db_path) <
	    (int)sizeof(w->wal_path), LETHE_ERR_TOO_BIG);
	ENSURE(snprintf(w->db_path, sizeof(w->db_path), "%s", db_path) <
	    (int)sizeof(w->db_path), LETHE_ERR_TOO_BIG);
	return LETHE_OK;
}

lethe_status
kdcd_watch_open(const char *db_path, kdcd_watch **out)
{
	kdcd_watch *w = calloc(1, sizeof(*w));
	char dir[WATCH_PATH_MAX];

	*out = NULL;
	ENSURE(w != NULL, LETHE_ERR_NOMEM);
	w->inotify_fd = -1;
	w->wd_db = w->wd_wal = -1;
	atomic_init(&w->hdr, NULL);
	atomic_init(&w->notify_fd, -1);
	atomic_init(&w->notified, 0);
	if (store_path_is_url(db_path)) {
		w->shared = true;
		/* No files: kdcd_watch_attach() follows the store's notifications. */
		*out = w;
		return LETHE_OK;
	}
	if (split_path(w, db_path, dir, sizeof(dir)) != LETHE_OK) {
		log_warnx("store watch: the path %.200s is too long to watch", db_path);
		*out = w;
		return LETHE_OK;
	}
	/* The files themselves for writes (not the folder: a log written
	 * beside the store would wake the refresher on every line), the
	 * folder only for files appearing or going. */
	w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->inotify_fd >= 0 && inotify_add_watch(w->inotify_fd, dir,
	    IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR) < 0) {
		log_warn("store watch: inotify on %s", dir);
		close(w->inotify_fd);
		w->inotify_fd = -1;
	}
	watch_files(w);
	map_shm(w);
	if (atomic_load(&w->hdr) == NULL)
		log_warnx("store watch: %s cannot be mapped yet; changes are seen through "
		    "inotify and refresh_interval", w->shm_path);
	*out = w;
	return LETHE_OK;
}

void
kdcd_watch_attach(kdcd_watch *w, store *st)
{
	lethe_status rc = store_notify_listen(st);

	if (rc == LETHE_ERR_UNSUPPORTED) {
		w->st = NULL;
		atomic_store(&w->notify_fd, -1);
		return;
	}
	w->st = st;
	atomic_store(&w->notify_fd, store_notify_fd(st));
	if (rc != LETHE_OK)
		log_warnx("store watch: no notification connection yet (%s); polling the "
		    "generation every refresh_interval meanwhile", store_errmsg(st));
}

void
kdcd_watch_close(kdcd_watch *w)
{
	if (w == NULL)
		return;
	if (w->inotify_fd >= 0)
		close(w->inotify_fd);
	for (size_t i = 0; i < w->nmaps; i++) {
		if (w->maps[i] != NULL)
			munmap(w->maps[i], SHM_MAP_LEN);
		close(w->map_fds[i]);
	}
	free(w);
}

/*
 * A PostgreSQL store's stamp: 2 + twice the drains of a readable LISTEN
 * socket, plus one while that socket holds unread bytes (a notification
 * on its way to the refresher). The socket may be closed and its number reused
 * meanwhile: that costs one needless check, never a missed one.
 */
static uint64_t
notify_stamp(const kdcd_watch *w)
{
	struct pollfd p = { .fd = atomic_load(&w->notify_fd), .events = POLLIN };
	bool pending = p.fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
	/* After the poll: kdcd_watch_drain counts before it reads the socket. */
	uint64_t n = atomic_load(&w->notified);

	return 2 + 2 * n + (pending ? 1 : 0);
}

uint64_t
kdcd_watch_stamp(const kdcd_watch *w)
{
	const volatile uint32_t *hdr = atomic_load(&w->hdr);
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	if (w->shared)
		return notify_stamp(w);
	if (hdr == NULL)
		return 0;
	for (size_t i = 0; i < WAL_HDR_WORDS; i++) {
		h ^= hdr[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h != 0 ? h : 1;
}

int
kdcd_watch_fd(const kdcd_watch *w)
{
	return w->st != NULL ? store_notify_fd(w->st) : w->inotify_fd;
}

bool
kdcd_watch_drain(kdcd_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool ours = false, remap = atomic_load(&w->hdr) == NULL, rewatch = false;
	ssize_t n;

	if (w->st != NULL) {
		struct pollfd p = { .fd = store_notify_fd(w->st), .events = POLLIN };

		/*
		 * Count before the bytes leave the socket: a request that polls
		 * after they left reads the new count (notify_stamp), never the
		 * old count with an empty socket.
		 */
		if (p.fd >= 0 && poll(&p, 1, 0) > 0)
			atomic_fetch_add(&w->notified, 1);
		(void)store_notify_drain(w->st);
		atomic_store(&w->notify_fd, store_notify_fd(w->st));
		return false;
	}
	if (w->inotify_fd < 0)
		return false;
	while ((n = read(w->inotify_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			bool named = ev->len > 0;

			if ((ev->wd == w->wd_db || ev->wd == w->wd_wal) &&
			    (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE)) != 0)
				ours = true;
			if (named && (strcmp(ev->name, w->db_name) == 0 ||
			    strcmp(ev->name, w->wal_name) == 0)) {
				ours = true;        /* appeared, replaced or gone */
				rewatch = true;
			}
			if (named && strcmp(ev->name, w->shm_name) == 0)
				remap = true;
			if (ev->mask & IN_Q_OVERFLOW)
				ours = rewatch = remap = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (rewatch)
		watch_files(w);
	if (remap)
		map_shm(w);
	return ours;
}
