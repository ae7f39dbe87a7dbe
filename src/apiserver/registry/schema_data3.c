/* SPDX-License-Identifier: Apache-2.0 */
/* The schema table, part 3 (see schema_data.c for the DSL): autoscaling/v1, certificates,
 * admissionregistration, node, storage CSI kinds, flowcontrol v1 and v1beta3 and
 * ComponentStatus. */
#include "apiserver/registry/schema_data.h"

/* FlowSchema and PriorityLevelConfiguration have the same shape in v1 and v1beta3. */
#define FLOW_TYPES(A, GV)                                                                          \
    "T " A ".FlowSchema root k=flowcontrol.apiserver.k8s.io/" GV "/FlowSchema r=flowschemas | "    \
    "Defines how requests are classified into priority levels.",                                   \
        " spec " A ".FlowSchemaSpec | Specification of the flow schema.",                          \
        " status " A ".FlowSchemaStatus | Current status of the flow schema.",                     \
        "T " A ".FlowSchemaSpec | Specification of a flow schema.",                                \
        " priorityLevelConfiguration " A ".PriorityLevelConfigurationReference req | Priority "    \
        "level the matching requests are assigned to.",                                            \
        " matchingPrecedence int32 | Lower values match first. Default 1000.",                     \
        " distinguisherMethod " A ".FlowDistinguisherMethod | How flows are distinguished.",       \
        " rules []" A ".PolicyRulesWithSubjects lt=atomic | Rules the requests are matched by.",   \
        "T " A ".PriorityLevelConfigurationReference | Names a priority level.",                   \
        " name string req | Name of the priority level configuration.",                            \
        "T " A ".FlowDistinguisherMethod | How flows are distinguished.",                          \
        " type string req | ByUser or ByNamespace.",                                               \
        "T " A ".PolicyRulesWithSubjects | Subjects and the rules they are matched by.",           \
        " subjects []" A ".Subject req lt=atomic | Requesters matched.",                           \
        " resourceRules []" A ".ResourcePolicyRule lt=atomic | Resource requests matched.",        \
        " nonResourceRules []" A ".NonResourcePolicyRule lt=atomic | Non-resource requests "       \
        "matched.",                                                                                \
        "T " A ".Subject | A requester.",                                                          \
        " kind string req | User, Group or ServiceAccount.",                                       \
        " user " A ".UserSubject | A user.",                                                       \
        " group " A ".GroupSubject | A group.",                                                    \
        " serviceAccount " A ".ServiceAccountSubject | A service account.",                        \
        "T " A ".UserSubject | A user subject.", " name string req | User name, or *.",            \
        "T " A ".GroupSubject | A group subject.", " name string req | Group name, or *.",         \
        "T " A ".ServiceAccountSubject | A service account subject.",                              \
        " namespace string req | Namespace of the service account.",                               \
        " name string req | Name of the service account, or *.",                                   \
        "T " A ".ResourcePolicyRule | Matches resource requests.",                                 \
        " verbs []string req lt=set | Verbs matched, or *.",                                       \
        " apiGroups []string req lt=set | API groups matched, or *.",                              \
        " resources []string req lt=set | Resources matched, or *.",                               \
        " clusterScope bool | Whether cluster-scoped requests match.",                             \
        " namespaces []string lt=set | Namespaces matched, or *.",                                 \
        "T " A ".NonResourcePolicyRule | Matches non-resource requests.",                          \
        " verbs []string req lt=set | Verbs matched, or *.",                                       \
        " nonResourceURLs []string req lt=set | URL paths matched.",                               \
        "T " A ".FlowSchemaStatus | Status of a flow schema.",                                     \
        " conditions []" A ".FlowSchemaCondition mk=type ps=merge lt=map lk=type | Current "       \
        "conditions.",                                                                             \
        "T " A ".FlowSchemaCondition | A condition of a flow schema.", FLOW_CONDITION_FIELDS,      \
        "T " A ".PriorityLevelConfiguration root k=flowcontrol.apiserver.k8s.io/" GV               \
        "/PriorityLevelConfiguration r=prioritylevelconfigurations | A priority level and its "   \
        "concurrency limits.",                                                                     \
        " spec " A ".PriorityLevelConfigurationSpec | Specification of the priority level.",      \
        " status " A ".PriorityLevelConfigurationStatus | Current status of the priority level.", \
        "T " A ".PriorityLevelConfigurationSpec | Specification of a priority level.",            \
        " type string req | Limited or Exempt.",                                                   \
        " limited " A ".LimitedPriorityLevelConfiguration | Limits of a Limited level.",           \
        " exempt " A ".ExemptPriorityLevelConfiguration | Settings of an Exempt level.",           \
        "T " A ".LimitedPriorityLevelConfiguration | Limits of a Limited priority level.",        \
        " " NCS_FIELD " int32 | Share of the server's concurrency.",                               \
        " limitResponse " A ".LimitResponse | What to do with requests over the limit.",           \
        " lendablePercent int32 | Share of the seats others may borrow.",                          \
        " borrowingLimitPercent int32 | Limit on seats borrowed from others.",                     \
        "T " A ".ExemptPriorityLevelConfiguration | Settings of an Exempt priority level.",        \
        " nominalConcurrencyShares int32 | Share of the server's concurrency.",                    \
        " lendablePercent int32 | Share of the seats others may borrow.",                          \
        "T " A ".LimitResponse | Handling of requests over the limit.",                            \
        " type string req | Queue or Reject.",                                                     \
        " queuing " A ".QueuingConfiguration | Queuing parameters.",                               \
        "T " A ".QueuingConfiguration | Queuing parameters.",                                      \
        " queues int32 | Number of queues.", " handSize int32 | Shuffle-sharding hand size.",      \
        " queueLengthLimit int32 | Maximum requests waiting in a queue.",                          \
        "T " A ".PriorityLevelConfigurationStatus | Status of a priority level.",                  \
        " conditions []" A ".PriorityLevelConfigurationCondition mk=type ps=merge lt=map lk=type " \
        "| Current conditions.",                                                                   \
        "T " A ".PriorityLevelConfigurationCondition | A condition of a priority level.",          \
        FLOW_CONDITION_FIELDS

