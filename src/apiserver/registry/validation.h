/* SPDX-License-Identifier: Apache-2.0 */
/* Defaulting and validation of built-in objects (the core fields kubectl users hit):
 * names (DNS-1123 subdomain/label per resource), labels and annotations, pod spec essentials
 * (containers with name and image, unique names, ports, restartPolicy, dnsPolicy, ...),
 * workload selectors matching templates, services, configmap/secret keys. */
#ifndef CK_VALIDATION_H
#define CK_VALIDATION_H

#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Applies upstream's defaults in place (e.g. pod restartPolicy Always, dnsPolicy
 * ClusterFirst, container terminationMessagePath/Policy and imagePullPolicy,
 * deployment strategy RollingUpdate 25%/25%, replicas 1, revisionHistoryLimit 10,
 * progressDeadlineSeconds 600, service type ClusterIP/sessionAffinity None, ...). */
void validation_default(const char *group, const char *resource, json_t *obj);

/* Validates obj (old is the stored object on update, NULL on create). On failure returns -1
 * with CK_R_INVALID, err->causes filled (type "FieldValueRequired"/"FieldValueInvalid"/...,
 * field "metadata.name", ...), and a message exactly like upstream's:
 * `Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1: must be greater than or
 * equal to 0`. kind is the object's Kind for the message. */
int validation_validate(const char *group, const char *resource, const char *kind,
                        const json_t *obj, const json_t *old, struct ck_err *err);

/* Name checks usable by the registry for path names: DNS-1123 subdomain / label. */
bool validation_is_dns1123_subdomain(const char *s);
bool validation_is_dns1123_label(const char *s);

/* DNS-1035 label (services): like a DNS-1123 label but starting with a letter. */
bool validation_is_dns1035_label(const char *s);

/* resource.Quantity ("100m", "1Gi", "1e3", "-2", 5): returns 0 and the value in nano-units
 * (saturated at +/- 2^120), or -1 when the text does not parse. A JSON integer or real is
 * accepted as its decimal value. */
int validation_quantity_nano(const json_t *q, __int128 *nano);
/* resource.Quantity's canonical text ("1000m" -> "1", "0.5" -> "500m", "1024Mi" -> "1Gi",
 * "1e3" -> "1e3", 2 -> "2"): new string, or NULL when q does not parse. */
char *validation_quantity_canonical(const json_t *q);
/* Compares two quantities; returns 0 and sets *cmp (<0, 0, >0), or -1 if either is bad. */
int validation_quantity_cmp(const json_t *a, const json_t *b, int *cmp);

/* Pod QoS class ("Guaranteed", "Burstable", "BestEffort") of a (defaulted) pod spec. */
const char *validation_pod_qos(const json_t *podspec);

/* --- internal: the error list shared by validation*.c ---------------------------------- *
 * Each adder formats upstream's field.Error body ("Invalid value: \"x\": detail") and
 * records a cause. Values are Go-formatted: strings %q, integers %v, repr verbatim. */
struct vld;
void vld_required(struct vld *v, const char *field, const char *detail);
void vld_forbidden(struct vld *v, const char *field, const char *detail);
void vld_invalid_str(struct vld *v, const char *field, const char *value, const char *detail);
void vld_invalid_int(struct vld *v, const char *field, long long value, const char *detail);
void vld_invalid_repr(struct vld *v, const char *field, const char *repr, const char *detail);
void vld_duplicate_str(struct vld *v, const char *field, const char *value);
void vld_duplicate_repr(struct vld *v, const char *field, const char *repr);
void vld_not_found_str(struct vld *v, const char *field, const char *value);
void vld_not_supported(struct vld *v, const char *field, const char *value, const char *const *valid, size_t n);
void vld_too_long(struct vld *v, const char *field, long long max);
/* Marks an undecodable quantity: validation then fails with upstream's 400 decode error. */
void vld_bad_quantity(struct vld *v);
/* Number of errors so far. */
size_t vld_count(const struct vld *v);
/* Go's %q of s appended to a buffer-less string: new string. */
char *vld_quote(const char *s);
/* Go's %#v of a map[string]string (JSON object or NULL): new string. */
char *vld_go_map(const json_t *map);
/* Go's %#v of a *metav1.LabelSelector value: new string. */
char *vld_go_selector(const json_t *sel);

