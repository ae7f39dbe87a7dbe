/* SPDX-License-Identifier: Apache-2.0 */
/* Authorization on the engine (api_authorize), as upstream's --authorization-mode=Node,RBAC:
 * - the bootstrap policy created at start (upstream's rbac/bootstrap-roles post-start hook:
 *   missing defaults are created, existing ones left as they are), plus the bindings a
 *   kubeadm-style cluster adds for node bootstrap (ckube's join);
 * - system:masters allowed first (upstream's privileged-group authorizer);
 * - the Node authorizer: identities system:node:<name> in system:nodes get the system:node
 *   ClusterRole's rules, and secrets, configmaps, persistentvolumeclaims and service-account
 *   tokens only when a pod bound to that node uses them (upstream's graph, walked from the
 *   node's pods at request time);
 * - RBAC over a parsed snapshot of the four rbac tables, rebuilt when one of them changes,
 *   so a request's check parses nothing. */
#include "apiserver/api.h"
#include "apiserver/authz/rbac.h"
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/write_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct eng_rbac {
    pthread_mutex_t mu;
    int64_t revs[4]; /* last_rev of the four tables when snap was built */
    json_t *snap;    /* {"crb": [..], "rb": {ns: [..]}, "cr": {name: role}, "r": {"ns/name": role}} */
};

static const char *const PLURALS[4] = {"clusterroles", "clusterrolebindings", "roles",
                                       "rolebindings"};

/* What a kubeadm cluster adds for node bootstrap and the add-ons ckube's agent embeds (its
 * service proxy runs as the node, as kube-proxy's system:node-proxier; its DNS keeps
 * kube-system/kube-dns and its EndpointSlice). kubeadm names kept where kubeadm has them. */
static const char JOIN_POLICY[] =
    "[{\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"kubeadm:kubelet-bootstrap\"},"
    "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\","
    "\"name\":\"system:node-bootstrapper\"},\"subjects\":[{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:bootstrappers\"}]},"
    "{\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":"
    "\"kubeadm:node-autoapprove-bootstrap\"},\"roleRef\":{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":"
    "\"system:certificates.k8s.io:certificatesigningrequests:nodeclient\"},\"subjects\":"
    "[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":"
    "\"system:bootstrappers\"}]},"
    "{\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":"
    "\"kubeadm:node-autoapprove-certificate-rotation\"},\"roleRef\":{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":"
    "\"system:certificates.k8s.io:certificatesigningrequests:selfnodeclient\"},\"subjects\":"
    "[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":"
    "\"system:nodes\"}]},"
    "{\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"ckube:node-proxier\"},"
    "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\","
    "\"name\":\"system:node-proxier\"},\"subjects\":[{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:nodes\"}]},"
    "{\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"ckube:node-dns\"},\"rules\":["
    "{\"apiGroups\":[\"\"],\"resources\":[\"services\",\"endpoints\",\"pods\",\"namespaces\"],"
    "\"verbs\":[\"get\",\"list\",\"watch\"]},{\"apiGroups\":[\"discovery.k8s.io\"],"
    "\"resources\":[\"endpointslices\"],\"verbs\":[\"get\",\"list\",\"watch\"]}]},"
    "{\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"ckube:node-dns\"},"
    "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\","
    "\"name\":\"ckube:node-dns\"},\"subjects\":[{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:nodes\"}]},"
    "{\"kind\":\"Role\",\"metadata\":{\"name\":\"ckube:dns-publisher\",\"namespace\":"
    "\"kube-system\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"services\"],"
    "\"resourceNames\":[\"kube-dns\"],\"verbs\":[\"get\",\"update\",\"patch\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"services\"],\"verbs\":[\"create\"]},"
    "{\"apiGroups\":[\"discovery.k8s.io\"],\"resources\":[\"endpointslices\"],"
    "\"verbs\":[\"get\",\"create\",\"update\",\"patch\",\"delete\"]}]},"
    "{\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"ckube:dns-publisher\","
    "\"namespace\":\"kube-system\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\","
    "\"kind\":\"Role\",\"name\":\"ckube:dns-publisher\"},\"subjects\":[{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:nodes\"}]},"
    "{\"kind\":\"Role\",\"metadata\":{\"name\":\"kubeadm:bootstrap-signer-clusterinfo\","
    "\"namespace\":\"kube-public\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":"
    "[\"configmaps\"],\"resourceNames\":[\"cluster-info\"],\"verbs\":[\"get\"]}]},"
    "{\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"kubeadm:bootstrap-signer-clusterinfo\","
    "\"namespace\":\"kube-public\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\","
    "\"kind\":\"Role\",\"name\":\"kubeadm:bootstrap-signer-clusterinfo\"},\"subjects\":"
    "[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"User\",\"name\":"
    "\"system:anonymous\"}]}]";

