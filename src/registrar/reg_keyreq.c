/*
 * The key-request queue: KDC worker threads ask (reg_keyreq_send), the
 * registrar thread sends (reg_listen.c). A principal is queued at most
 * once per interval; the queue is bounded; a worker only takes a mutex
 * and writes one byte to a non-blocking pipe.
 */
#include "registrar/service.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEYREQ_RECENT 256u      /* principals remembered for the rate limit */

typedef struct keyreq_recent {
	char *name;
	int64_t sent_at;        /* monotonic seconds */
} keyreq_recent;

struct reg_keyreq {
	pthread_mutex_t mu;
	int pipe_rd;
	int pipe_wr;
	unsigned interval;
	keyreq_recent recent[KEYREQ_RECENT];       /* under mu */
	char *queue[REG_KEYREQ_QUEUE];             /* ring, under mu */
	size_t head;
	size_t count;
	reg_keyreq_stats stats;                    /* under mu */
};

static int64_t
monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static lethe_status
make_pipe(reg_keyreq *q)
{
	int fds[2];

	ENSURE(pipe(fds) == 0, LETHE_ERR_IO);
	for (int i = 0; i < 2; i++) {
		if (fcntl(fds[i], F_SETFL, O_NONBLOCK) != 0 ||
		    fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
			close(fds[0]);
			close(fds[1]);
			return LETHE_ERR_IO;
		}
	}
	q->pipe_rd = fds[0];
	q->pipe_wr = fds[1];
	return LETHE_OK;
}

lethe_status
reg_keyreq_new(unsigned interval, reg_keyreq **out)
{
	reg_keyreq *q;
	lethe_status rc;

	*out = NULL;
	ENSURE(interval > 0, LETHE_ERR_INVALID_ARG);
	q = calloc(1, sizeof(*q));
	ENSURE(q != NULL, LETHE_ERR_NOMEM);
	if ((rc = make_pipe(q)) != LETHE_OK) {
		free(q);
		return rc;
	}
	pthread_mutex_init(&q->mu, NULL);
	q->interval = interval;
	*out = q;
	return LETHE_OK;
}

void
reg_keyreq_free(reg_keyreq *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < KEYREQ_RECENT; i++)
		free(q->recent[i].name);
	for (size_t i = 0; i < q->count; i++)
		free(q->queue[(q->head + i) % REG_KEYREQ_QUEUE]);
	close(q->pipe_rd);
	close(q->pipe_wr);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

/*
 * The slot remembering name, or the one to reuse for it (free, else the
 * oldest); *found says which. Under mu.
 */
static keyreq_recent *
recent_slot(reg_keyreq *q, const char *name, bool *found)
{
	keyreq_recent *oldest = &q->recent[0];

	*found = false;
	for (size_t i = 0; i < KEYREQ_RECENT; i++) {
		keyreq_recent *r = &q->recent[i];
		if (r->name != NULL && strcmp(r->name, name) == 0) {
			*found = true;
			return r;
		}
		if (r->name == NULL)
			oldest = r;
		else if (oldest->name != NULL && r->sent_at < oldest->sent_at)
			oldest = r;
	}
	return oldest;
}

/* Queue name unless rate-limited or full. Under mu. True if queued. */
static bool
enqueue(reg_keyreq *q, const char *name, int64_t now)
{
	keyreq_recent *slot;
	bool found;
	char *copy = NULL, *qcopy = NULL;

	slot = recent_slot(q, name, &found);
	if (found && now - slot->sent_at < (int64_t)q->interval) {
		q->stats.rate_limited++;
		return false;
	}
	if (q->count == REG_KEYREQ_QUEUE) {
		q->stats.queue_full++;
		return false;
	}
	if (!found && (copy = strdup(name)) == NULL)
		return false;
	if ((qcopy = strdup(name)) == NULL) {
		free(copy);
		return false;
	}
	if (!found) {
		free(slot->name);
		slot->name = copy;
	}
	slot->sent_at = now;
	q->queue[(q->head + q->count) % REG_KEYREQ_QUEUE] = qcopy;
	q->count++;
	q->stats.queued++;
	return true;
}

void
reg_keyreq_send(void *ctx, const char *principal)
{
	reg_keyreq *q = ctx;
	bool queued;
	ssize_t n;

	if (q == NULL || principal == NULL || principal[0] == '\0' ||
	    strlen(principal) > STORE_MAX_NAME_LEN)
		return;
	pthread_mutex_lock(&q->mu);
	queued = enqueue(q, principal, monotonic_seconds());
	pthread_mutex_unlock(&q->mu);
	if (queued) {
		/* A full pipe already wakes the reader: EAGAIN is fine. */
		do {
			n = write(q->pipe_wr, "k", 1);
		} while (n < 0 && errno == EINTR);
	}
}

int
reg_keyreq_fd(const reg_keyreq *q)
{
	return q->pipe_rd;
}

bool
reg_keyreq_next(reg_keyreq *q, char *name, size_t cap)
{
	char *taken = NULL;
	uint8_t drain[64];

	pthread_mutex_lock(&q->mu);
	if (q->count > 0) {
		taken = q->queue[q->head];
		q->queue[q->head] = NULL;
		q->head = (q->head + 1) % REG_KEYREQ_QUEUE;
		q->count--;
	} else {
		/* Empty: drain the wake-ups under mu, so none is lost to a racing send. */
		while (read(q->pipe_rd, drain, sizeof(drain)) > 0)
			;
	}
	pthread_mutex_unlock(&q->mu);
	if (taken == NULL)
		return false;
	if (cap > 0) {
		size_t len = strlen(taken);
		if (len >= cap)
			len = cap - 1;
		memcpy(name, taken, len);
		name[len] = '\0';
	}
	free(taken);
	return true;
}

void
reg_keyreq_stats_get(reg_keyreq *q, reg_keyreq_stats *out)
{
	pthread_mutex_lock(&q->mu);
	*out = q->stats;
	pthread_mutex_unlock(&q->mu);
}
