/* SPDX-License-Identifier: Apache-2.0 */
/* Shared state of alloc.c (Service allocation, repair) and kubesvc.c (default/kubernetes and
 * its endpoint reconciler). */
#ifndef CK_APISERVER_ALLOC_INT_H
#define CK_APISERVER_ALLOC_INT_H

#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/svcrange.h"

#include <pthread.h>
#include <stdbool.h>

#define ENG_KEY_SVCIPS "/registry/core/serviceips/"
#define ENG_KEY_NODEPORTS "/registry/core/servicenodeports/"
#define ENG_KEY_LEASES "/registry/core/masterleases/"

struct eng_svcalloc {
    struct svc_ip_range ips;
    struct svc_port_range ports;
    /* kubesvc.c: the endpoint reconciler of default/kubernetes */
    pthread_t th;
    bool started, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char host[64]; /* this server's IPv4 address and port ("" when not an IPv4 address) */
    int port;
    char lease_key[128];
};

/* alloc.c: reconciles the allocation keys with the stored Services (upstream's repair
 * loops): missing keys created, keys of no Service deleted, duplicates reported. */
void eng_alloc_repair(struct api_server *s);

#endif
