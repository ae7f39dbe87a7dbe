/* SPDX-License-Identifier: Apache-2.0 */
/* The REST client every ckube component uses to reach an API server (ours or upstream):
 * kubeconfig / in-cluster config, connection reuse over HTTP/2 or HTTP/1.1, a timeout on
 * every request, client-side QPS/burst throttling, retries with backoff for 429 and for 5xx
 * on idempotent verbs, Status errors decoded into struct ck_err, and watch streams. */
#ifndef CKUBE_CLIENT_H
#define CKUBE_CLIENT_H

#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct ck_client_config {
    char *server;     /* "https://127.0.0.1:6443" */
    char *ca_file;    /* PEM file, or NULL */
    char *ca_data;    /* PEM bytes (decoded certificate-authority-data), or NULL */
    char *cert_file, *key_file; /* client certificate, or NULL */
    char *cert_data, *key_data; /* PEM bytes, or NULL */
    char *token;      /* bearer token, or NULL */
    bool insecure;    /* insecure-skip-tls-verify */
    double qps;       /* 0 = 5 (client-go default) */
    int burst;        /* 0 = 10 */
    int timeout_ms;   /* per request, 0 = 30000 */
    char *user_agent; /* NULL = "ckube/<version>" */
};

/* Loads path (NULL: $KUBECONFIG, else ~/.kube/config), using context (NULL: current-context).
 * Errors name the file and the missing piece. */
int ck_config_from_kubeconfig(const char *path, const char *context, struct ck_client_config *out,
                              struct ck_err *err);
/* From /var/run/secrets/kubernetes.io/serviceaccount (token, ca.crt) and
 * KUBERNETES_SERVICE_HOST/PORT; root overrides the directory (NULL = the standard one). */
int ck_config_in_cluster(const char *root, struct ck_client_config *out, struct ck_err *err);
void ck_client_config_release(struct ck_client_config *c);

struct ck_client;

int ck_client_new(const struct ck_client_config *cfg, struct ck_client **out, struct ck_err *err);
void ck_client_free(struct ck_client *c);

struct ck_response {
    int status;
    struct ck_buf body; /* ceiling: 512 MiB */
};
void ck_response_release(struct ck_response *r);

/* One request. path includes the query ("/api/v1/pods?limit=5"). Returns 0 for a 2xx answer;
 * otherwise -1 with err filled from the response's Status (reason, code, message) or from
 * the transport failure (CK_R_SERVICE_UNAVAILABLE / CK_R_TIMEOUT). resp may be NULL. */
int ck_client_do(struct ck_client *c, const char *method, const char *path,
                 const char *content_type, const void *body, size_t body_len,
                 struct ck_response *resp, struct ck_err *err);

/* JSON helpers: *out (optional) receives the decoded response body (new reference). */
int ck_client_get_json(struct ck_client *c, const char *path, json_t **out, struct ck_err *err);
int ck_client_create_json(struct ck_client *c, const char *path, const json_t *obj, json_t **out,
                          struct ck_err *err);
int ck_client_update_json(struct ck_client *c, const char *path, const json_t *obj, json_t **out,
                          struct ck_err *err);
/* patch_type: "application/merge-patch+json", "application/strategic-merge-patch+json",
 * "application/json-patch+json". */
int ck_client_patch_json(struct ck_client *c, const char *path, const char *patch_type,
                         const json_t *patch, json_t **out, struct ck_err *err);
int ck_client_delete(struct ck_client *c, const char *path, struct ck_err *err);

/* Streams a watch: calls on_event for each event object ({"type":..., "object":...}) until
 * the server ends the stream (returns 0), *stop becomes non-zero (returns 0), on_event
 * returns non-zero (returns that), or a transport error (-1, err filled). The request has no
 * overall timeout (the server's timeoutSeconds bounds it) but is aborted when no byte arrives
 * for idle_timeout_ms (0 = 5 minutes). */
typedef int (*ck_watch_fn)(void *arg, json_t *event);
int ck_client_watch(struct ck_client *c, const char *path, int idle_timeout_ms, ck_watch_fn on_event,
                    void *arg, volatile int *stop, struct ck_err *err);

#endif
