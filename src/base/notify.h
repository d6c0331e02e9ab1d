/*
 * Telling the service manager how a daemon is doing (systemd's sd_notify
 * protocol, for units of Type=notify). Every call is a no-op returning
 * LETHE_OK when the process was not started by a manager that listens
 * (NOTIFY_SOCKET unset), or when Lethe was built without libsystemd.
 */
#ifndef LETHE_BASE_NOTIFY_H
#define LETHE_BASE_NOTIFY_H

#include "base/status.h"

typedef enum lethe_notify_state {
	LETHE_NOTIFY_READY,       /* serving: READY=1 */
	LETHE_NOTIFY_RELOADING,   /* rereading the configuration: RELOADING=1 */
	LETHE_NOTIFY_STOPPING,    /* shutting down: STOPPING=1 */
} lethe_notify_state;

/*
 * Send state, with status_text (NULL: none; one line, newlines become
 * blanks) as the unit's STATUS=. Safe from any thread. LETHE_ERR_IO (and
 * a warning logged) when a manager listens but the message could not be
 * sent.
 */
lethe_status lethe_notify(lethe_notify_state state, const char *status_text);

#endif
