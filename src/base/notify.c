#include "base/notify.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#ifdef LETHE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "base/log.h"

#define NOTIFY_STATUS_MAX 200   /* STATUS= text kept, bytes */

lethe_status
lethe_notify(lethe_notify_state state, const char *status_text)
{
#ifdef LETHE_HAVE_SYSTEMD
	char status[NOTIFY_STATUS_MAX + 1] = "";
	struct timespec ts;
	int rc;

	if (status_text != NULL) {
		snprintf(status, sizeof(status), "%s", status_text);
		for (char *p = status; *p != '\0'; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
	}
	switch (state) {
	case LETHE_NOTIFY_READY:
		rc = sd_notifyf(0, "READY=1%s%s", status[0] ? "\nSTATUS=" : "", status);
		break;
	case LETHE_NOTIFY_RELOADING:
		/* MONOTONIC_USEC: systemd 253's Type=notify-reload asks for it. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rc = sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu%s%s",
		    (unsigned long long)ts.tv_sec * 1000000ull +
		    (unsigned long long)ts.tv_nsec / 1000ull,
		    status[0] ? "\nSTATUS=" : "", status);
		break;
	case LETHE_NOTIFY_STOPPING:
		rc = sd_notifyf(0, "STOPPING=1%s%s", status[0] ? "\nSTATUS=" : "", status);
		break;
	default:
		return LETHE_ERR_INVALID_ARG;
	}
	if (rc < 0) {
		errno = -rc;
		log_warn("telling the service manager (NOTIFY_SOCKET)");
		return LETHE_ERR_IO;
	}
	return LETHE_OK;
#else
	(void)status_text;
	return state <= LETHE_NOTIFY_STOPPING ? LETHE_OK : LETHE_ERR_INVALID_ARG;
#endif
}
