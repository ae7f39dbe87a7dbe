/* SPDX-License-Identifier: Apache-2.0 */
/* The resource registry: one data-driven table entry per served resource (group, version,
 * kind, scope, verbs, short names, categories, subresources, selectable fields) and lookups
 * by (group, version, plural) and by store key. */
#include "apiserver/registry/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define NS REG_NAMESPACED
#define ST REG_STATUS
#define GEN REG_GENERATION

/* Upstream's field sets (pkg/registry/.../strategy.go ToSelectableFields / conversions). */
#define POD_FIELDS                                                                                 \
    {{"spec.nodeName", NULL, ""},                                                                  \
     {"spec.restartPolicy", NULL, ""},                                                             \
     {"spec.schedulerName", NULL, ""},                                                             \
     {"spec.serviceAccountName", NULL, ""},                                                        \
     {"spec.hostNetwork", NULL, "false"},                                                          \
     {"status.phase", NULL, ""},                                                                   \
     {"status.podIP", NULL, ""},                                                                   \
     {"status.podIPs", "status.podIP", ""},                                                        \
     {"status.nominatedNodeName", NULL, ""}}
#define EVENT_FIELDS                                                                               \
    {{"involvedObject.kind", NULL, ""},                                                            \
     {"involvedObject.namespace", NULL, ""},                                                       \
     {"involvedObject.name", NULL, ""},                                                            \
     {"involvedObject.uid", NULL, ""},                                                             \
     {"involvedObject.apiVersion", NULL, ""},                                                      \
     {"involvedObject.resourceVersion", NULL, ""},                                                 \
     {"involvedObject.fieldPath", NULL, ""},                                                       \
     {"reason", NULL, ""},                                                                         \
     {"reportingComponent", NULL, ""},                                                             \
     {"source", "source.component", ""},                                                           \
     {"type", NULL, ""}}

