/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's image manager (images/image_manager.go EnsureImageExists) on the node image
 * store. Each pull reads the registries file (mirrors, plain-HTTP hosts, TLS, credentials)
 * and takes the pod's imagePullSecrets for the image's own registry. A failed pull starts
 * the per-pod back-off (10 s doubling to 5 min); while it runs the container waits in
 * ImagePullBackOff with the last pull error, as upstream 1.33 reports it. */
#include "agent/images.h"
#include "agent/agent_int.h"
#include "image/image.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define MS 1000000LL

/* ---- helpers ---------------------------------------------------------------------------- */

const char *ag_image_default_policy(const char *image)
{
    if (strchr(image, '@'))
        return "IfNotPresent";
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(slash ? slash : image, ':');
    return !colon || !strcmp(colon + 1, "latest") ? "Always" : "IfNotPresent";
}

/* Appends v (< 1000) as Go prints a fraction: ".5", ".05", ".123"; nothing for 0. */
static int frac(char *out, size_t n, long long v)
{
    if (!v)
        return 0;
    char d[4];
    snprintf(d, sizeof(d), "%03lld", v);
    int k = 3;
    while (k > 0 && d[k - 1] == '0')
        k--;
    return snprintf(out, n, ".%.*s", k, d);
}

void ag_go_duration_ms(int64_t ns, char *out, size_t n)
{
    long long ms = ns < 0 ? 0 : ns / MS;
    char b[96] = "0s";
    if (ms > 0 && ms < 1000) {
        snprintf(b, sizeof(b), "%lldms", ms);
    } else if (ms >= 1000) {
        long long s = ms / 1000, h = s / 3600, m = (s / 60) % 60;
        char hm[48] = "", fr[8] = "";
        if (h)
            snprintf(hm, sizeof(hm), "%lldh%lldm", h, m);
        else if (m)
            snprintf(hm, sizeof(hm), "%lldm", m);
        frac(fr, sizeof(fr), ms % 1000);
        snprintf(b, sizeof(b), "%s%lld%ss", hm, s % 60, fr);
    }
    snprintf(out, n, "%s", b);
}

/* Credentials for image from the pod's imagePullSecrets (kubernetes.io/dockerconfigjson or
 * dockercfg), the first secret that has an entry for its registry; 1 when found. */
static int pull_credentials(struct agent *ag, const json_t *pod, const char *image, char **user,
                            char **pass)
{
    size_t i;
    json_t *ref;
    json_array_foreach(k8s_jpath(pod, "spec.imagePullSecrets"), i, ref)
    {
        const char *name = k8s_jpath_str(ref, "name");
        if (!*name)
            continue;
        char *path = ck_asprintf("/api/v1/namespaces/%s/secrets/%s", k8s_obj_namespace(pod), name);
        json_t *sec = NULL;
        struct ck_err err = CK_ERR_INIT;
        int rc = ck_client_get_json(ag->client, path, &sec, &err);
        free(path);
        if (rc < 0) {
            ck_v(2, "imagePullSecret %s: %s", name, err.msg);
            continue;
        }
        const char *b64 = k8s_jpath_str(json_object_get(sec, "data"), ".dockerconfigjson");
        if (!*b64)
            b64 = k8s_jpath_str(json_object_get(sec, "data"), ".dockercfg");
        size_t len = 0;
        char *cfg = *b64 ? ck_base64_decode(b64, strlen(b64), &len) : NULL;
        int found = cfg ? img_auth_lookup(cfg, len, image, user, pass, &err) : 0;
        free(cfg);
        json_decref(sec);
        if (found == 1)
            return 1;
    }
    return 0;
}

/* One pull through the registries file with the pod's credentials. */
static int pull(struct agent *ag, const json_t *pod, const char *image, char id[IMG_ID_MAX],
                struct ck_err *err)
{
    const char *file = ag->o->registry_config;
    struct img_registries *regs = NULL;
    if (img_registries_load(file ? file : IMG_REGISTRIES_DEFAULT, file != NULL, &regs, err) < 0)
        return -1;
    struct img_pull_opts po = {.registries = regs};
    char *user = NULL, *pass = NULL;
    if (pull_credentials(ag, pod, image, &user, &pass) == 1) {
        po.username = user;
        po.password = pass;
    }
    int rc = img_pull(ag->images, image, &po, id, err);
    free(user);
    free(pass);
    img_registries_free(regs);
    return rc;
}

static int64_t image_size(struct agent *ag, const char *id)
{
    struct img_info *info = NULL;
    struct ck_err e = CK_ERR_INIT;
    if (img_inspect(ag->images, id, &info, &e) < 0)
        return 0;
    int64_t n = info->size;
    img_info_free(info, 1);
    return n;
}

/* ---- EnsureImageExists ------------------------------------------------------------------ */

static int never_pull(struct agent *ag, struct ag_pod *p, const char *ctr, const char *image,
                      struct ck_err *err)
{
    ag_event(ag, p, ctr, true, "ErrImageNeverPull",
             "Container image \"%s\" is not present with pull policy of Never", image);
    return ck_err_set(err, CK_R_NOT_FOUND,
                      "ErrImageNeverPull: Container image \"%s\" is not present with pull "
                      "policy of Never",
                      image);
}

int ag_image_ensure(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *c,
                    const char *ctr, const char *image, struct ck_err *err)
{
    if (!ag->images || !strncmp(image, "dir:", 4))
        return 0;
    const char *policy = k8s_jpath_str(c, "imagePullPolicy");
    if (!*policy)
        policy = ag_image_default_policy(image);
    char id[IMG_ID_MAX];
    struct ck_err miss = CK_ERR_INIT;
    bool present = img_resolve(ag->images, image, id, &miss) == 0;
    if (!strcmp(policy, "Never") || (strcmp(policy, "Always") != 0 && present)) {
        if (!present)
            return never_pull(ag, p, ctr, image, err);
        ag_event(ag, p, ctr, false, "Pulled", "Container image \"%s\" already present on machine",
                 image);
        return 0;
    }
    int64_t now = ck_mono_ns();
    if (ag_backoff_in_backoff_since_update(&p->pull_backoff, image, now)) {
        ag_event(ag, p, ctr, false, "BackOff", "Back-off pulling image \"%s\"", image);
        ag_event(ag, p, ctr, true, "Failed", "Error: ImagePullBackOff");
        return ck_err_set(err, CK_R_SERVICE_UNAVAILABLE,
                          "ImagePullBackOff: Back-off pulling image \"%s\"%s%s", image,
                          p->pull_err ? ": " : "", p->pull_err ? p->pull_err : "");
    }
    free(p->pull_err);
    p->pull_err = NULL;
    ag_event(ag, p, ctr, false, "Pulling", "Pulling image \"%s\"", image);
    int64_t t0 = ck_mono_ns();
    if (pull(ag, pod, image, id, err) < 0) {
        ag_event(ag, p, ctr, true, "Failed", "Failed to pull image \"%s\": %s", image, err->msg);
        ag_event(ag, p, ctr, true, "Failed", "Error: ErrImagePull");
        ag_backoff_next(&p->pull_backoff, image, now, now);
        p->pull_err = ck_asprintf("ErrImagePull: %s", err->msg);
        ck_err_wrap(err, "ErrImagePull");
        return -1;
    }
    char took[64];
    ag_go_duration_ms(ck_mono_ns() - t0, took, sizeof(took));
    ag_event(ag, p, ctr, false, "Pulled",
             "Successfully pulled image \"%s\" in %s (%s including waiting). Image size: %lld "
             "bytes.",
             image, took, took, (long long)image_size(ag, id));
    return 0;
}