static int create_missing(struct api_server *s, json_t *objs, struct ck_err *err)
{
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        const char *kind = json_string_value(json_object_get(o, "kind"));
        const char *plural = !strcmp(kind, "ClusterRole")          ? "clusterroles"
                             : !strcmp(kind, "ClusterRoleBinding") ? "clusterrolebindings"
                             : !strcmp(kind, "Role")               ? "roles"
                                                                   : "rolebindings";
        const struct reg_resource *res = reg_find("rbac.authorization.k8s.io", "v1", plural);
        char ns[64] = "";
        if (eng_md_str(o, "namespace"))
            snprintf(ns, sizeof(ns), "%s", eng_md_str(o, "namespace"));
        json_object_set_new(o, "apiVersion", json_string("rbac.authorization.k8s.io/v1"));
        struct eng_obj *have = eng_cache_get(&s->cache, res, *ns ? ns : NULL, eng_md_str(o, "name"));
        if (have) {
            eng_obj_unref(have);
            continue;
        }
        if (eng_internal_create(s, res, *ns ? ns : NULL, o, err) < 0)
            return -1;
    }
    return 0;
}

int eng_bootstrap_rbac(struct api_server *s, struct ck_err *err)
{
    json_t *policy = rbac_bootstrap_policy();
    if (!policy)
        return ck_err_set(err, CK_R_INTERNAL, "the bootstrap RBAC policy does not parse");
    json_t *join = json_loads(JOIN_POLICY, 0, NULL);
    if (!join) {
        json_decref(policy);
        return ck_err_set(err, CK_R_INTERNAL, "the join RBAC policy does not parse");
    }
    int rc = create_missing(s, policy, err);
    if (rc == 0)
        rc = create_missing(s, join, err);
    json_decref(policy);
    json_decref(join);
    return rc;
}

/* Rebuilds the snapshot when a table moved on; returns a new reference. */
static json_t *snapshot(struct api_server *s)
{
    struct eng_rbac *rb = s->rbac;
    const struct reg_resource *res[4];
    int64_t revs[4];
    pthread_rwlock_rdlock(&s->cache.mu);
    for (int t = 0; t < 4; t++) {
        res[t] = reg_find("rbac.authorization.k8s.io", "v1", PLURALS[t]);
        revs[t] = s->cache.tables[res[t]->idx].last_rev;
    }
    pthread_mutex_lock(&rb->mu);
    if (rb->snap && !memcmp(revs, rb->revs, sizeof(revs))) {
        json_t *snap = json_incref(rb->snap);
        pthread_mutex_unlock(&rb->mu);
        pthread_rwlock_unlock(&s->cache.mu);
        return snap;
    }
    json_t *snap = json_pack("{s:[],s:{},s:{},s:{}}", "crb", "rb", "cr", "r");
    for (int t = 0; t < 4; t++) {
        struct eng_cursor cur;
        eng_table_first(&s->cache.tables[res[t]->idx], &cur);
        for (struct eng_obj *o; (o = eng_cursor_obj(&cur)); eng_cursor_next(&cur)) {
            json_t *v = eng_obj_json(o);
            if (!v)
                continue;
            char key[512];
            switch (t) {
            case 0:
                json_object_set_new(json_object_get(snap, "cr"), o->name, v);
                break;
            case 1:
                json_array_append_new(json_object_get(snap, "crb"), v);
                break;
            case 2:
                snprintf(key, sizeof(key), "%s/%s", o->ns, o->name);
                json_object_set_new(json_object_get(snap, "r"), key, v);
                break;
            default: {
                json_t *rbs = json_object_get(snap, "rb"), *list = json_object_get(rbs, o->ns);
                if (!list)
                    json_object_set_new(rbs, o->ns, list = json_array());
                json_array_append_new(list, v);
            }
            }
        }
    }
    json_decref(rb->snap);
    rb->snap = json_incref(snap);
    memcpy(rb->revs, revs, sizeof(revs));
    pthread_mutex_unlock(&rb->mu);
    pthread_rwlock_unlock(&s->cache.mu);
    return snap;
}

