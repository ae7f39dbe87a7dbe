/* SPDX-License-Identifier: Apache-2.0 */
/* eng_metrics.c: upstream's scrape-time API server families. */
#ifndef CK_ENDPOINTS_ENG_METRICS_H
#define CK_ENDPOINTS_ENG_METRICS_H

#include "lib/buf.h"

struct api_server;

/* Appends apiserver_storage_objects, apiserver_registered_watchers,
 * apiserver_longrunning_requests and apiserver_watch_events_total; 0 or -1 (out full). */
int eng_upstream_metrics(struct api_server *s, struct ck_buf *out);

#endif
