{{/* Names, labels and the pieces several templates share. */}}

{{- define "dsw.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<chart>", or the release name when it already contains the chart name. */}}
{{- define "dsw.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "dsw.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dsw.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dsw.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dsw.labels" -}}
helm.sh/chart: {{ include "dsw.chart" . }}
{{ include "dsw.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: admission-webhook
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The Service the apiserver calls; the serving certificate is issued for its DNS names. */}}
{{- define "dsw.serviceName" -}}
{{- include "dsw.fullname" . -}}
{{- end -}}

{{- define "dsw.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dsw.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret with tls.crt and tls.key that the pods mount. */}}
{{- define "dsw.tlsSecretName" -}}
{{- if eq .Values.tls.mode "existingSecret" -}}
{{- required "tls.existingSecret is required with tls.mode=existingSecret" .Values.tls.existingSecret -}}
{{- else -}}
{{- printf "%s-tls" (include "dsw.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Where the client CA comes from (tls.clientCA), as YAML {kind, name, key}; empty when off. */}}
{{- define "dsw.clientCASource" -}}
{{- $c := .Values.tls.clientCA | default dict -}}
{{- if $c.enabled -}}
{{- if and $c.existingConfigMap $c.existingSecret -}}
{{- fail "tls.clientCA: set only one of existingConfigMap and existingSecret" -}}
{{- else if $c.existingConfigMap -}}
kind: ConfigMap
name: {{ $c.existingConfigMap }}
key: {{ $c.key | default "ca.crt" | quote }}
{{- else if $c.existingSecret -}}
kind: Secret
name: {{ $c.existingSecret }}
key: {{ $c.key | default "ca.crt" | quote }}
{{- else -}}
{{- fail "tls.clientCA.enabled needs tls.clientCA.existingConfigMap or tls.clientCA.existingSecret (the CA that signs the apiserver's client certificate)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The DNS names the serving certificate must cover, as a YAML list. */}}
{{- define "dsw.dnsNames" -}}
{{- $svc := include "dsw.serviceName" . -}}
- {{ $svc }}
- {{ $svc }}.{{ .Release.Namespace }}
- {{ $svc }}.{{ .Release.Namespace }}.svc
- {{ $svc }}.{{ .Release.Namespace }}.svc.cluster.local
{{- end -}}

{{- define "dsw.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Seconds the kubelet waits after SIGTERM; longer than the server's own shutdown. */}}
{{- define "dsw.terminationGracePeriodSeconds" -}}
{{- $need := add (int .Values.server.shutdownDelaySeconds) (int .Values.server.shutdownTimeoutSeconds) -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- add $need 5 -}}
{{- else if le (int .Values.terminationGracePeriodSeconds) (int $need) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be longer than server.shutdownDelaySeconds + server.shutdownTimeoutSeconds (%d), or the kubelet kills the server while it drains" (int .Values.terminationGracePeriodSeconds) (int $need)) -}}
{{- else -}}
{{- int .Values.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/* The namespaceSelector of both webhooks: the configured one plus the release namespace. */}}
{{- define "dsw.namespaceSelector" -}}
{{- $sel := deepCopy (.Values.webhook.namespaceSelector | default dict) -}}
{{- if .Values.webhook.excludeReleaseNamespace -}}
{{- $exprs := $sel.matchExpressions | default list -}}
{{- $own := dict "key" "kubernetes.io/metadata.name" "operator" "NotIn" "values" (list .Release.Namespace) -}}
{{- $_ := set $sel "matchExpressions" (append $exprs $own) -}}
{{- end -}}
{{- toYaml $sel -}}
{{- end -}}

{{/* The parts of a webhook entry that are the same in both configurations. */}}
{{- define "dsw.webhookCommon" -}}
admissionReviewVersions: ["v1", "v1beta1"]
sideEffects: None
matchPolicy: Equivalent
failurePolicy: {{ .root.Values.webhook.failurePolicy }}
timeoutSeconds: {{ int .root.Values.webhook.timeoutSeconds }}
clientConfig:
  service:
    name: {{ include "dsw.serviceName" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: {{ int .root.Values.service.port }}
  {{- if .caBundle }}
  caBundle: {{ .caBundle }}
  {{- end }}
rules:
  - apiGroups: ["core.oam.dev"]
    apiVersions: ["v1beta1"]
    operations: ["CREATE", "UPDATE"]
    resources: ["applications"]
    scope: Namespaced
namespaceSelector:
  {{- include "dsw.namespaceSelector" .root | nindent 2 }}
{{- with .root.Values.webhook.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.webhook.matchConditions }}
matchConditions:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The fewest replicas the Deployment runs: autoscaling.minReplicas with autoscaling on, else
replicaCount. The PodDisruptionBudget and the NOTES follow it. */}}
{{- define "dsw.minReplicas" -}}
{{- if .Values.autoscaling.enabled -}}
{{- int .Values.autoscaling.minReplicas -}}
{{- else -}}
{{- int .Values.replicaCount -}}
{{- end -}}
{{- end -}}

{{/* The pod securityContext of every pod the chart runs (webhook, audit, test): the restricted
Pod Security Standard. */}}
{{- define "dsw.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The container securityContext of every container the chart runs. */}}
{{- define "dsw.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Labels of the objects of another component of the release (dict "root" . "component"
"audit"|"selftest"). Their app.kubernetes.io/name is "<name>-<component>", so that their pods
never match the selector of the webhook's Service, PodDisruptionBudget or NetworkPolicy
(app.kubernetes.io/name and app.kubernetes.io/instance). */}}
{{- define "dsw.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-%s" (include "dsw.name" .root) .component | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "dsw.componentLabels" -}}
helm.sh/chart: {{ include "dsw.chart" .root }}
{{ include "dsw.componentSelectorLabels" . }}
app.kubernetes.io/part-of: {{ include "dsw.name" .root }}
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* The name of the audit's CronJob, ServiceAccount, ClusterRole and bindings (a CronJob name
has at most 52 characters). */}}
{{- define "dsw.auditName" -}}
{{- printf "%s-audit" (include "dsw.fullname" . | trunc 46 | trimSuffix "-") -}}
{{- end -}}

{{/* The admission flags `serve`, `audit` and `selftest` share, from admission.* (enforcement
apart: the audit always judges as deny). */}}
{{- define "dsw.admissionArgs" -}}
- --applies-to={{ join "," .Values.admission.appliesTo }}
- --unknown-properties={{ .Values.admission.unknownProperties }}
- --view-type-change={{ .Values.admission.viewTypeChange }}
{{- end -}}

{{/* Whether the `helm test` Pod is rendered: tests.enabled, and with tls.clientCA a client
certificate to present (tests.clientCertSecret). */}}
{{- define "dsw.testRendered" -}}
{{- if and .Values.tests.enabled (or (not .Values.tls.clientCA.enabled) .Values.tests.clientCertSecret) -}}true{{- end -}}
{{- end -}}
