{{- define "meshscope.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "meshscope.analyzer" -}}{{ include "meshscope.fullname" . }}-analyzer{{- end -}}
{{- define "meshscope.gateway" -}}{{ include "meshscope.fullname" . }}-gateway{{- end -}}

{{- define "meshscope.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: meshscope
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "meshscope.selector" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- /* The analyzer's --instance: analyzer.instance, else the release name; a DNS label (it is a label value and part of a field manager name). */ -}}
{{- define "meshscope.instance" -}}
{{- $i := .Values.analyzer.instance | default .Release.Name -}}
{{- if not (regexMatch "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" $i) -}}
{{- fail (printf "meshscope instance %q (analyzer.instance, default the release name) is not a DNS label: set analyzer.instance to at most 63 lowercase letters, digits and '-'" $i) -}}
{{- end -}}
{{- $i -}}
{{- end -}}

{{- define "meshscope.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}

{{- define "meshscope.gatewayService" -}}{{ include "meshscope.gateway" . }}.{{ .Release.Namespace }}:{{ .Values.gateway.port }}{{- end -}}

{{- define "meshscope.podSecurity" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "meshscope.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end -}}
