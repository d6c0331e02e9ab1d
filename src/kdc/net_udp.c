/* KDC network loop: UDP batches with recvmmsg and sendmmsg. */
#define _GNU_SOURCE
#include "kdc/net_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

_Static_assert(NET_CMSG_SPACE >= CMSG_SPACE(sizeof(struct in6_pktinfo)) &&
    NET_CMSG_SPACE >= CMSG_SPACE(sizeof(struct in_pktinfo)), "NET_CMSG_SPACE too small");

lethe_status
net_udp_alloc(net_worker *w)
{
	const kdc_net_config *cfg = &w->net->cfg;
	size_t b = cfg->udp_batch;

	/* check_config bounds these products well below SIZE_MAX */
	w->rx = calloc(b, sizeof(*w->rx));
	w->tx = calloc(b, sizeof(*w->tx));
	w->rx_iov = calloc(b, sizeof(*w->rx_iov));
	w->tx_iov = calloc(b, sizeof(*w->tx_iov));
	w->rx_addr = calloc(b, sizeof(*w->rx_addr));
	w->rx_buf = malloc(b * cfg->udp_max_request);
	w->tx_buf = malloc(b * cfg->udp_max_reply);
	w->rx_cmsg = calloc(b, NET_CMSG_SPACE);
	w->tx_cmsg = calloc(b, NET_CMSG_SPACE);
	ENSURE(w->rx != NULL && w->tx != NULL && w->rx_iov != NULL && w->tx_iov != NULL &&
	    w->rx_addr != NULL && w->rx_buf != NULL && w->tx_buf != NULL &&
	    w->rx_cmsg != NULL && w->tx_cmsg != NULL, LETHE_ERR_NOMEM);
	return LETHE_OK;
}

void
net_udp_free(net_worker *w)
{
	free(w->rx);
	free(w->tx);
	free(w->rx_iov);
	free(w->tx_iov);
	free(w->rx_addr);
	free(w->rx_buf);
	free(w->tx_buf);
	free(w->rx_cmsg);
	free(w->tx_cmsg);
}

/* recvmmsg overwrites lengths and flags: set every slot up again. */
static void
prepare_rx(net_worker *w, unsigned b, bool pktinfo)
{
	size_t max = w->net->cfg.udp_max_request;

	for (unsigned i = 0; i < b; i++) {
		struct msghdr *h = &w->rx[i].msg_hdr;
		w->rx_iov[i].iov_base = w->rx_buf + i * max;
		w->rx_iov[i].iov_len = max;
		memset(h, 0, sizeof(*h));
		h->msg_name = &w->rx_addr[i];
		h->msg_namelen = sizeof(w->rx_addr[i]);
		h->msg_iov = &w->rx_iov[i];
		h->msg_iovlen = 1;
		if (pktinfo) {
			h->msg_control = w->rx_cmsg + i * NET_CMSG_SPACE;
			h->msg_controllen = NET_CMSG_SPACE;
		}
		w->rx[i].msg_len = 0;
	}
}

/*
 * For a socket bound to a wildcard address, answer from the address the
 * request was sent to: write that as pktinfo into ctl. Returns its length.
 */
static size_t
reply_source(struct msghdr *rx, uint8_t *ctl)
{
	struct cmsghdr *out = (struct cmsghdr *)(void *)ctl;

	memset(ctl, 0, NET_CMSG_SPACE);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(rx); cm != NULL; cm = CMSG_NXTHDR(rx, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo in, reply = { 0 };
			memcpy(&in, CMSG_DATA(cm), sizeof(in));
			reply.ipi_spec_dst = in.ipi_addr;
			out->cmsg_level = IPPROTO_IP;
			out->cmsg_type = IP_PKTINFO;
			out->cmsg_len = CMSG_LEN(sizeof(reply));
			memcpy(CMSG_DATA(out), &reply, sizeof(reply));
			return CMSG_SPACE(sizeof(reply));
		}
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo in6;
			memcpy(&in6, CMSG_DATA(cm), sizeof(in6));
			out->cmsg_level = IPPROTO_IPV6;
			out->cmsg_type = IPV6_PKTINFO;
			out->cmsg_len = CMSG_LEN(sizeof(in6));
			memcpy(CMSG_DATA(out), &in6, sizeof(in6));
			return CMSG_SPACE(sizeof(in6));
		}
	}
	return 0;
}

/* Run the handler on received slot i; queue its reply in tx slot. */
static bool
answer(net_worker *w, unsigned i, unsigned slot)
{
	const kdc_net_config *cfg = &w->net->cfg;
	struct msghdr *rx = &w->rx[i].msg_hdr;
	struct msghdr *tx = &w->tx[slot].msg_hdr;
	size_t rep_len = 0, ctl_len;
	lethe_status rc;
	kdc_req_info info = {
		.transport = KDC_TRANSPORT_UDP,
		.peer = (const struct sockaddr *)&w->rx_addr[i],
		.peer_len = rx->msg_namelen,
		.max_reply = cfg->udp_max_reply,
		.worker = w->id,
		.worker_ctx = w->worker_ctx,
		.arena = &w->arena,
	};

	if (rx->msg_flags & MSG_TRUNC) {
		COUNT(w, drop_oversize);
		return false;
	}
	rc = cfg->handler(cfg->handler_ctx, &info, w->rx_iov[i].iov_base, w->rx[i].msg_len,
	    w->reply, cfg->max_reply, &rep_len);
	lethe_arena_reset(&w->arena);
	if (rc != LETHE_OK || rep_len == 0) {
		COUNT(w, drop_no_reply);
		return false;
	}
	if (rep_len > cfg->udp_max_reply) {
		COUNT(w, drop_reply_too_big);
		return false;
	}
	w->tx_iov[slot].iov_base = w->tx_buf + slot * cfg->udp_max_reply;
	w->tx_iov[slot].iov_len = rep_len;
	memcpy(w->tx_iov[slot].iov_base, w->reply, rep_len);
	memset(tx, 0, sizeof(*tx));
	tx->msg_name = &w->rx_addr[i];
	tx->msg_namelen = rx->msg_namelen;
	tx->msg_iov = &w->tx_iov[slot];
	tx->msg_iovlen = 1;
	ctl_len = rx->msg_control != NULL ? reply_source(rx, w->tx_cmsg + slot * NET_CMSG_SPACE) : 0;
	if (ctl_len > 0) {
		tx->msg_control = w->tx_cmsg + slot * NET_CMSG_SPACE;
		tx->msg_controllen = ctl_len;
	}
	return true;
}

/* Send n queued replies; a reply the kernel refuses is counted and skipped. */
static void
send_batch(net_worker *w, int fd, unsigned n)
{
	unsigned sent = 0;

	while (sent < n) {
		int r = sendmmsg(fd, w->tx + sent, n - sent, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			COUNT(w, udp_send_failed);
			sent++;
			continue;
		}
		COUNT_N(w, udp_out, (unsigned)r);
		sent += (unsigned)r;
	}
}

void
net_udp_readable(net_worker *w, size_t ai)
{
	unsigned b = w->net->cfg.udp_batch, queued = 0;
	int fd = w->udp_fds[ai];
	int n;

	prepare_rx(w, b, w->net->udp_pktinfo[ai]);
	n = recvmmsg(fd, w->rx, b, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_debug("worker %u: recvmmsg: %s", w->id, strerror(errno));
		return;
	}
	COUNT_N(w, udp_in, (unsigned)n);
	for (unsigned i = 0; i < (unsigned)n; i++) {
		if (answer(w, i, queued))
			queued++;
	}
	send_batch(w, fd, queued);
}
