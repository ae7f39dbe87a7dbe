/* SPDX-License-Identifier: Apache-2.0 */
/* Protobuf field numbers of the built-in message types, as the wire format defines them
 * (k8s.io/api and apimachinery). One line per message: "Name field=num:type ...", where
 * type is a scalar (string int32 int64 bool bytes double float), a well-known type (Time
 * MicroTime Quantity IntOrString Duration RawExtension FieldsV1), another message, "[]T"
 * (repeated) or "map<K,V>". A '*' after the name marks a Go pointer field (its zero value is
 * kept), '^' a member inlined into its parent's JSON. Fields unknown here are skipped. */
#include <stddef.h>

const char *const proto_schema_lines[] = {
    "Namespace metadata=1:ObjectMeta spec=2:NamespaceSpec status=3:NamespaceStatus",
    "ConfigMap metadata=1:ObjectMeta immutable*=4:bool data=2:map<string,string>  "
    "binaryData=3:map<string,bytes>",
    "Secret metadata=1:ObjectMeta immutable*=5:bool data=2:map<string,bytes>  "
    "stringData=4:map<string,string> type=3:string",
    "Service metadata=1:ObjectMeta spec=2:ServiceSpec status=3:ServiceStatus",
    "ServiceAccount metadata=1:ObjectMeta secrets=2:[]ObjectReference  "
    "imagePullSecrets=3:[]LocalObjectReference automountServiceAccountToken*=4:bool",
    "ResourceQuota metadata=1:ObjectMeta spec=2:ResourceQuotaSpec  "
    "status=3:ResourceQuotaStatus",
    "Pod metadata=1:ObjectMeta spec=2:PodSpec status=3:PodStatus",
    "Deployment metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus",
    "Job metadata=1:ObjectMeta spec=2:JobSpec status=3:JobStatus",
    "CronJob metadata=1:ObjectMeta spec=2:CronJobSpec status=3:CronJobStatus",
    "PodDisruptionBudget metadata=1:ObjectMeta spec=2:PodDisruptionBudgetSpec  "
    "status=3:PodDisruptionBudgetStatus",
    "DeleteOptions gracePeriodSeconds*=1:int64 preconditions=2:Preconditions  "
    "orphanDependents*=3:bool propagationPolicy=4:string dryRun=5:[]string",
    "Eviction metadata=1:ObjectMeta deleteOptions=2:DeleteOptions",
    "Lease metadata=1:ObjectMeta spec=2:LeaseSpec",
    "Endpoints metadata=1:ObjectMeta subsets=2:[]EndpointSubset",
    "Node metadata=1:ObjectMeta spec=2:NodeSpec status=3:NodeStatus",
    "Event metadata=1:ObjectMeta involvedObject=2:ObjectReference reason=3:string  "
    "message=4:string source=5:EventSource firstTimestamp=6:Time lastTimestamp=7:Time  "
    "count=8:int32 type=9:string eventTime=10:MicroTime series=11:EventSeries  "
    "action=12:string related=13:ObjectReference reportingComponent=14:string  "
    "reportingInstance=15:string",
    "LimitRange metadata=1:ObjectMeta spec=2:LimitRangeSpec",
    "PodTemplate metadata=1:ObjectMeta template=2:PodTemplateSpec",
    "ReplicaSet metadata=1:ObjectMeta spec=2:ReplicaSetSpec status=3:ReplicaSetStatus",
    "DaemonSet metadata=1:ObjectMeta spec=2:DaemonSetSpec status=3:DaemonSetStatus",
    "StatefulSet metadata=1:ObjectMeta spec=2:StatefulSetSpec status=3:StatefulSetStatus",
    "Binding metadata=1:ObjectMeta target=2:ObjectReference",
    "ObjectMeta name=1:string generateName=2:string namespace=3:string selfLink=4:string  "
    "uid=5:string resourceVersion=6:string generation=7:int64 creationTimestamp=8:Time  "
    "deletionTimestamp=9:Time deletionGracePeriodSeconds*=10:int64  "
    "labels=11:map<string,string> annotations=12:map<string,string>  "
    "ownerReferences=13:[]OwnerReference finalizers=14:[]string clusterName=15:string  "
    "managedFields=17:[]ManagedFieldsEntry",
    "NamespaceSpec finalizers=1:[]string",
    "NamespaceStatus phase=1:string conditions=2:[]NamespaceCondition",
    "ServiceSpec ports=1:[]ServicePort selector=2:map<string,string> clusterIP=3:string  "
    "clusterIPs=18:[]string type=4:string externalIPs=5:[]string sessionAffinity=7:string  "
    "loadBalancerIP=8:string loadBalancerSourceRanges=9:[]string externalName=10:string  "
    "externalTrafficPolicy=11:string healthCheckNodePort=12:int32  "
    "publishNotReadyAddresses=13:bool sessionAffinityConfig=14:SessionAffinityConfig  "
    "topologyKeys=16:[]string ipFamilies=19:[]string ipFamilyPolicy=17:string  "
    "allocateLoadBalancerNodePorts*=20:bool",
    "ServiceStatus loadBalancer=1:LoadBalancerStatus conditions=2:[]Condition",
    "ObjectReference kind=1:string namespace=2:string name=3:string uid=4:string  "
    "apiVersion=5:string resourceVersion=6:string fieldPath=7:string",
    "LocalObjectReference name=1:string",
    "ResourceQuotaSpec hard=1:map<string,Quantity> scopes=2:[]string  "
    "scopeSelector=3:ScopeSelector",
    "ResourceQuotaStatus hard=1:map<string,Quantity> used=2:map<string,Quantity>",
    "PodSpec volumes=1:[]Volume initContainers=20:[]Container containers=2:[]Container  "
    "ephemeralContainers=34:[]EphemeralContainer restartPolicy=3:string  "
    "terminationGracePeriodSeconds*=4:int64 activeDeadlineSeconds*=5:int64 dnsPolicy=6:string  "
    "nodeSelector=7:map<string,string> serviceAccountName=8:string serviceAccount=9:string  "
    "automountServiceAccountToken*=21:bool nodeName=10:string hostNetwork=11:bool  "
    "hostPID=12:bool hostIPC=13:bool shareProcessNamespace*=27:bool  "
    "securityContext=14:PodSecurityContext imagePullSecrets=15:[]LocalObjectReference  "
    "hostname=16:string subdomain=17:string affinity=18:Affinity schedulerName=19:string  "
    "tolerations=22:[]Toleration hostAliases=23:[]HostAlias priorityClassName=24:string  "
    "priority*=25:int32 dnsConfig=26:PodDNSConfig readinessGates=28:[]PodReadinessGate  "
    "runtimeClassName*=29:string enableServiceLinks*=30:bool preemptionPolicy=31:string  "
    "overhead=32:map<string,Quantity> topologySpreadConstraints=33:[]TopologySpreadConstraint  "
    "setHostnameAsFQDN*=35:bool",
    "PodStatus phase=1:string conditions=2:[]PodCondition message=3:string reason=4:string  "
    "nominatedNodeName=11:string hostIP=5:string podIP=6:string podIPs=12:[]PodIP  "
    "startTime=7:Time initContainerStatuses=10:[]ContainerStatus  "
    "containerStatuses=8:[]ContainerStatus qosClass=9:string  "
    "ephemeralContainerStatuses=13:[]ContainerStatus",
    "DeploymentSpec replicas*=1:int32 selector=2:LabelSelector template=3:PodTemplateSpec  "
    "strategy=4:DeploymentStrategy minReadySeconds=5:int32 revisionHistoryLimit*=6:int32  "
    "paused=7:bool progressDeadlineSeconds*=9:int32",
    "DeploymentStatus observedGeneration=1:int64 replicas=2:int32 updatedReplicas=3:int32  "
    "readyReplicas=7:int32 availableReplicas=4:int32 unavailableReplicas=5:int32  "
    "conditions=6:[]DeploymentCondition collisionCount*=8:int32",
    "JobSpec parallelism*=1:int32 completions*=2:int32 activeDeadlineSeconds*=3:int64  "
    "backoffLimit*=7:int32 selector=4:LabelSelector manualSelector*=5:bool  "
    "template=6:PodTemplateSpec ttlSecondsAfterFinished*=8:int32",
    "JobStatus conditions=1:[]JobCondition startTime=2:Time completionTime=3:Time  "
    "active=4:int32 succeeded=5:int32 failed=6:int32",
    "CronJobSpec schedule=1:string startingDeadlineSeconds*=2:int64  "
    "concurrencyPolicy=3:string suspend*=4:bool jobTemplate=5:JobTemplateSpec  "
    "successfulJobsHistoryLimit*=6:int32 failedJobsHistoryLimit*=7:int32",
    "CronJobStatus active=1:[]ObjectReference lastScheduleTime=4:Time",
    "PodDisruptionBudgetSpec minAvailable=1:IntOrString selector=2:LabelSelector  "
    "maxUnavailable=3:IntOrString",
    "PodDisruptionBudgetStatus observedGeneration=1:int64 disruptedPods=2:map<string,Time>  "
    "disruptionsAllowed=3:int32 currentHealthy=4:int32 desiredHealthy=5:int32  "
    "expectedPods=6:int32",
    "Preconditions uid=1:string",
    "LeaseSpec holderIdentity*=1:string leaseDurationSeconds*=2:int32 acquireTime=3:MicroTime  "
    "renewTime=4:MicroTime leaseTransitions*=5:int32",
    "EndpointSubset addresses=1:[]EndpointAddress notReadyAddresses=2:[]EndpointAddress  "
    "ports=3:[]EndpointPort",
    "NodeSpec podCIDR=1:string podCIDRs=7:[]string providerID=3:string unschedulable=4:bool  "
    "taints=5:[]Taint configSource=6:NodeConfigSource externalID=2:string",
    "NodeStatus capacity=1:map<string,Quantity> allocatable=2:map<string,Quantity>  "
    "phase=3:string conditions=4:[]NodeCondition addresses=5:[]NodeAddress  "
    "daemonEndpoints=6:NodeDaemonEndpoints nodeInfo=7:NodeSystemInfo  "
    "images=8:[]ContainerImage volumesInUse=9:[]string volumesAttached=10:[]AttachedVolume  "
    "config=11:NodeConfigStatus",
    "EventSource component=1:string host=2:string",
    "Time seconds=1:int64 nanos=2:int32",
    "MicroTime seconds=1:int64 nanos=2:int32",
    "EventSeries count=1:int32 lastObservedTime=2:MicroTime",
    "LimitRangeSpec limits=1:[]LimitRangeItem",
    "PodTemplateSpec metadata=1:ObjectMeta spec=2:PodSpec",
    "ReplicaSetSpec replicas*=1:int32 minReadySeconds=4:int32 selector=2:LabelSelector  "
    "template=3:PodTemplateSpec",
    "ReplicaSetStatus replicas=1:int32 fullyLabeledReplicas=2:int32 readyReplicas=4:int32  "
    "availableReplicas=5:int32 observedGeneration=3:int64 conditions=6:[]ReplicaSetCondition",
    "DaemonSetSpec selector=1:LabelSelector template=2:PodTemplateSpec  "
    "updateStrategy=3:DaemonSetUpdateStrategy minReadySeconds=4:int32  "
    "revisionHistoryLimit*=6:int32",
    "DaemonSetStatus currentNumberScheduled=1:int32 numberMisscheduled=2:int32  "
    "desiredNumberScheduled=3:int32 numberReady=4:int32 observedGeneration=5:int64  "
    "updatedNumberScheduled=6:int32 numberAvailable=7:int32 numberUnavailable=8:int32  "
    "collisionCount*=9:int32 conditions=10:[]DaemonSetCondition",
    "StatefulSetSpec replicas*=1:int32 selector=2:LabelSelector template=3:PodTemplateSpec  "
    "volumeClaimTemplates=4:[]PersistentVolumeClaim serviceName=5:string  "
    "podManagementPolicy=6:string updateStrategy=7:StatefulSetUpdateStrategy  "
    "revisionHistoryLimit*=8:int32",
    "StatefulSetStatus observedGeneration=1:int64 replicas=2:int32 readyReplicas=3:int32  "
    "currentReplicas=4:int32 updatedReplicas=5:int32 currentRevision=6:string  "
    "updateRevision=7:string collisionCount*=9:int32 conditions=10:[]StatefulSetCondition",
    "OwnerReference apiVersion=5:string kind=1:string name=3:string uid=4:string  "
    "controller*=6:bool blockOwnerDeletion*=7:bool",
    "ManagedFieldsEntry manager=1:string operation=2:string apiVersion=3:string time=4:Time  "
    "fieldsType=6:string fieldsV1=7:FieldsV1",
    "NamespaceCondition type=1:string status=2:string lastTransitionTime=4:Time  "
    "reason=5:string message=6:string",
    "ServicePort name=1:string protocol=2:string appProtocol*=6:string port=3:int32  "
    "targetPort=4:IntOrString nodePort=5:int32",
    "SessionAffinityConfig clientIP=1:ClientIPConfig",
    "LoadBalancerStatus ingress=1:[]LoadBalancerIngress",
    "Condition type=1:string status=2:string observedGeneration=3:int64  "
    "lastTransitionTime=4:Time reason=5:string message=6:string",
    "Quantity string=1:string",
    "ScopeSelector matchExpressions=1:[]ScopedResourceSelectorRequirement",
    "Volume name=1:string volumeSource^=2:VolumeSource",
    "Container name=1:string image=2:string command=3:[]string args=4:[]string  "
    "workingDir=5:string ports=6:[]ContainerPort envFrom=19:[]EnvFromSource env=7:[]EnvVar  "
    "resources=8:ResourceRequirements volumeMounts=9:[]VolumeMount  "
    "volumeDevices=21:[]VolumeDevice livenessProbe=10:Probe readinessProbe=11:Probe  "
    "startupProbe=22:Probe lifecycle=12:Lifecycle terminationMessagePath=13:string  "
    "terminationMessagePolicy=20:string imagePullPolicy=14:string  "
    "securityContext=15:SecurityContext stdin=16:bool stdinOnce=17:bool tty=18:bool",
    "EphemeralContainer ephemeralContainerCommon^=1:EphemeralContainerCommon  "
    "targetContainerName=2:string",
    "PodSecurityContext seLinuxOptions=1:SELinuxOptions  "
    "windowsOptions=8:WindowsSecurityContextOptions runAsUser*=2:int64 runAsGroup*=6:int64  "
    "runAsNonRoot*=3:bool supplementalGroups=4:[]int64 fsGroup*=5:int64 sysctls=7:[]Sysctl  "
    "fsGroupChangePolicy=9:string seccompProfile=10:SeccompProfile",
    "Affinity nodeAffinity=1:NodeAffinity podAffinity=2:PodAffinity  "
    "podAntiAffinity=3:PodAntiAffinity",
    "Toleration key=1:string operator=2:string value=3:string effect=4:string  "
    "tolerationSeconds*=5:int64",
    "HostAlias ip=1:string hostnames=2:[]string",
    "PodDNSConfig nameservers=1:[]string searches=2:[]string options=3:[]PodDNSConfigOption",
    "PodReadinessGate conditionType=1:string",
    "TopologySpreadConstraint maxSkew=1:int32 topologyKey=2:string whenUnsatisfiable=3:string  "
    "labelSelector=4:LabelSelector",
    "PodCondition type=1:string status=2:string lastProbeTime=3:Time  "
    "lastTransitionTime=4:Time reason=5:string message=6:string",
    "PodIP ip=1:string",
    "ContainerStatus name=1:string state=2:ContainerState lastState=3:ContainerState  "
    "ready=4:bool restartCount=5:int32 image=6:string imageID=7:string containerID=8:string  "
    "started*=9:bool",
    "LabelSelector matchLabels=1:map<string,string>  "
    "matchExpressions=2:[]LabelSelectorRequirement",
    "DeploymentStrategy type=1:string rollingUpdate=2:RollingUpdateDeployment",
    "DeploymentCondition type=1:string status=2:string lastUpdateTime=6:Time  "
    "lastTransitionTime=7:Time reason=4:string message=5:string",
    "JobCondition type=1:string status=2:string lastProbeTime=3:Time  "
    "lastTransitionTime=4:Time reason=5:string message=6:string",
    "JobTemplateSpec metadata=1:ObjectMeta spec=2:JobSpec",
    "IntOrString type=1:int64 intVal=2:int32 strVal=3:string",
    "EndpointAddress ip=1:string hostname=3:string nodeName*=4:string  "
    "targetRef=2:ObjectReference",
    "EndpointPort name=1:string port=2:int32 protocol=3:string appProtocol*=4:string",
    "Taint key=1:string value=2:string effect=3:string timeAdded=4:Time",
    "NodeConfigSource configMap=2:ConfigMapNodeConfigSource",
    "NodeCondition type=1:string status=2:string lastHeartbeatTime=3:Time  "
    "lastTransitionTime=4:Time reason=5:string message=6:string",
    "NodeAddress type=1:string address=2:string",
    "NodeDaemonEndpoints kubeletEndpoint=1:DaemonEndpoint",
    "NodeSystemInfo machineID=1:string systemUUID=2:string bootID=3:string  "
    "kernelVersion=4:string osImage=5:string containerRuntimeVersion=6:string  "
    "kubeletVersion=7:string kubeProxyVersion=8:string operatingSystem=9:string  "
    "architecture=10:string",
    "ContainerImage names=1:[]string sizeBytes=2:int64",
    "AttachedVolume name=1:string devicePath=2:string",
    "NodeConfigStatus assigned=1:NodeConfigSource active=2:NodeConfigSource  "
    "lastKnownGood=3:NodeConfigSource error=4:string",
    "LimitRangeItem type=1:string max=2:map<string,Quantity> min=3:map<string,Quantity>  "
    "default=4:map<string,Quantity> defaultRequest=5:map<string,Quantity>  "
    "maxLimitRequestRatio=6:map<string,Quantity>",
    "ReplicaSetCondition type=1:string status=2:string lastTransitionTime=3:Time  "
    "reason=4:string message=5:string",
    "DaemonSetUpdateStrategy type=1:string rollingUpdate=2:RollingUpdateDaemonSet",
    "DaemonSetCondition type=1:string status=2:string lastTransitionTime=3:Time  "
    "reason=4:string message=5:string",
    "PersistentVolumeClaim metadata=1:ObjectMeta spec=2:PersistentVolumeClaimSpec  "
    "status=3:PersistentVolumeClaimStatus",
    "StatefulSetUpdateStrategy type=1:string rollingUpdate=2:RollingUpdateStatefulSetStrategy",
    "StatefulSetCondition type=1:string status=2:string lastTransitionTime=3:Time  "
    "reason=4:string message=5:string",
    "FieldsV1 Raw=1:bytes",
    "ClientIPConfig timeoutSeconds*=1:int32",
    "LoadBalancerIngress ip=1:string hostname=2:string ports=4:[]PortStatus",
    "ScopedResourceSelectorRequirement scopeName=1:string operator=2:string values=3:[]string",
    "VolumeSource hostPath=1:HostPathVolumeSource emptyDir=2:EmptyDirVolumeSource  "
    "gcePersistentDisk=3:GCEPersistentDiskVolumeSource  "
    "awsElasticBlockStore=4:AWSElasticBlockStoreVolumeSource gitRepo=5:GitRepoVolumeSource  "
    "secret=6:SecretVolumeSource nfs=7:NFSVolumeSource iscsi=8:ISCSIVolumeSource  "
    "glusterfs=9:GlusterfsVolumeSource  "
    "persistentVolumeClaim=10:PersistentVolumeClaimVolumeSource rbd=11:RBDVolumeSource  "
    "flexVolume=12:FlexVolumeSource cinder=13:CinderVolumeSource cephfs=14:CephFSVolumeSource  "
    "flocker=15:FlockerVolumeSource downwardAPI=16:DownwardAPIVolumeSource  "
    "fc=17:FCVolumeSource azureFile=18:AzureFileVolumeSource  "
    "configMap=19:ConfigMapVolumeSource vsphereVolume=20:VsphereVirtualDiskVolumeSource  "
    "quobyte=21:QuobyteVolumeSource azureDisk=22:AzureDiskVolumeSource  "
    "photonPersistentDisk=23:PhotonPersistentDiskVolumeSource  "
    "projected=26:ProjectedVolumeSource portworxVolume=24:PortworxVolumeSource  "
    "scaleIO=25:ScaleIOVolumeSource storageos=27:StorageOSVolumeSource csi=28:CSIVolumeSource  "
    "ephemeral=29:EphemeralVolumeSource",
    "ContainerPort name=1:string hostPort=2:int32 containerPort=3:int32 protocol=4:string  "
    "hostIP=5:string",
    "EnvFromSource prefix=1:string configMapRef=2:ConfigMapEnvSource  "
    "secretRef=3:SecretEnvSource",
    "EnvVar name=1:string value=2:string valueFrom=3:EnvVarSource",
    "ResourceRequirements limits=1:map<string,Quantity> requests=2:map<string,Quantity>",
    "VolumeMount name=1:string readOnly=2:bool mountPath=3:string subPath=4:string  "
    "mountPropagation=5:string subPathExpr=6:string",
    "VolumeDevice name=1:string devicePath=2:string",
    "Probe handler^=1:Handler initialDelaySeconds=2:int32 timeoutSeconds=3:int32  "
    "periodSeconds=4:int32 successThreshold=5:int32 failureThreshold=6:int32",
    "Lifecycle postStart=1:Handler preStop=2:Handler",
    "SecurityContext capabilities=1:Capabilities privileged*=2:bool  "
    "seLinuxOptions=3:SELinuxOptions windowsOptions=10:WindowsSecurityContextOptions  "
    "runAsUser*=4:int64 runAsGroup*=8:int64 runAsNonRoot*=5:bool  "
    "readOnlyRootFilesystem*=6:bool allowPrivilegeEscalation*=7:bool procMount=9:string  "
    "seccompProfile=11:SeccompProfile",
    "EphemeralContainerCommon name=1:string image=2:string command=3:[]string args=4:[]string  "
    "workingDir=5:string ports=6:[]ContainerPort envFrom=19:[]EnvFromSource env=7:[]EnvVar  "
    "resources=8:ResourceRequirements volumeMounts=9:[]VolumeMount  "
    "volumeDevices=21:[]VolumeDevice livenessProbe=10:Probe readinessProbe=11:Probe  "
    "startupProbe=22:Probe lifecycle=12:Lifecycle terminationMessagePath=13:string  "
    "terminationMessagePolicy=20:string imagePullPolicy=14:string  "
    "securityContext=15:SecurityContext stdin=16:bool stdinOnce=17:bool tty=18:bool",
    "SELinuxOptions user=1:string role=2:string type=3:string level=4:string",
    "WindowsSecurityContextOptions gmsaCredentialSpecName*=1:string  "
    "gmsaCredentialSpec*=2:string runAsUserName*=3:string",
    "Sysctl name=1:string value=2:string",
    "SeccompProfile type=1:string localhostProfile*=2:string",
    "NodeAffinity requiredDuringSchedulingIgnoredDuringExecution=1:NodeSelector  "
    "preferredDuringSchedulingIgnoredDuringExecution=2:[]PreferredSchedulingTerm",
    "PodAffinity requiredDuringSchedulingIgnoredDuringExecution=1:[]PodAffinityTerm  "
    "preferredDuringSchedulingIgnoredDuringExecution=2:[]WeightedPodAffinityTerm",
    "PodAntiAffinity requiredDuringSchedulingIgnoredDuringExecution=1:[]PodAffinityTerm  "
    "preferredDuringSchedulingIgnoredDuringExecution=2:[]WeightedPodAffinityTerm",
    "PodDNSConfigOption name=1:string value*=2:string",
    "ContainerState waiting=1:ContainerStateWaiting running=2:ContainerStateRunning  "
    "terminated=3:ContainerStateTerminated",
    "LabelSelectorRequirement key=1:string operator=2:string values=3:[]string",
    "RollingUpdateDeployment maxUnavailable=1:IntOrString maxSurge=2:IntOrString",
    "ConfigMapNodeConfigSource namespace=1:string name=2:string uid=3:string  "
    "resourceVersion=4:string kubeletConfigKey=5:string",
    "DaemonEndpoint Port=1:int32",
    "RollingUpdateDaemonSet maxUnavailable=1:IntOrString",
    "PersistentVolumeClaimSpec accessModes=1:[]string selector=4:LabelSelector  "
    "resources=2:ResourceRequirements volumeName=3:string storageClassName*=5:string  "
    "volumeMode=6:string dataSource=7:TypedLocalObjectReference",
    "PersistentVolumeClaimStatus phase=1:string accessModes=2:[]string  "
    "capacity=3:map<string,Quantity> conditions=4:[]PersistentVolumeClaimCondition",
    "RollingUpdateStatefulSetStrategy partition*=1:int32",
    "PortStatus port=1:int32 protocol=2:string error*=3:string",
    "HostPathVolumeSource path=1:string type=2:string",
    "EmptyDirVolumeSource medium=1:string sizeLimit=2:Quantity",
    "GCEPersistentDiskVolumeSource pdName=1:string fsType=2:string partition=3:int32  "
    "readOnly=4:bool",
    "AWSElasticBlockStoreVolumeSource volumeID=1:string fsType=2:string partition=3:int32  "
    "readOnly=4:bool",
    "GitRepoVolumeSource repository=1:string revision=2:string directory=3:string",
    "SecretVolumeSource secretName=1:string items=2:[]KeyToPath defaultMode*=3:int32  "
    "optional*=4:bool",
    "NFSVolumeSource server=1:string path=2:string readOnly=3:bool",
    "ISCSIVolumeSource targetPortal=1:string iqn=2:string lun=3:int32 iscsiInterface=4:string  "
    "fsType=5:string readOnly=6:bool portals=7:[]string chapAuthDiscovery=8:bool  "
    "chapAuthSession=11:bool secretRef=10:LocalObjectReference initiatorName*=12:string",
    "GlusterfsVolumeSource endpoints=1:string path=2:string readOnly=3:bool",
    "PersistentVolumeClaimVolumeSource claimName=1:string readOnly=2:bool",
    "RBDVolumeSource monitors=1:[]string image=2:string fsType=3:string pool=4:string  "
    "user=5:string keyring=6:string secretRef=7:LocalObjectReference readOnly=8:bool",
    "FlexVolumeSource driver=1:string fsType=2:string secretRef=3:LocalObjectReference  "
    "readOnly=4:bool options=5:map<string,string>",
    "CinderVolumeSource volumeID=1:string fsType=2:string readOnly=3:bool  "
    "secretRef=4:LocalObjectReference",
    "CephFSVolumeSource monitors=1:[]string path=2:string user=3:string secretFile=4:string  "
    "secretRef=5:LocalObjectReference readOnly=6:bool",
    "FlockerVolumeSource datasetName=1:string datasetUUID=2:string",
    "DownwardAPIVolumeSource items=1:[]DownwardAPIVolumeFile defaultMode*=2:int32",
    "FCVolumeSource targetWWNs=1:[]string lun*=2:int32 fsType=3:string readOnly=4:bool  "
    "wwids=5:[]string",
    "AzureFileVolumeSource secretName=1:string shareName=2:string readOnly=3:bool",
    "ConfigMapVolumeSource localObjectReference^=1:LocalObjectReference items=2:[]KeyToPath  "
    "defaultMode*=3:int32 optional*=4:bool",
    "VsphereVirtualDiskVolumeSource volumePath=1:string fsType=2:string  "
    "storagePolicyName=3:string storagePolicyID=4:string",
    "QuobyteVolumeSource registry=1:string volume=2:string readOnly=3:bool user=4:string  "
    "group=5:string tenant=6:string",
    "AzureDiskVolumeSource diskName=1:string diskURI=2:string cachingMode=3:string  "
    "fsType*=4:string readOnly*=5:bool kind=6:string",
    "PhotonPersistentDiskVolumeSource pdID=1:string fsType=2:string",
    "ProjectedVolumeSource sources=1:[]VolumeProjection defaultMode*=2:int32",
    "PortworxVolumeSource volumeID=1:string fsType=2:string readOnly=3:bool",
    "ScaleIOVolumeSource gateway=1:string system=2:string secretRef=3:LocalObjectReference  "
    "sslEnabled=4:bool protectionDomain=5:string storagePool=6:string storageMode=7:string  "
    "volumeName=8:string fsType=9:string readOnly=10:bool",
    "StorageOSVolumeSource volumeName=1:string volumeNamespace=2:string fsType=3:string  "
    "readOnly=4:bool secretRef=5:LocalObjectReference",
    "CSIVolumeSource driver=1:string readOnly*=2:bool fsType*=3:string  "
    "volumeAttributes=4:map<string,string> nodePublishSecretRef=5:LocalObjectReference",
    "EphemeralVolumeSource volumeClaimTemplate=1:PersistentVolumeClaimTemplate  "
    "readOnly=2:bool",
    "ConfigMapEnvSource localObjectReference^=1:LocalObjectReference optional*=2:bool",
    "SecretEnvSource localObjectReference^=1:LocalObjectReference optional*=2:bool",
    "EnvVarSource fieldRef=1:ObjectFieldSelector resourceFieldRef=2:ResourceFieldSelector  "
    "configMapKeyRef=3:ConfigMapKeySelector secretKeyRef=4:SecretKeySelector",
    "Handler exec=1:ExecAction httpGet=2:HTTPGetAction tcpSocket=3:TCPSocketAction",
    "Capabilities add=1:[]string drop=2:[]string",
    "NodeSelector nodeSelectorTerms=1:[]NodeSelectorTerm",
    "PreferredSchedulingTerm weight=1:int32 preference=2:NodeSelectorTerm",
    "PodAffinityTerm labelSelector=1:LabelSelector namespaces=2:[]string topologyKey=3:string",
    "WeightedPodAffinityTerm weight=1:int32 podAffinityTerm=2:PodAffinityTerm",
    "ContainerStateWaiting reason=1:string message=2:string",
    "ContainerStateRunning startedAt=1:Time",
    "ContainerStateTerminated exitCode=1:int32 signal=2:int32 reason=3:string  "
    "message=4:string startedAt=5:Time finishedAt=6:Time containerID=7:string",
    "TypedLocalObjectReference apiGroup*=1:string kind=2:string name=3:string",
    "PersistentVolumeClaimCondition type=1:string status=2:string lastProbeTime=3:Time  "
    "lastTransitionTime=4:Time reason=5:string message=6:string",
    "KeyToPath key=1:string path=2:string mode*=3:int32",
    "DownwardAPIVolumeFile path=1:string fieldRef=2:ObjectFieldSelector  "
    "resourceFieldRef=3:ResourceFieldSelector mode*=4:int32",
    "VolumeProjection secret=1:SecretProjection downwardAPI=2:DownwardAPIProjection  "
    "configMap=3:ConfigMapProjection serviceAccountToken=4:ServiceAccountTokenProjection",
    "PersistentVolumeClaimTemplate metadata=1:ObjectMeta spec=2:PersistentVolumeClaimSpec",
    "ObjectFieldSelector apiVersion=1:string fieldPath=2:string",
    "ResourceFieldSelector containerName=1:string resource=2:string divisor=3:Quantity",
    "ConfigMapKeySelector localObjectReference^=1:LocalObjectReference key=2:string  "
    "optional*=3:bool",
    "SecretKeySelector localObjectReference^=1:LocalObjectReference key=2:string  "
    "optional*=3:bool",
    "ExecAction command=1:[]string",
    "HTTPGetAction path=1:string port=2:IntOrString host=3:string scheme=4:string  "
    "httpHeaders=5:[]HTTPHeader",
    "TCPSocketAction port=1:IntOrString host=2:string",
    "NodeSelectorTerm matchExpressions=1:[]NodeSelectorRequirement  "
    "matchFields=2:[]NodeSelectorRequirement",
    "SecretProjection localObjectReference^=1:LocalObjectReference items=2:[]KeyToPath  "
    "optional*=4:bool",
    "DownwardAPIProjection items=1:[]DownwardAPIVolumeFile",
    "ConfigMapProjection localObjectReference^=1:LocalObjectReference items=2:[]KeyToPath  "
    "optional*=4:bool",
    "ServiceAccountTokenProjection audience=1:string expirationSeconds*=2:int64 path=3:string",
    "HTTPHeader name=1:string value=2:string",
    "NodeSelectorRequirement key=1:string operator=2:string values=3:[]string",
    "Scale metadata=1:ObjectMeta spec=2:ScaleSpec status=3:ScaleStatus",
    "ScaleSpec replicas=1:int32",
    "ScaleStatus replicas=1:int32 selector=2:string",
    /* authorization.k8s.io/v1, authentication.k8s.io/v1 (kubectl auth can-i / whoami) */
    "SelfSubjectAccessReview metadata=1:ObjectMeta spec=2:SelfSubjectAccessReviewSpec "
    "status=3:SubjectAccessReviewStatus",
    "SelfSubjectAccessReviewSpec resourceAttributes=1:ResourceAttributes "
    "nonResourceAttributes=2:NonResourceAttributes",
    "ResourceAttributes namespace=1:string verb=2:string group=3:string version=4:string "
    "resource=5:string subresource=6:string name=7:string",
    "NonResourceAttributes path=1:string verb=2:string",
    "SubjectAccessReviewStatus allowed=1:bool denied=4:bool reason=2:string "
    "evaluationError=3:string",
    "SelfSubjectReview metadata=1:ObjectMeta status=2:SelfSubjectReviewStatus",
    "SelfSubjectReviewStatus userInfo=1:UserInfo",
    "UserInfo username=1:string uid=2:string groups=3:[]string extra=4:map<string,ExtraValue>",
};

const size_t proto_schema_nlines = sizeof(proto_schema_lines) / sizeof(proto_schema_lines[0]);
