{{/* The webhook entry of the guards (values `guards`): ACK Tables and kro DynamoDBTables. */}}

{{/* Whether any guard is on. */}}
{{- define "dsw.guardsEnabled" -}}
{{- if or .Values.guards.ackTables.enabled .Values.guards.kroTables.enabled -}}true{{- end -}}
{{- end -}}

{{/* The guards' match conditions: the excluded service accounts, then guards.matchConditions. */}}
{{- define "dsw.guardsMatchConditions" -}}
{{- $g := .Values.guards -}}
{{- $conditions := list -}}
{{- with $g.excludeServiceAccounts -}}
{{- $users := list -}}
{{- range . -}}
{{- $users = append $users (printf "'system:serviceaccount:%s'" .) -}}
{{- end -}}
{{- $conditions = append $conditions (dict "name" "exclude-service-accounts" "expression" (printf "!(request.userInfo.username in [%s])" (join ", " $users))) -}}
{{- end -}}
{{- $conditions = concat $conditions ($g.matchConditions | default list) -}}
{{- if $conditions -}}
{{- toYaml $conditions -}}
{{- end -}}
{{- end -}}

{{/* The entry itself, after its name. */}}
{{- define "dsw.guardsWebhook" -}}
{{- $root := .root -}}
{{- $g := $root.Values.guards -}}
admissionReviewVersions: ["v1", "v1beta1"]
sideEffects: None
matchPolicy: Equivalent
failurePolicy: {{ $g.failurePolicy }}
timeoutSeconds: {{ int $g.timeoutSeconds }}
clientConfig:
  service:
    name: {{ include "dsw.serviceName" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: /validate
    port: {{ int $root.Values.service.port }}
  {{- if .caBundle }}
  caBundle: {{ .caBundle }}
  {{- end }}
rules:
  {{- if $g.ackTables.enabled }}
  - apiGroups: ["dynamodb.services.k8s.aws"]
    apiVersions: ["*"]
    operations: ["CREATE", "UPDATE"]
    resources: ["tables"]
    scope: Namespaced
  {{- end }}
  {{- if $g.kroTables.enabled }}
  - apiGroups: ["kro.run"]
    apiVersions: ["*"]
    operations: ["CREATE", "UPDATE"]
    resources: ["dynamodbtables"]
    scope: Namespaced
  {{- end }}
{{- $sel := deepCopy ($g.namespaceSelector | default dict) }}
{{- if $g.excludeReleaseNamespace }}
{{- $own := dict "key" "kubernetes.io/metadata.name" "operator" "NotIn" "values" (list $root.Release.Namespace) }}
{{- $_ := set $sel "matchExpressions" (append ($sel.matchExpressions | default list) $own) }}
{{- end }}
namespaceSelector:
  {{- toYaml $sel | nindent 2 }}
{{- with $g.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with include "dsw.guardsMatchConditions" $root }}
matchConditions:
  {{- . | nindent 2 }}
{{- end }}
{{- end -}}