static void snap_bindings(void *arg, const char *ns, bool (*fn)(void *, const json_t *), void *ctx)
{
    const json_t *snap = arg;
    const json_t *list = ns ? json_object_get(json_object_get(snap, "rb"), ns)
                            : json_object_get(snap, "crb");
    size_t i;
    const json_t *b;
    json_array_foreach(list, i, b)
    {
        if (fn(ctx, b))
            return;
    }
}

static json_t *snap_role(void *arg, const char *ns, const char *name)
{
    const json_t *snap = arg;
    json_t *r;
    if (!ns) {
        r = json_object_get(json_object_get(snap, "cr"), name);
    } else {
        char key[512];
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        r = json_object_get(json_object_get(snap, "r"), key);
    }
    return r ? json_incref(r) : NULL;
}

void eng_rbac_init(struct api_server *s)
{
    s->rbac = ck_calloc(1, sizeof(*s->rbac));
    pthread_mutex_init(&s->rbac->mu, NULL);
}

void eng_rbac_free(struct api_server *s)
{
    if (!s->rbac)
        return;
    json_decref(s->rbac->snap);
    pthread_mutex_destroy(&s->rbac->mu);
    free(s->rbac);
    s->rbac = NULL;
}

static bool in_group(const struct rbac_attrs *a, const char *g)
{
    for (size_t i = 0; a->groups && a->groups[i]; i++)
        if (!strcmp(a->groups[i], g))
            return true;
    return false;
}

enum rbac_decision eng_rbac_authorize(struct api_server *s, const struct rbac_attrs *a,
                                      char *reason, size_t reasonlen)
{
    /* system:masters is allowed before RBAC is asked, as upstream's privileged-group
     * authorizer */
    if (in_group(a, "system:masters")) {
        if (reason && reasonlen)
            reason[0] = 0;
        return RBAC_ALLOW;
    }
    json_t *snap = snapshot(s);
    struct rbac_store st = {snap, snap_bindings, snap_role};
    enum rbac_decision d = rbac_authorize(&st, a, reason, reasonlen);
    json_decref(snap);
    return d;
}

json_t *eng_rbac_rules(struct api_server *s, const struct rbac_attrs *who, const char *ns)
{
    json_t *snap = snapshot(s);
    struct rbac_store st = {snap, snap_bindings, snap_role};
    json_t *out = rbac_rules_review(&st, who, ns);
    json_decref(snap);
    return out;
}

/* ---- the Node authorizer --------------------------------------------------------------- */

/* upstream's nodeidentifier: "system:node:<name>" in group system:nodes; the name or NULL. */
static const char *node_name_of(const struct rbac_attrs *a)
{
    static const char pfx[] = "system:node:";
    if (!a->user || strncmp(a->user, pfx, sizeof(pfx) - 1) || !a->user[sizeof(pfx) - 1] ||
        !in_group(a, "system:nodes"))
        return NULL;
    return a->user + sizeof(pfx) - 1;
}

static bool str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && !strcmp(json_string_value(v), s);
}

/* Does pod (a pod bound to the node) use object `name` of kind k? k: 's' secret, 'c'
 * configmap, 'p' persistentvolumeclaim, 'a' service account (its token). */
