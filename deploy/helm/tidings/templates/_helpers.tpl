{{/* Labels every object carries. */}}
{{- define "tidings.labels" -}}
app.kubernetes.io/name: tidings
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The labels a selector matches (add app.kubernetes.io/component). */}}
{{- define "tidings.selector" -}}
app.kubernetes.io/name: tidings
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tidings.image" -}}
{{ required "image.repository is required (the image built from deploy/Dockerfile)" .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The env list items from values (settings, no secrets); a container adds its own after them. */}}
{{- define "tidings.env" -}}
- name: TIDINGS_DATA_DIR
  value: /tmp/tidings
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{/* Secrets come only from an existing Secret. */}}
{{- define "tidings.envFrom" -}}
envFrom:
  - secretRef:
      name: {{ required "existingSecret is required: a Secret holding TIDINGS_DATABASE_URL and TIDINGS_SECRET_KEY (see deploy/README.md)" .Values.existingSecret }}
{{- end }}

{{/* Pod-level settings shared by the API, the workers and the setup Job. enableServiceLinks is off: a
Service named like a setting would otherwise inject e.g. TIDINGS_API_PORT=tcp://10.0.0.1:80. */}}
{{- define "tidings.pod" -}}
enableServiceLinks: false
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- if .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml .Values.imagePullSecrets | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir: {}
{{- end }}

{{/* Container-level settings shared by every container. */}}
{{- define "tidings.container" -}}
image: {{ include "tidings.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{ include "tidings.envFrom" . }}
{{- end }}