#define FLOW_CONDITION_FIELDS                                                                      \
    " type string | Type of the condition.",                                                       \
        " status string | Status of the condition: True, False or Unknown.",                       \
        " lastTransitionTime meta.Time | Last time the condition changed status.",                 \
        " reason string | One-word CamelCase reason for the last transition.",                     \
        " message string | Human-readable details about the last transition."

#define WEBHOOK_FIELDS                                                                             \
    " name string req | Fully qualified name of the webhook.",                                     \
        " clientConfig admreg.WebhookClientConfig req | How to reach the webhook.",                \
        " rules []admreg.RuleWithOperations lt=atomic | Operations and resources sent to the "     \
        "webhook.",                                                                                \
        " failurePolicy string en=Fail,Ignore | Ignore or Fail. Default Fail.",                    \
        " matchPolicy string en=Equivalent,Exact | Exact or Equivalent. Default Equivalent.",      \
        " namespaceSelector meta.LabelSelector | Namespaces whose objects are sent.",               \
        " objectSelector meta.LabelSelector | Objects sent, by their labels.",                     \
        " sideEffects string req en=None,NoneOnDryRun,Some,Unknown | None or NoneOnDryRun.",       \
        " timeoutSeconds int32 | Timeout of a call, 1 to 30 seconds. Default 10.",                 \
        " admissionReviewVersions []string req lt=atomic | AdmissionReview versions accepted.",    \
        " matchConditions []admreg.MatchCondition mk=name ps=merge lt=map lk=name | CEL "          \
        "conditions a request must meet to be sent."