static bool pod_refs(const json_t *pod, char k, const char *name)
{
    const json_t *spec = json_object_get(pod, "spec");
    size_t i, j;
    const json_t *v, *c;

    if (k == 'a') {
        const json_t *sa = json_object_get(spec, "serviceAccountName");
        return str_is(sa, name) || (!sa && !strcmp(name, "default"));
    }
    if (k == 's')
        json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, v) if (
            str_is(json_object_get(v, "name"), name)) return true;
    json_array_foreach(json_object_get(spec, "volumes"), i, v)
    {
        if (k == 's' && str_is(json_object_get(json_object_get(v, "secret"), "secretName"), name))
            return true;
        if (k == 'c' && str_is(json_object_get(json_object_get(v, "configMap"), "name"), name))
            return true;
        if (k == 'p' &&
            str_is(json_object_get(json_object_get(v, "persistentVolumeClaim"), "claimName"),
                   name))
            return true;
        if (k == 'p' && json_object_get(v, "ephemeral")) { /* claim <pod>-<volume> */
            char claim[512];
            snprintf(claim, sizeof(claim), "%s-%s",
                     json_string_value(json_object_get(json_object_get(pod, "metadata"), "name")),
                     json_string_value(json_object_get(v, "name")));
            if (!strcmp(claim, name))
                return true;
        }
        json_array_foreach(json_object_get(json_object_get(v, "projected"), "sources"), j, c)
        {
            if (k == 's' && str_is(json_object_get(json_object_get(c, "secret"), "name"), name))
                return true;
            if (k == 'c' && str_is(json_object_get(json_object_get(c, "configMap"), "name"), name))
                return true;
        }
        /* CSI/flex/iscsi/rbd/... secretRef of a volume */
        const char *vk;
        json_t *src;
        json_object_foreach((json_t *)v, vk, src)
        {
            const json_t *ref = json_object_get(src, "secretRef");
            if (!ref)
                ref = json_object_get(src, "nodePublishSecretRef");
            if (k == 's' && ref && str_is(json_object_get(ref, "name"), name))
                return true;
        }
    }
    static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
    for (size_t l = 0; l < 3 && (k == 's' || k == 'c'); l++) {
        const char *ref = k == 's' ? "secretKeyRef" : "configMapKeyRef";
        const char *fromref = k == 's' ? "secretRef" : "configMapRef";
        json_array_foreach(json_object_get(spec, lists[l]), i, c)
        {
            json_array_foreach(json_object_get(c, "env"), j, v) if (str_is(
                json_object_get(json_object_get(json_object_get(v, "valueFrom"), ref), "name"),
                name)) return true;
            json_array_foreach(json_object_get(c, "envFrom"), j, v) if (
                str_is(json_object_get(json_object_get(v, fromref), "name"), name)) return true;
        }
    }
    return false;
}

/* Is ns/name (kind k) used by a pod bound to node? Walks the node's pods (the pods table's
 * spec.nodeName index) in ns. */
static bool node_uses(struct api_server *s, const char *node, char k, const char *ns,
                      const char *name)
{
    const struct reg_resource *pods = reg_find("", "v1", "pods");
    bool found = false;
    pthread_rwlock_rdlock(&s->cache.mu);
    const struct eng_table *t = eng_index_lookup(&s->cache, pods, node);
    if (t) {
        struct eng_cursor cur;
        for (eng_table_first(t, &cur); !found && eng_cursor_obj(&cur); eng_cursor_next(&cur)) {
            const struct eng_obj *o = eng_cursor_obj(&cur);
            if (strcmp(o->ns, ns))
                continue;
            json_t *pod = eng_obj_json(o);
            found = pod && pod_refs(pod, k, name);
            json_decref(pod);
        }
    }
    pthread_rwlock_unlock(&s->cache.mu);
    return found;
}

/* A persistent volume is the node's when a claim used by one of its pods is bound to it. */
static bool node_uses_pv(struct api_server *s, const char *node, const char *pv)
{
    const struct reg_resource *pvcs = reg_find("", "v1", "persistentvolumeclaims");
    struct eng_obj *vol = eng_cache_get(&s->cache, reg_find("", "v1", "persistentvolumes"), NULL,
                                        pv);
    if (!vol)
        return false;
    json_t *pvj = eng_obj_json(vol);
    eng_obj_unref(vol);
    const json_t *claim = json_object_get(json_object_get(pvj, "spec"), "claimRef");
    char ns[256], name[256];
    snprintf(ns, sizeof(ns), "%s", json_string_value(json_object_get(claim, "namespace")) ?: "");
    snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(claim, "name")) ?: "");
    json_decref(pvj);
    if (!*ns || !*name)
        return false;
    struct eng_obj *c = eng_cache_get(&s->cache, pvcs, ns, name);
    if (!c)
        return false;
    json_t *cj = eng_obj_json(c);
    eng_obj_unref(c);
    bool bound = str_is(json_object_get(json_object_get(cj, "spec"), "volumeName"), pv);
    json_decref(cj);
    return bound && node_uses(s, node, 'p', ns, name);
}

static bool verb_in(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(v, *set))
            return true;
    return false;
}

