/* SPDX-License-Identifier: Apache-2.0 */
/* Version strings; /version reports the Kubernetes version whose API ckube serves. */
#ifndef CK_VERSION_H
#define CK_VERSION_H
#define CK_VERSION "0.1.0"
#define CK_KUBE_MAJOR "1"
#define CK_KUBE_MINOR "33"
#define CK_KUBE_GIT_VERSION "v1.33.0-ckube.0.1.0"
#endif