static struct reg_resource table[] = {
    {"", "v1", "Namespace", "NamespaceList", "namespaces", "namespace",
     ST | REG_FINALIZE | REG_DNS_LABEL, REG_NO_DC, {"ns"}, {NULL}, {{"status.phase", NULL, ""}}, .idx = 0},
    {"", "v1", "Pod", "PodList", "pods", "pod", NS | ST | REG_BINDING | REG_EVICTION | REG_EPHEMERAL | REG_RETURN_DELETED,
     REG_ALL_VERBS, {"po"}, {"all"}, POD_FIELDS, .idx = 0},
    {"", "v1", "Node", "NodeList", "nodes", "node", ST, REG_ALL_VERBS, {"no"}, {NULL},
     {{"spec.unschedulable", NULL, "false"}}, .idx = 0},
    {"", "v1", "Service", "ServiceList", "services", "service",
     NS | ST | REG_RETURN_DELETED | REG_DNS1035, REG_ALL_VERBS, {"svc"}, {"all"},
     {{"spec.clusterIP", NULL, ""}, {"spec.type", NULL, ""}}, .idx = 0},
    {"", "v1", "Endpoints", "EndpointsList", "endpoints", "endpoints", NS | REG_CREATE_ON_UPDATE,
     REG_ALL_VERBS, {"ep"},
     {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"", "v1", "ConfigMap", "ConfigMapList", "configmaps", "configmap", NS, REG_ALL_VERBS,
     {"cm"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"", "v1", "Secret", "SecretList", "secrets", "secret", NS, REG_ALL_VERBS, {NULL}, {NULL},
     {{"type", NULL, ""}}, .idx = 0},
    {"", "v1", "ServiceAccount", "ServiceAccountList", "serviceaccounts", "serviceaccount", NS,
     REG_ALL_VERBS, {"sa"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"", "v1", "Event", "EventList", "events", "event", NS | REG_CREATE_ON_UPDATE, REG_ALL_VERBS,
     {"ev"}, {NULL},
     EVENT_FIELDS, .idx = 0},
    {"", "v1", "LimitRange", "LimitRangeList", "limitranges", "limitrange", NS, REG_ALL_VERBS,
     {"limits"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"", "v1", "ResourceQuota", "ResourceQuotaList", "resourcequotas", "resourcequota", NS | ST,
     REG_ALL_VERBS, {"quota"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"", "v1", "PodTemplate", "PodTemplateList", "podtemplates", "podtemplate", NS,
     REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"", "v1", "ReplicationController", "ReplicationControllerList", "replicationcontrollers",
     "replicationcontroller", NS | ST | REG_SCALE | GEN, REG_ALL_VERBS, {"rc"}, {"all"},
     {{"status.replicas", NULL, "0"}}, .idx = 0},
    {"apps", "v1", "Deployment", "DeploymentList", "deployments", "deployment",
     NS | ST | REG_SCALE | GEN, REG_ALL_VERBS, {"deploy"}, {"all"}, {{NULL, NULL, NULL}}, .idx = 0},
    {"apps", "v1", "ReplicaSet", "ReplicaSetList", "replicasets", "replicaset",
     NS | ST | REG_SCALE | GEN, REG_ALL_VERBS, {"rs"}, {"all"}, {{"status.replicas", NULL, "0"}}, .idx = 0},
    {"apps", "v1", "DaemonSet", "DaemonSetList", "daemonsets", "daemonset", NS | ST | GEN,
     REG_ALL_VERBS, {"ds"}, {"all"}, {{NULL, NULL, NULL}}, .idx = 0},
    {"apps", "v1", "StatefulSet", "StatefulSetList", "statefulsets", "statefulset",
     NS | ST | REG_SCALE | GEN, REG_ALL_VERBS, {"sts"}, {"all"}, {{NULL, NULL, NULL}}, .idx = 0},
    {"apps", "v1", "ControllerRevision", "ControllerRevisionList", "controllerrevisions",
     "controllerrevision", NS, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"batch", "v1", "Job", "JobList", "jobs", "job", NS | ST | GEN, REG_ALL_VERBS, {NULL},
     {"all"}, {{"status.successful", NULL, "0"}}, .idx = 0},
    {"batch", "v1", "CronJob", "CronJobList", "cronjobs", "cronjob", NS | ST | GEN,
     REG_ALL_VERBS, {"cj"}, {"all"}, {{NULL, NULL, NULL}}, .idx = 0},
    {"coordination.k8s.io", "v1", "Lease", "LeaseList", "leases", "lease", NS, REG_ALL_VERBS,
     {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"discovery.k8s.io", "v1", "EndpointSlice", "EndpointSliceList", "endpointslices",
     "endpointslice", NS, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"events.k8s.io", "v1", "Event", "EventList", "events", "event", NS | REG_CREATE_ON_UPDATE,
     REG_ALL_VERBS, {"ev"},
     {NULL}, {{NULL, NULL, NULL}}, .idx = 0, .stored_as = "v1/events"},
    {"", "v1", "PersistentVolume", "PersistentVolumeList", "persistentvolumes",
     "persistentvolume", ST, REG_ALL_VERBS, {"pv"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"", "v1", "PersistentVolumeClaim", "PersistentVolumeClaimList", "persistentvolumeclaims",
     "persistentvolumeclaim", NS | ST, REG_ALL_VERBS, {"pvc"}, {NULL}, {{NULL, NULL, NULL}},
     .idx = 0},
    {"autoscaling", "v2", "HorizontalPodAutoscaler", "HorizontalPodAutoscalerList",
     "horizontalpodautoscalers", "horizontalpodautoscaler", NS | ST, REG_ALL_VERBS, {"hpa"},
     {"all"}, {{NULL, NULL, NULL}}, .idx = 0},
    {"networking.k8s.io", "v1", "Ingress", "IngressList", "ingresses", "ingress", NS | ST | GEN,
     REG_ALL_VERBS, {"ing"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"networking.k8s.io", "v1", "IngressClass", "IngressClassList", "ingressclasses",
     "ingressclass", 0, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"networking.k8s.io", "v1", "NetworkPolicy", "NetworkPolicyList", "networkpolicies",
     "networkpolicy", NS | GEN, REG_ALL_VERBS, {"netpol"}, {NULL}, {{NULL, NULL, NULL}},
     .idx = 0},
    {"rbac.authorization.k8s.io", "v1", "ClusterRole", "ClusterRoleList", "clusterroles",
     "clusterrole", 0, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "ClusterRoleBindingList",
     "clusterrolebindings", "clusterrolebinding", 0, REG_ALL_VERBS, {NULL}, {NULL},
     {{NULL, NULL, NULL}}, .idx = 0},
    {"rbac.authorization.k8s.io", "v1", "Role", "RoleList", "roles", "role", NS, REG_ALL_VERBS,
     {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"rbac.authorization.k8s.io", "v1", "RoleBinding", "RoleBindingList", "rolebindings",
     "rolebinding", NS, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"storage.k8s.io", "v1", "StorageClass", "StorageClassList", "storageclasses",
     "storageclass", 0, REG_ALL_VERBS, {"sc"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"scheduling.k8s.io", "v1", "PriorityClass", "PriorityClassList", "priorityclasses",
     "priorityclass", 0, REG_ALL_VERBS, {"pc"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"authorization.k8s.io", "v1", "SelfSubjectAccessReview", "SelfSubjectAccessReviewList",
     "selfsubjectaccessreviews", "", REG_VIRTUAL, REG_CREATE, {NULL}, {NULL},
     {{NULL, NULL, NULL}}, .idx = 0},
    {"authorization.k8s.io", "v1", "SelfSubjectRulesReview", "SelfSubjectRulesReviewList",
     "selfsubjectrulesreviews", "", REG_VIRTUAL, REG_CREATE, {NULL}, {NULL},
     {{NULL, NULL, NULL}}, .idx = 0},
    {"authorization.k8s.io", "v1", "SubjectAccessReview", "SubjectAccessReviewList",
     "subjectaccessreviews", "", REG_VIRTUAL, REG_CREATE, {NULL}, {NULL}, {{NULL, NULL, NULL}},
     .idx = 0},
    {"authorization.k8s.io", "v1", "LocalSubjectAccessReview", "LocalSubjectAccessReviewList",
     "localsubjectaccessreviews", "", NS | REG_VIRTUAL, REG_CREATE, {NULL}, {NULL},
     {{NULL, NULL, NULL}}, .idx = 0},
    {"authentication.k8s.io", "v1", "SelfSubjectReview", "SelfSubjectReviewList",
     "selfsubjectreviews", "", REG_VIRTUAL, REG_CREATE, {NULL}, {NULL}, {{NULL, NULL, NULL}},
     .idx = 0},
    {"authentication.k8s.io", "v1", "TokenReview", "TokenReviewList", "tokenreviews", "",
     REG_VIRTUAL, REG_CREATE, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0}, /* satoken */
    {"policy", "v1", "PodDisruptionBudget", "PodDisruptionBudgetList", "poddisruptionbudgets",
     "poddisruptionbudget", NS | ST | GEN, REG_ALL_VERBS, {"pdb"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    /* groups of issue "groups": upstream's scopes, short names and categories */
    {"", "v1", "ComponentStatus", "ComponentStatusList", "componentstatuses", "componentstatus",
     REG_COMPUTED, REG_GET | REG_LIST, {"cs"}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"certificates.k8s.io", "v1", "CertificateSigningRequest", "CertificateSigningRequestList",
     "certificatesigningrequests", "certificatesigningrequest", ST | REG_APPROVAL, REG_ALL_VERBS,
     {"csr"}, {NULL}, {{"spec.signerName", NULL, ""}}, .idx = 0},
    {"admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
     "MutatingWebhookConfigurationList", "mutatingwebhookconfigurations",
     "mutatingwebhookconfiguration", 0, REG_ALL_VERBS, {NULL}, {"api-extensions"},
     {{NULL, NULL, NULL}}, .idx = 0},
    {"admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
     "ValidatingWebhookConfigurationList", "validatingwebhookconfigurations",
     "validatingwebhookconfiguration", 0, REG_ALL_VERBS, {NULL}, {"api-extensions"},
     {{NULL, NULL, NULL}}, .idx = 0},
    {"admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy",
     "ValidatingAdmissionPolicyList", "validatingadmissionpolicies", "validatingadmissionpolicy",
     ST | GEN, REG_ALL_VERBS, {NULL}, {"api-extensions"}, {{NULL, NULL, NULL}}, .idx = 0},
    {"admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
     "ValidatingAdmissionPolicyBindingList", "validatingadmissionpolicybindings",
     "validatingadmissionpolicybinding", 0, REG_ALL_VERBS, {NULL}, {"api-extensions"},
     {{NULL, NULL, NULL}}, .idx = 0},
    {"node.k8s.io", "v1", "RuntimeClass", "RuntimeClassList", "runtimeclasses", "runtimeclass", 0,
     REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"storage.k8s.io", "v1", "CSIDriver", "CSIDriverList", "csidrivers", "csidriver", 0,
     REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"storage.k8s.io", "v1", "CSINode", "CSINodeList", "csinodes", "csinode", 0, REG_ALL_VERBS,
     {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"storage.k8s.io", "v1", "VolumeAttachment", "VolumeAttachmentList", "volumeattachments",
     "volumeattachment", ST, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"storage.k8s.io", "v1", "CSIStorageCapacity", "CSIStorageCapacityList",
     "csistoragecapacities", "csistoragecapacity", NS, REG_ALL_VERBS, {NULL}, {NULL},
     {{NULL, NULL, NULL}}, .idx = 0},
    {"flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", "FlowSchemaList", "flowschemas",
     "flowschema", ST, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0},
    {"flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration",
     "PriorityLevelConfigurationList", "prioritylevelconfigurations",
     "prioritylevelconfiguration", ST, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}},
     .idx = 0},
};

/* Served versions beyond the preferred one: views of a stored resource (or virtual). */
static struct reg_resource extra[] = {
    {"autoscaling", "v1", "HorizontalPodAutoscaler", "HorizontalPodAutoscalerList",
     "horizontalpodautoscalers", "horizontalpodautoscaler", NS | ST, REG_ALL_VERBS, {"hpa"},
     {"all"}, {{NULL, NULL, NULL}}, .idx = 0,
     .stored_as = "autoscaling/v2/horizontalpodautoscalers"},
    {"flowcontrol.apiserver.k8s.io", "v1beta3", "FlowSchema", "FlowSchemaList", "flowschemas",
     "flowschema", ST, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}}, .idx = 0,
     .stored_as = "flowcontrol.apiserver.k8s.io/v1/flowschemas"},
    {"flowcontrol.apiserver.k8s.io", "v1beta3", "PriorityLevelConfiguration",
     "PriorityLevelConfigurationList", "prioritylevelconfigurations",
     "prioritylevelconfiguration", ST, REG_ALL_VERBS, {NULL}, {NULL}, {{NULL, NULL, NULL}},
     .idx = 0, .stored_as = "flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations"},
    {"authentication.k8s.io", "v1beta1", "SelfSubjectReview", "SelfSubjectReviewList",
     "selfsubjectreviews", "", REG_VIRTUAL, REG_CREATE, {NULL}, {NULL}, {{NULL, NULL, NULL}},
     .idx = 0},
};

#define NEXTRA (sizeof(extra) / sizeof(extra[0]))

#define NTABLE (sizeof(table) / sizeof(table[0]))

/* Group order of /apis (upstream lists apps, events, ... by priority; ours is fixed). */
static const struct reg_group groups[] = {
    {"", "v1"},
    {"apps", "v1"},
    {"events.k8s.io", "v1"},
    {"batch", "v1"},
    {"policy", "v1"},
    {"coordination.k8s.io", "v1"},
    {"discovery.k8s.io", "v1"},
    {"autoscaling", "v2"},
    {"networking.k8s.io", "v1"},
    {"rbac.authorization.k8s.io", "v1"},
    {"storage.k8s.io", "v1"},
    {"scheduling.k8s.io", "v1"},
    {"authorization.k8s.io", "v1"},
    {"authentication.k8s.io", "v1"},
    {"certificates.k8s.io", "v1"},
    {"admissionregistration.k8s.io", "v1"},
    {"node.k8s.io", "v1"},
    {"flowcontrol.apiserver.k8s.io", "v1"},
};

static const struct reg_group extra_groups[] = {
    {"autoscaling", "v1"},
    {"flowcontrol.apiserver.k8s.io", "v1beta3"},
    {"authentication.k8s.io", "v1beta1"},
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_row(struct reg_resource *r, int idx)
{
    {
        r->idx = idx;
        if (r->group[0])
            snprintf(r->api_version, sizeof(r->api_version), "%s/%s", r->group, r->version);
        else
            snprintf(r->api_version, sizeof(r->api_version), "%s", r->version);
        snprintf(r->key_prefix, sizeof(r->key_prefix), "/registry/%s/%s/",
                 r->group[0] ? r->group : "core", r->plural);
        char av[64];
        snprintf(av, sizeof(av), "%s", r->api_version);
        int n = snprintf(r->body_prefix, sizeof(r->body_prefix),
                         "{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"metadata\":{", av, r->kind);
        r->body_prefix_len = (size_t)n;
        size_t nf = 0;
        while (nf < REG_MAX_FIELDS && r->fields[nf].name)
            nf++;
        r->nfields = nf + 2;
        r->index_field = -1;
        if (strcmp(r->group, "") == 0 && strcmp(r->plural, "pods") == 0)
            r->index_field = reg_field_index(r, "spec.nodeName");
    }
}

/* "group/version/plural" ("v1/events" for the core group) of the table's rows. */
static struct reg_resource *find_stored(const char *gvr)
{
    for (size_t i = 0; i < NTABLE; i++) {
        char s[192];
        if (table[i].group[0])
            snprintf(s, sizeof(s), "%s/%s/%s", table[i].group, table[i].version, table[i].plural);
        else
            snprintf(s, sizeof(s), "%s/%s", table[i].version, table[i].plural);
        if (strcmp(s, gvr) == 0 && !table[i].stored_as)
            return &table[i];
    }
    fprintf(stderr, "ckube: registry: no stored resource %s\n", gvr);
    abort();
}

static void init_table(void)
{
    for (size_t i = 0; i < NTABLE; i++)
        init_row(&table[i], (int)i);
    for (size_t i = 0; i < NTABLE; i++)
        if (table[i].stored_as)
            table[i].storage = find_stored(table[i].stored_as);
    for (size_t i = 0; i < NEXTRA; i++) {
        struct reg_resource *r = &extra[i];
        init_row(r, 0);
        if (r->stored_as) {
            r->storage = find_stored(r->stored_as);
            r->idx = r->storage->idx;
            snprintf(r->key_prefix, sizeof(r->key_prefix), "%s", r->storage->key_prefix);
        } else {
            r->idx = -1;
        }
    }
}

void reg_init(void)
{
    pthread_once(&init_once, init_table);
}

size_t reg_count(void)
{
    reg_init();
    return NTABLE;
}

struct reg_resource *reg_at(size_t i)
{
    reg_init();
    return i < NTABLE ? &table[i] : NULL;
}

const struct reg_resource *reg_find(const char *group, const char *version, const char *plural)
{
    reg_init();
    for (size_t i = 0; i < NTABLE; i++) {
        if (strcmp(table[i].group, group) == 0 && strcmp(table[i].version, version) == 0 &&
            strcmp(table[i].plural, plural) == 0)
            return &table[i];
    }
    for (size_t i = 0; i < NEXTRA; i++) {
        if (strcmp(extra[i].group, group) == 0 && strcmp(extra[i].version, version) == 0 &&
            strcmp(extra[i].plural, plural) == 0)
            return &extra[i];
    }
    return NULL;
}

const struct reg_resource *reg_find_key(const char *key, size_t len)
{
    reg_init();
    for (size_t i = 0; i < NTABLE; i++) {
        size_t pl = strlen(table[i].key_prefix);
        if (len > pl && memcmp(key, table[i].key_prefix, pl) == 0)
            return &table[i];
    }
    return NULL;
}

size_t reg_groups(const struct reg_group **out)
{
    *out = groups;
    return sizeof(groups) / sizeof(groups[0]);
}

size_t reg_extra_groups(const struct reg_group **out)
{
    *out = extra_groups;
    return sizeof(extra_groups) / sizeof(extra_groups[0]);
}

size_t reg_extra_count(void)
{
    reg_init();
    return NEXTRA;
}

struct reg_resource *reg_extra_at(size_t i)
{
    reg_init();
    return i < NEXTRA ? &extra[i] : NULL;
}

bool reg_has_group_version(const char *group, const char *version)
{
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (strcmp(groups[i].name, group) == 0 && strcmp(groups[i].version, version) == 0)
            return true;
    for (size_t i = 0; i < sizeof(extra_groups) / sizeof(extra_groups[0]); i++)
        if (strcmp(extra_groups[i].name, group) == 0 &&
            strcmp(extra_groups[i].version, version) == 0)
            return true;
    return false;
}

int reg_field_index(const struct reg_resource *r, const char *name)
{
    if (strcmp(name, "metadata.name") == 0)
        return 0;
    if (strcmp(name, "metadata.namespace") == 0)
        return 1;
    if (strcmp(r->plural, "pods") == 0 && strcmp(name, "spec.host") == 0)
        name = "spec.nodeName";
    for (size_t i = 0; i + 2 < r->nfields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return (int)i + 2;
    return -1;
}

const char *reg_field_name(const struct reg_resource *r, size_t i)
{
    if (i == 0)
        return "metadata.name";
    if (i == 1)
        return "metadata.namespace";
    return i < r->nfields ? r->fields[i - 2].name : NULL;
}

void reg_qualified(const struct reg_resource *res, char *out, size_t n)
{
    if (res->group[0])
        snprintf(out, n, "%s.%s", res->plural, res->group);
    else
        snprintf(out, n, "%s", res->plural);
}