/* Name/label checks adding upstream's messages under field. */
void vld_dns1123_label(struct vld *v, const char *field, const char *s);
void vld_dns1123_subdomain(struct vld *v, const char *field, const char *s);
void vld_dns1035_label(struct vld *v, const char *field, const char *s);
/* IsValidPortName messages (IANA service names). */
void vld_port_name(struct vld *v, const char *field, const char *name);
void vld_labels(struct vld *v, const char *field, const json_t *labels);
/* IsQualifiedName on key, reporting shown as the value. */
void vld_qualified_name(struct vld *v, const char *field, const char *key, const char *shown);
void vld_label_selector(struct vld *v, const char *field, const json_t *sel);
/* Does the LabelSelector match the label map? (empty selector matches everything) */
bool vld_selector_matches(const json_t *sel, const json_t *labels);
void vld_nonneg(struct vld *v, const char *field, const json_t *obj, const char *key);

/* Per-kind validators (validation_pod.c, validation_apps.c, validation_core.c). */
void vld_pod(struct vld *v, const json_t *pod, const json_t *old);
void vld_podspec(struct vld *v, const char *path, const json_t *spec);
void vld_pod_template(struct vld *v, const char *path, const json_t *tmpl);
void vld_podtemplate(struct vld *v, const json_t *obj, const json_t *old);
void vld_deployment(struct vld *v, const json_t *obj, const json_t *old);
void vld_replicaset(struct vld *v, const json_t *obj, const json_t *old);
void vld_daemonset(struct vld *v, const json_t *obj, const json_t *old);
void vld_statefulset(struct vld *v, const json_t *obj, const json_t *old);
void vld_job(struct vld *v, const json_t *obj, const json_t *old);
void vld_cronjob(struct vld *v, const json_t *obj, const json_t *old);
void vld_service(struct vld *v, const json_t *obj, const json_t *old);
void vld_configmap(struct vld *v, const json_t *obj, const json_t *old);
void vld_secret(struct vld *v, const json_t *obj, const json_t *old);
void vld_node(struct vld *v, const json_t *obj, const json_t *old);
void vld_lease(struct vld *v, const json_t *obj, const json_t *old);
void vld_namespace(struct vld *v, const json_t *obj, const json_t *old);
void vld_role(struct vld *v, const json_t *obj, const json_t *old);
void vld_clusterrole(struct vld *v, const json_t *obj, const json_t *old);
void vld_rolebinding(struct vld *v, const json_t *obj, const json_t *old);
void vld_clusterrolebinding(struct vld *v, const json_t *obj, const json_t *old);
void vld_hpa(struct vld *v, const json_t *obj, const json_t *old);
void vld_ingress(struct vld *v, const json_t *obj, const json_t *old);
void vld_pdb(struct vld *v, const json_t *obj, const json_t *old);
void vld_pvc(struct vld *v, const json_t *obj, const json_t *old);
void vld_pv(struct vld *v, const json_t *obj, const json_t *old);
void vld_storageclass(struct vld *v, const json_t *obj, const json_t *old);
void vld_resourcequota(struct vld *v, const json_t *obj, const json_t *old);
void vld_limitrange(struct vld *v, const json_t *obj, const json_t *old);
void vld_priorityclass(struct vld *v, const json_t *obj, const json_t *old);
/* validation_groups.c: certificates, events.k8s.io creates, node, storage CSI, admission
 * registration, flow control. */
void vld_csr(struct vld *v, const json_t *obj, const json_t *old);
void vld_event_v1(struct vld *v, const json_t *obj, const json_t *old);
void vld_runtimeclass(struct vld *v, const json_t *obj, const json_t *old);
void vld_csidriver(struct vld *v, const json_t *obj, const json_t *old);
void vld_webhookconfig(struct vld *v, const json_t *obj, const json_t *old);
void vld_flowschema(struct vld *v, const json_t *obj, const json_t *old);
void vld_prioritylevel(struct vld *v, const json_t *obj, const json_t *old);
/* Defaults of those groups (called by validation_default). */
void validation_default_groups(const char *group, const char *resource, json_t *obj);
/* The strict rules of an Event created through events.k8s.io/v1 (ValidateEventCreate), on
 * its core/v1 form; messages name Event.events.k8s.io. */
int validation_event_v1_create(const json_t *core_event, struct ck_err *err);

/* Cron schedule check: NULL when valid, else robfig/cron's error text (static buffer owned
 * by the caller: out of size n). */
bool validation_cron_ok(const char *sched, char *out, size_t n);

#endif