/* upstream's NodeAuthorizer.Authorize; ALLOW or NO_OPINION (then RBAC is asked). */
static enum rbac_decision node_authorize(struct api_server *s, const struct rbac_attrs *a,
                                         const char *node, char *reason, size_t n)
{
    static const char *const read[] = {"get", "list", "watch", NULL};
    const char *g = a->api_group ? a->api_group : "", *r = a->resource ? a->resource : "";
    const char *sub = a->subresource ? a->subresource : "";
    const char *name = a->name ? a->name : "";
    const char *ns = a->ns ? a->ns : "";

    if (a->resource_request && !*g) {
        char k = !strcmp(r, "secrets")                  ? 's'
                 : !strcmp(r, "configmaps")             ? 'c'
                 : !strcmp(r, "persistentvolumeclaims") ? 'p'
                 : !strcmp(r, "persistentvolumes")      ? 'v'
                 : !strcmp(r, "serviceaccounts") && !strcmp(sub, "token") ? 'a'
                                                                          : 0;
        if (k) {
            bool ok;
            if (k == 'a')
                ok = !strcmp(a->verb, "create") && *name && node_uses(s, node, 'a', ns, name);
            else if (k == 'p' && !strcmp(sub, "status"))
                ok = (!strcmp(a->verb, "update") || !strcmp(a->verb, "patch")) && *name &&
                     node_uses(s, node, 'p', ns, name);
            else if (*sub || !verb_in(a->verb, read) || !*name)
                ok = false; /* only reads of one named object */
            else if (k == 'v')
                ok = node_uses_pv(s, node, name);
            else
                ok = node_uses(s, node, k, ns, name);
            if (!ok && reason && n)
                snprintf(reason, n, "no relationship found between node '%s' and this object",
                         node);
            return ok ? RBAC_ALLOW : RBAC_NO_OPINION;
        }
    }
    if (a->resource_request && !strcmp(g, "coordination.k8s.io") && !strcmp(r, "leases")) {
        /* the node's own lease in kube-node-lease (create has no name) */
        bool ok = !strcmp(ns, "kube-node-lease") &&
                  ((!strcmp(a->verb, "create") && !*name) || !strcmp(name, node)) &&
                  verb_in(a->verb, (const char *const[]){"get", "create", "update", "patch",
                                                        "delete", NULL});
        if (!ok && reason && n)
            snprintf(reason, n, "can only access node lease with the same name as the "
                                "requesting node");
        return ok ? RBAC_ALLOW : RBAC_NO_OPINION;
    }
    if (a->resource_request && !strcmp(g, "storage.k8s.io") && !strcmp(r, "csinodes")) {
        bool ok = (!strcmp(a->verb, "create") && !*name) || !strcmp(name, node);
        return ok ? RBAC_ALLOW : RBAC_NO_OPINION;
    }
    /* everything else: the rules of the system:node ClusterRole */
    json_t *snap = snapshot(s);
    const json_t *role = json_object_get(json_object_get(snap, "cr"), "system:node");
    size_t i;
    const json_t *rule;
    bool ok = false;
    json_array_foreach(json_object_get(role, "rules"), i, rule) if (!ok &&
                                                                    rbac_rule_allows(rule, a)) ok =
        true;
    json_decref(snap);
    return ok ? RBAC_ALLOW : RBAC_NO_OPINION;
}

bool api_authorize(struct api_server *s, const struct rbac_attrs *a, char *reason, size_t n)
{
    if (reason && n)
        reason[0] = 0;
    if (s->always_allow || in_group(a, "system:masters"))
        return true;
    const char *node = node_name_of(a);
    char nreason[256] = "";
    if (node && node_authorize(s, a, node, nreason, sizeof(nreason)) == RBAC_ALLOW)
        return true;
    if (eng_rbac_authorize(s, a, reason, n) == RBAC_ALLOW)
        return true;
    if (reason && n && !reason[0] && nreason[0])
        snprintf(reason, n, "%s", nreason);
    return false;
}

/* ---- escalation prevention --------------------------------------------------------------- */

static json_t *role_rules(struct api_server *s, const char *kind, const char *ns, const char *name)
{
    json_t *snap = snapshot(s), *rules = NULL;
    const json_t *role;
    if (!strcmp(kind, "ClusterRole")) {
        role = json_object_get(json_object_get(snap, "cr"), name);
    } else {
        char key[512];
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        role = json_object_get(json_object_get(snap, "r"), key);
    }
    if (role)
        rules = json_deep_copy(json_object_get(role, "rules"));
    if (role && !rules)
        rules = json_array();
    json_decref(snap);
    return rules;
}

