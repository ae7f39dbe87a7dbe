/* SPDX-License-Identifier: Apache-2.0 */
/* Controller references and selectors shared by the workload controllers: upstream's
 * resolveControllerRef and the get<Kind>sForPod lookups that queue every owner whose selector
 * matches a pod. */
#include "ckube/indexer.h"
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/selector.h"

#include <string.h>

#include "lib/banned.h"

json_t *cm_resolve_controller_ref(struct ck_informer *inf, const char *kind, const char *ns,
                                  const json_t *ref)
{
    if (!ref || strcmp(k8s_jstr(ref, "kind"), kind))
        return NULL;
    json_t *o = cm_get(inf, ns, k8s_jstr(ref, "name"));
    if (o && strcmp(k8s_obj_uid(o), k8s_jstr(ref, "uid"))) {
        json_decref(o); /* same name, another object: not this reference's owner */
        return NULL;
    }
    return o;
}

void cm_enqueue_selecting(struct wq *q, struct ck_informer *inf, const json_t *obj,
                          enum cm_sel_form form)
{
    json_t *all =
        ck_indexer_by_index(ck_informer_indexer(inf), "namespace", k8s_obj_namespace(obj));
    json_t *labels = k8s_jpath(obj, "metadata.labels");
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        struct sel *s = NULL;
        struct ck_err err = CK_ERR_INIT;
        json_t *v = k8s_jpath(o, "spec.selector");
        int rc =
            form == CM_SEL_MAP ? sel_from_map(v, &s, &err) : sel_from_label_selector(v, &s, &err);
        if (rc == 0 && (form == CM_SEL_LABEL_SELECTOR_ALL || !sel_empty(s)) &&
            sel_matches(s, sel_lookup_json, labels))
            cm_enqueue_obj(q, o);
        sel_free(s);
    }
    json_decref(all);
}