const char *const schema_dsl_lines3[] = {
    /* ---------------- autoscaling/v1 HorizontalPodAutoscaler ---------------- */
    "T autoscaling.HorizontalPodAutoscaler root k=autoscaling/v1/HorizontalPodAutoscaler "
    "r=horizontalpodautoscalers ns | "
    "Scales a workload on its average CPU utilization.",
    " spec autoscaling.HorizontalPodAutoscalerSpec | Desired behaviour of the autoscaler.",
    " status autoscaling.HorizontalPodAutoscalerStatus | Current state of the autoscaler.",
    "T autoscaling.HorizontalPodAutoscalerSpec | Desired behaviour of an autoscaler.",
    " scaleTargetRef autoscaling.CrossVersionObjectReference req | The scaled resource.",
    " minReplicas int32 | Lower limit of replicas. Default 1.",
    " maxReplicas int32 req | Upper limit of replicas.",
    " targetCPUUtilizationPercentage int32 | Target average CPU utilization, in percent of the "
    "requests.",
    "T autoscaling.CrossVersionObjectReference | The scaled resource.",
    " kind string req | Kind of the referent.",
    " name string req | Name of the referent.",
    " apiVersion string | API version of the referent.",
    "T autoscaling.HorizontalPodAutoscalerStatus | Current state of an autoscaler.",
    " observedGeneration int64 | Generation observed.",
    " lastScaleTime meta.Time | Last time the replica count changed.",
    " currentReplicas int32 req | Current replicas.",
    " desiredReplicas int32 req | Desired replicas.",
    " currentCPUUtilizationPercentage int32 | Current average CPU utilization, in percent.",

    /* ---------------- core/v1 ComponentStatus ---------------- */
    "T core.ComponentStatus root k=/v1/ComponentStatus r=componentstatuses | Health of a "
    "control plane component (deprecated upstream in 1.19).",
    " conditions []core.ComponentCondition mk=type ps=merge lt=map lk=type | Observed "
    "conditions.",
    "T core.ComponentCondition | A condition of a component.",
    " type string req | Healthy.",
    " status string req | True, False or Unknown.",
    " message string | Message of the check.",
    " error string | Error of the check.",

    /* ---------------- certificates.k8s.io/v1 ---------------- */
    "T cert.CertificateSigningRequest root k=certificates.k8s.io/v1/CertificateSigningRequest "
    "r=certificatesigningrequests | A request for a certificate from a signer.",
    " spec cert.CertificateSigningRequestSpec req | The request.",
    " status cert.CertificateSigningRequestStatus | Approval and the issued certificate.",
    "T cert.CertificateSigningRequestSpec | A certificate request.",
    " request byte req | PEM-encoded PKCS#10 CERTIFICATE REQUEST.",
    " signerName string req | Signer asked to sign the request.",
    " expirationSeconds int32 | Requested validity duration (at least 600).",
    " usages []string lt=atomic | Requested key usages.",
    " username string | Requesting user (set by the server).",
    " uid string | UID of the requesting user (set by the server).",
    " groups []string lt=atomic | Groups of the requesting user (set by the server).",
    " extra {}cert.ExtraValue | Extra attributes of the requesting user (set by the server).",
    "T cert.ExtraValue free | A list of strings.",
    "T cert.CertificateSigningRequestStatus | Approval and the issued certificate.",
    " conditions []cert.CertificateSigningRequestCondition lt=map lk=type | Approved, Denied "
    "or Failed.",
    " certificate byte | The issued PEM certificate chain.",
    "T cert.CertificateSigningRequestCondition | A condition of a request.",
    " type string req | Approved, Denied or Failed.",
    " status string req | True, False or Unknown.",
    " reason string | Brief reason.",
    " message string | Human-readable details.",
    " lastUpdateTime meta.Time | Last time the condition was updated.",
    " lastTransitionTime meta.Time | Last time the condition changed status.",

    /* ---------------- admissionregistration.k8s.io/v1 ---------------- */
    "T admreg.MutatingWebhookConfiguration root "
    "k=admissionregistration.k8s.io/v1/MutatingWebhookConfiguration "
    "r=mutatingwebhookconfigurations | Admission webhooks that may change objects.",
    " webhooks []admreg.MutatingWebhook mk=name ps=merge lt=map lk=name | The webhooks.",
    "T admreg.MutatingWebhook | A mutating admission webhook.",
    WEBHOOK_FIELDS,
    " reinvocationPolicy string en=IfNeeded,Never | Never or IfNeeded. Default Never.",
    "T admreg.ValidatingWebhookConfiguration root "
    "k=admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration "
    "r=validatingwebhookconfigurations | Admission webhooks that accept or reject objects.",
    " webhooks []admreg.ValidatingWebhook mk=name ps=merge lt=map lk=name | The webhooks.",
    "T admreg.ValidatingWebhook | A validating admission webhook.",
    WEBHOOK_FIELDS,
    "T admreg.WebhookClientConfig | How to reach a webhook.",
    " url string | https URL of the webhook.",
    " service admreg.ServiceReference | Service of the webhook.",
    " caBundle byte | PEM CA bundle to verify the webhook's certificate.",
    "T admreg.ServiceReference | A service in the cluster.",
    " namespace string req | Namespace of the service.",
    " name string req | Name of the service.",
    " path string | URL path sent in requests.",
    " port int32 | Port of the service. Default 443.",
    "T admreg.RuleWithOperations | Operations and resources matched.",
    " operations []string lt=atomic | CREATE, UPDATE, DELETE, CONNECT or *.",
    " apiGroups []string lt=atomic | API groups, or *.",
    " apiVersions []string lt=atomic | API versions, or *.",
    " resources []string lt=atomic | Resources, or *.",
    " scope string | Cluster, Namespaced or *.",
    "T admreg.MatchCondition | A CEL condition a request must meet.",
    " name string req | Identifier of the condition.",
    " expression string req | CEL expression evaluating to a bool.",
    "T admreg.ValidatingAdmissionPolicy root "
    "k=admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy r=validatingadmissionpolicies "
    "| CEL validations of admission requests.",
    " spec admreg.ValidatingAdmissionPolicySpec | The policy.",
    " status admreg.ValidatingAdmissionPolicyStatus | Type checking results and conditions.",
    "T admreg.ValidatingAdmissionPolicySpec | A validating admission policy.",
    " paramKind admreg.ParamKind | Kind of the parameter resource.",
    " matchConstraints admreg.MatchResources | Requests the policy applies to.",
    " validations []admreg.Validation lt=atomic | CEL validations.",
    " failurePolicy string en=Fail,Ignore | Ignore or Fail. Default Fail.",
    " auditAnnotations []admreg.AuditAnnotation lt=atomic | Audit annotations recorded.",
    " matchConditions []admreg.MatchCondition mk=name ps=merge lt=map lk=name | CEL "
    "conditions a request must meet.",
    " variables []admreg.Variable lt=atomic | Named CEL expressions.",
    "T admreg.ParamKind | Kind of a parameter resource.",
    " apiVersion string | Group/version of the parameter resource.",
    " kind string | Kind of the parameter resource.",
    "T admreg.MatchResources | Requests a policy applies to.",
    " namespaceSelector meta.LabelSelector | Namespaces matched.",
    " objectSelector meta.LabelSelector | Objects matched, by their labels.",
    " resourceRules []admreg.NamedRuleWithOperations lt=atomic | Operations and resources "
    "matched.",
    " excludeResourceRules []admreg.NamedRuleWithOperations lt=atomic | Operations and "
    "resources excluded.",
    " matchPolicy string en=Equivalent,Exact | Exact or Equivalent. Default Equivalent.",
    "T admreg.NamedRuleWithOperations | Operations and resources matched, by name.",
    " resourceNames []string lt=atomic | Names matched; empty matches all.",
    " operations []string lt=atomic | CREATE, UPDATE, DELETE, CONNECT or *.",
    " apiGroups []string lt=atomic | API groups, or *.",
    " apiVersions []string lt=atomic | API versions, or *.",
    " resources []string lt=atomic | Resources, or *.",
    " scope string | Cluster, Namespaced or *.",
    "T admreg.Validation | A CEL validation.",
    " expression string req | CEL expression evaluating to a bool.",
    " message string | Message when the validation fails.",
    " reason string | Reason when the validation fails.",
    " messageExpression string | CEL expression building the message.",
    "T admreg.AuditAnnotation | An audit annotation.",
    " key string req | Annotation key.",
    " valueExpression string req | CEL expression building the value.",
    "T admreg.Variable | A named CEL expression.",
    " name string req | Variable name.",
    " expression string req | CEL expression.",
    "T admreg.ValidatingAdmissionPolicyStatus | Status of a policy.",
    " observedGeneration int64 | Generation observed.",
    " typeChecking admreg.TypeChecking | Type checking results.",
    " conditions []meta.Condition lt=map lk=type | Current conditions.",
    "T admreg.TypeChecking | Type checking results.",
    " expressionWarnings []admreg.ExpressionWarning lt=atomic | Warnings per expression.",
    "T admreg.ExpressionWarning | A type checking warning.",
    " fieldRef string req | Path of the expression.",
    " warning string req | The warning.",
    "T admreg.ValidatingAdmissionPolicyBinding root "
    "k=admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding "
    "r=validatingadmissionpolicybindings | Binds a policy to parameters and resources.",
    " spec admreg.ValidatingAdmissionPolicyBindingSpec | The binding.",
    "T admreg.ValidatingAdmissionPolicyBindingSpec | A policy binding.",
    " policyName string | Name of the bound policy.",
    " paramRef admreg.ParamRef | Parameter resource.",
    " matchResources admreg.MatchResources | Resources the binding applies to.",
    " validationActions []string lt=set | Deny, Warn and/or Audit.",
    "T admreg.ParamRef | A parameter resource.",
    " name string | Name of the parameter resource.",
    " namespace string | Namespace of the parameter resource.",
    " selector meta.LabelSelector | Parameter resources by label.",
    " parameterNotFoundAction string | Allow or Deny.",

    /* ---------------- node.k8s.io/v1 ---------------- */
    "T node.RuntimeClass root k=node.k8s.io/v1/RuntimeClass r=runtimeclasses | A container "
    "runtime configuration.",
    " handler string req | CRI handler name (DNS label).",
    " overhead node.Overhead | Resources a pod of this class uses beyond its containers.",
    " scheduling node.Scheduling | Nodes that support this class.",
    "T node.Overhead | Pod overhead.",
    " podFixed {}resource.Quantity | Fixed overhead per pod.",
    "T node.Scheduling | Scheduling constraints of a runtime class.",
    " nodeSelector {}string mt=atomic | Labels nodes must have.",
    " tolerations []core.Toleration lt=atomic | Tolerations added to pods.",

    /* ---------------- storage.k8s.io/v1 CSI ---------------- */
    "T storage.CSIDriver root k=storage.k8s.io/v1/CSIDriver r=csidrivers | A CSI volume "
    "driver installed in the cluster.",
    " spec storage.CSIDriverSpec req | Specification of the driver.",
    "T storage.CSIDriverSpec | Specification of a CSI driver.",
    " attachRequired bool | Whether the driver needs an attach operation. Default true.",
    " podInfoOnMount bool | Whether pod information is passed on mount. Default false.",
    " volumeLifecycleModes []string lt=set | Persistent and/or Ephemeral.",
    " storageCapacity bool | Whether capacity is reported. Default false.",
    " fsGroupPolicy string | How fsGroup ownership changes are applied.",
    " tokenRequests []storage.TokenRequest lt=atomic | Service account tokens passed on mount.",
    " requiresRepublish bool | Whether NodePublishVolume is called periodically.",
    " seLinuxMount bool | Whether the driver supports the SELinux context mount option.",
    " nodeAllocatableUpdatePeriodSeconds int64 | Period of node allocatable updates.",
    "T storage.TokenRequest | A service account token request.",
    " audience string req | Audience of the token.",
    " expirationSeconds int64 | Validity of the token.",
    "T storage.CSINode root k=storage.k8s.io/v1/CSINode r=csinodes | CSI drivers installed on "
    "a node.",
    " spec storage.CSINodeSpec req | Drivers of the node.",
    "T storage.CSINodeSpec | Drivers of a node.",
    " drivers []storage.CSINodeDriver req mk=name ps=merge lt=map lk=name | Registered drivers.",
    "T storage.CSINodeDriver | A driver registered on a node.",
    " name string req | Driver name.",
    " nodeID string req | The node as the driver knows it.",
    " topologyKeys []string lt=atomic | Topology keys the driver supports.",
    " allocatable storage.VolumeNodeResources | Volume limits of the node.",
    "T storage.VolumeNodeResources | Volume limits.",
    " count int32 | Maximum volumes of this driver on the node.",
    "T storage.VolumeAttachment root k=storage.k8s.io/v1/VolumeAttachment r=volumeattachments "
    "| Attaches a volume to a node.",
    " spec storage.VolumeAttachmentSpec req | The attachment.",
    " status storage.VolumeAttachmentStatus | Attachment result.",
    "T storage.VolumeAttachmentSpec | A volume attachment.",
    " attacher string req | Driver that attaches the volume.",
    " source storage.VolumeAttachmentSource req | The volume.",
    " nodeName string req | Node to attach to.",
    "T storage.VolumeAttachmentSource | The attached volume.",
    " persistentVolumeName string | Name of the persistent volume.",
    " inlineVolumeSpec core.PersistentVolumeSpec | Inline volume (CSI migration).",
    "T storage.VolumeAttachmentStatus | Result of an attachment.",
    " attached bool req | Whether the volume is attached.",
    " attachmentMetadata {}string | Driver data for the mount.",
    " attachError storage.VolumeError | Last attach error.",
    " detachError storage.VolumeError | Last detach error.",
    "T storage.VolumeError | An attach or detach error.",
    " time meta.Time | When the error occurred.",
    " message string | The error.",
    " errorCode int32 | Numeric gRPC code.",
    "T storage.CSIStorageCapacity root k=storage.k8s.io/v1/CSIStorageCapacity "
    "r=csistoragecapacities ns | Storage capacity of a class in a topology segment.",
    " nodeTopology meta.LabelSelector | Nodes that can access the storage.",
    " storageClassName string req | Storage class the capacity applies to.",
    " capacity resource.Quantity | Available capacity.",
    " maximumVolumeSize resource.Quantity | Largest volume that can be created.",

    /* ---------------- flowcontrol.apiserver.k8s.io v1 and v1beta3 ---------------- */
#define NCS_FIELD "nominalConcurrencyShares"
    FLOW_TYPES("flow", "v1"),
    FLOW_TYPES("flow3", "v1beta3"),
#undef NCS_FIELD
};

const size_t schema_dsl_nlines3 = sizeof(schema_dsl_lines3) / sizeof(schema_dsl_lines3[0]);