int eng_rbac_check_escalation(struct api_server *s, const struct api_request *rq,
                              const struct reg_resource *res, const char *ns, const char *name,
                              const json_t *obj, struct ck_err *err)
{
    static const char G[] = "rbac.authorization.k8s.io";
    if (strcmp(res->group, G) || s->always_allow || !rq || !rq->user)
        return 0;
    struct rbac_attrs who = {.user = rq->user, .groups = rq->groups};
    if (in_group(&who, "system:masters")) /* upstream's EscalationAllowed */
        return 0;
    bool role = !strcmp(res->plural, "roles") || !strcmp(res->plural, "clusterroles");
    bool cluster = !strcmp(res->plural, "clusterroles") || !strcmp(res->plural, "clusterrolebindings");
    const char *scope = cluster ? "" : (ns ? ns : "");
    struct rbac_attrs a = {.user = rq->user,
                           .groups = rq->groups,
                           .resource_request = true,
                           .api_group = G,
                           .ns = scope};
    json_t *rules;
    char qualified[300];
    snprintf(qualified, sizeof(qualified), "%s.%s", res->plural, G);
    if (role) {
        a.verb = "escalate";
        a.resource = res->plural;
        a.name = name;
        if (api_authorize(s, &a, NULL, 0))
            return 0;
        if (cluster && json_object_get(obj, "aggregationRule")) /* needs full authority */
            rules = json_pack("[{s:[s],s:[s],s:[s]},{s:[s],s:[s]}]", "apiGroups", "*",
                              "resources", "*", "verbs", "*", "nonResourceURLs", "*", "verbs",
                              "*");
        else
            rules = json_deep_copy(json_object_get(obj, "rules"));
    } else {
        const json_t *ref = json_object_get(obj, "roleRef");
        const char *kind = json_string_value(json_object_get(ref, "kind"));
        const char *rname = json_string_value(json_object_get(ref, "name"));
        if (!kind || !rname)
            return 0; /* validation refuses it */
        a.verb = "bind";
        a.resource = !strcmp(kind, "Role") ? "roles" : "clusterroles";
        a.name = rname;
        if (api_authorize(s, &a, NULL, 0))
            return 0;
        if (!(rules = role_rules(s, kind, scope, rname))) {
            ck_err_set(err, CK_R_FORBIDDEN, "%s \"%s\" is forbidden: %s.%s \"%s\" not found",
                       qualified, name ? name : "", !strcmp(kind, "Role") ? "roles" : "clusterroles",
                       G, rname);
            goto forbidden;
        }
    }
    if (!rules)
        rules = json_array();
    json_t *held = eng_rbac_rules(s, &who, scope);
    json_t *owner = json_array();
    json_array_extend(owner, json_object_get(held, "resourceRules"));
    json_array_extend(owner, json_object_get(held, "nonResourceRules"));
    json_t *missing = rbac_uncovered(owner, rules);
    int rc = 0;
    if (json_array_size(missing)) {
        struct ck_buf b = CK_BUF_INIT(1 << 20);
        ck_buf_appendf(&b, "%s \"%s\" is forbidden: user \"%s\" (groups=[", qualified,
                       name ? name : "", rq->user);
        for (size_t i = 0; rq->groups && rq->groups[i]; i++)
            ck_buf_appendf(&b, "%s\"%s\"", i ? " " : "", rq->groups[i]);
        ck_buf_appendf(&b, "]) is attempting to grant RBAC permissions not currently held:");
        size_t i;
        const json_t *m;
        json_array_foreach(missing, i, m)
        {
            ck_buf_appendc(&b, '\n');
            rbac_compact_string(m, &b);
        }
        ck_buf_appendc(&b, '\0');
        ck_err_set(err, CK_R_FORBIDDEN, "%s", b.data);
        ck_buf_release(&b);
        rc = -1;
    }
    json_decref(missing);
    json_decref(owner);
    json_decref(held);
    json_decref(rules);
    if (rc == 0)
        return 0;
forbidden:
    snprintf(err->kind, sizeof(err->kind), "%s", res->plural);
    snprintf(err->group, sizeof(err->group), "%s", G);
    snprintf(err->name, sizeof(err->name), "%s", name ? name : "");
    return -1;
}
