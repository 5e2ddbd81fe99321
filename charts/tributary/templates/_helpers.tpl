{{/*
Helpers of the Tributary chart. Each one says what it takes and what it returns.
Templates receive the root context as `.` unless a helper says it takes a dict.
*/}}

{{/*
tributary.name
Input:  the root context.
Output: the chart name, or nameOverride; at most 63 characters.
*/}}
{{- define "tributary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
tributary.fullname
Input:  the root context.
Output: the prefix of every object name: fullnameOverride, or `<release>` when it already
        contains the chart name, else `<release>-<chart>`; at most 63 characters.
*/}}
{{- define "tributary.fullname" -}}
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

{{/*
tributary.componentName
Input:  dict "root" (root context), "name" (component name, e.g. "loader").
Output: `<fullname>-<name>`, the name of the component's Deployment, Service, ServiceAccount, ...
*/}}
{{- define "tributary.componentName" -}}
{{- printf "%s-%s" (include "tributary.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
tributary.labels
Input:  dict "root", "name" (component name, or "" for objects of the whole release).
Output: YAML map of the recommended labels plus global.labels.
*/}}
{{- define "tributary.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tributary.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: tributary
{{- with .root.Values.global.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
tributary.selectorLabels
Input:  dict "root", "name" (component name, or "").
Output: YAML map of the labels that select a component's pods (name, instance, component).
*/}}
{{- define "tributary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tributary.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}
{{- end -}}

{{/*
tributary.image
Input:  dict "root", "name" (component name).
Output: the image reference `<registry>/<repository>/<name>:<tag>`; a component's
        image.repository replaces `<registry>/<repository>/<name>`, its image.tag the tag;
        `@<digest>` follows when global.image.digests has one for the component.
*/}}
{{- define "tributary.image" -}}
{{- $g := .root.Values.global.image -}}
{{- $c := (index .root.Values.components .name).image -}}
{{- $tag := $c.tag | default $g.tag | default .root.Chart.AppVersion -}}
{{- $repo := $c.repository -}}
{{- if not $repo -}}
{{- $repo = list $g.registry $g.repository .name | compact | join "/" -}}
{{- end -}}
{{- $digest := get ($g.digests | default dict) .name -}}
{{- printf "%s:%s%s" $repo $tag (ternary (printf "@%s" $digest) "" (ne $digest "")) -}}
{{- end -}}

{{/*
tributary.natsUrl
Input:  the root context.
Output: the NATS URL the services use: our dev StatefulSet's Service when nats.dev.enabled
        (every server of it, comma-separated, when nats.cluster.enabled), else nats.url.
*/}}
{{- define "tributary.natsUrl" -}}
{{- if and .Values.nats.dev.enabled .Values.nats.cluster.enabled -}}
{{- include "tributary.natsPodUrls" (dict "root" . "scheme" "nats" "port" 4222) -}}
{{- else if .Values.nats.dev.enabled -}}
{{- printf "nats://%s-nats:4222" (include "tributary.fullname" .) -}}
{{- else -}}
{{- .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{/*
tributary.natsPodUrls
Input:  dict "root", "scheme" (nats, http), "port".
Output: comma-separated URLs of every pod of our clustered NATS StatefulSet through its headless
        Service: `<scheme>://<fullname>-nats-<i>.<fullname>-nats-headless:<port>`.
*/}}
{{- define "tributary.natsPodUrls" -}}
{{- $name := printf "%s-nats" (include "tributary.fullname" .root) -}}
{{- $urls := list -}}
{{- range $i := until (int .root.Values.nats.cluster.replicas) -}}
{{- $urls = append $urls (printf "%s://%s-%d.%s-headless:%v" $.scheme $name $i $name $.port) -}}
{{- end -}}
{{- join "," $urls -}}
{{- end -}}

{{/*
tributary.natsMonitorUrls
Input:  the root context.
Output: comma-separated monitoring URLs of the NATS servers: the chart's NATS (every server of a
        cluster) when nats.dev.enabled, else nats.monitorUrl (may be empty).
*/}}
{{- define "tributary.natsMonitorUrls" -}}
{{- if and .Values.nats.dev.enabled .Values.nats.cluster.enabled -}}
{{- include "tributary.natsPodUrls" (dict "root" . "scheme" "http" "port" 8222) -}}
{{- else if .Values.nats.dev.enabled -}}
{{- printf "http://%s-nats:8222" (include "tributary.fullname" .) -}}
{{- else -}}
{{- .Values.nats.monitorUrl -}}
{{- end -}}
{{- end -}}

{{/*
tributary.natsMonitoringEndpoint
Input:  dict "root", "autoscaling" (a component's autoscaling values), "name" (component).
Output: `host:port` of the NATS monitoring endpoint KEDA polls: the explicit value, else the first
        of tributary.natsMonitorUrls; fails when there is none (the official NATS chart serves
        8222 on its headless Service only, so guessing from the client URL points KEDA nowhere).
*/}}
{{- define "tributary.natsMonitoringEndpoint" -}}
{{- if .autoscaling.natsMonitoringEndpoint -}}
{{- .autoscaling.natsMonitoringEndpoint -}}
{{- else -}}
{{- $first := first (splitList "," (include "tributary.natsMonitorUrls" .root)) -}}
{{- if not $first -}}
{{- fail (printf "components.%s.autoscaling.lagSource=nats-jetstream needs the NATS monitoring endpoint: set nats.monitorUrl (e.g. http://nats-headless.nats:8222 for the official NATS chart) or autoscaling.natsMonitoringEndpoint" .name) -}}
{{- end -}}
{{- (urlParse $first).host -}}
{{- end -}}
{{- end -}}

{{/*
tributary.inChartInfra
Input:  the root context.
Output: "true" when the chart runs NATS or PostgreSQL itself (nats.dev, postgresql.dev): migrate
        then cannot be a pre-install hook (it would run before them) and runs as a plain Job.
*/}}
{{- define "tributary.inChartInfra" -}}
{{- if or .Values.nats.dev.enabled .Values.postgresql.dev.enabled -}}true{{- end -}}
{{- end -}}

{{/*
tributary.jetstreamStorage
Input:  the root context.
Output: the JetStream storage migrate shares out between the streams (TRIBUTARY_JETSTREAM_MAX_BYTES):
        jetstream.storage, else nats.dev.storage when the chart runs NATS, else "".
*/}}
{{- define "tributary.jetstreamStorage" -}}
{{- .Values.jetstream.storage | default (ternary .Values.nats.dev.storage "" .Values.nats.dev.enabled) -}}
{{- end -}}

{{/*
tributary.databaseUrl
Input:  the root context.
Output: the URL the chart stores in its Secret: the chart's own PostgreSQL when postgresql.dev.enabled, else postgresql.url.
*/}}
{{- define "tributary.databaseUrl" -}}
{{- if .Values.postgresql.dev.enabled -}}
{{- printf "postgres://tributary:%s@%s-postgresql:5432/tributary" (.Values.postgresql.dev.password | urlquery) (include "tributary.fullname" .) -}}
{{- else -}}
{{- .Values.postgresql.url -}}
{{- end -}}
{{- end -}}

{{/*
tributary.secretName
Input:  the root context.
Output: the name of the Secret the chart creates for the values under `postgresql` and `secrets`.
*/}}
{{- define "tributary.secretName" -}}
{{- printf "%s-secrets" (include "tributary.fullname" .) -}}
{{- end -}}

{{/*
tributary.chartSecretData
Input:  the root context.
Output: YAML map of the keys the chart's own Secret holds (empty when every secret comes from an
        existing Secret): database-url, hmac-key, api-keys.json.
*/}}
{{- define "tributary.chartSecretData" -}}
{{- $v := .Values -}}
{{- if and (include "tributary.databaseUrl" .) (not $v.postgresql.existingSecret) }}
database-url: {{ include "tributary.databaseUrl" . | b64enc | quote }}
{{- end }}
{{- if and $v.postgresql.dev.enabled (not $v.postgresql.dev.existingSecret) }}
postgres-password: {{ $v.postgresql.dev.password | b64enc | quote }}
{{- end }}
{{- if and $v.secrets.hmacKey (not $v.secrets.hmacKeyExistingSecret) }}
hmac-key: {{ $v.secrets.hmacKey | b64enc | quote }}
{{- end }}
{{- if and $v.secrets.apiKeys (not $v.secrets.apiKeysExistingSecret) }}
api-keys.json: {{ $v.secrets.apiKeys | b64enc | quote }}
{{- end }}
{{- end -}}

{{/*
tributary.secretRef
Input:  dict "root", "existing" (name of an existing Secret, or ""), "key" (its key),
        "ownKey" (the key in the chart's Secret), "value" (the inline value, or "").
Output: JSON {"name", "key"} of where the secret lives, or {} when it is not configured.
*/}}
{{- define "tributary.secretRef" -}}
{{- if .existing -}}
{{- dict "name" .existing "key" .key | toJson -}}
{{- else if .value -}}
{{- dict "name" (include "tributary.secretName" .root) "key" .ownKey | toJson -}}
{{- else -}}
{{- dict | toJson -}}
{{- end -}}
{{- end -}}

{{/*
tributary.databaseSecretRef
Input:  the root context.
Output: JSON {"name", "key"} of the Secret key holding DATABASE_URL; fails when none is configured.
*/}}
{{- define "tributary.databaseSecretRef" -}}
{{- $p := .Values.postgresql -}}
{{- $ref := include "tributary.secretRef" (dict "root" . "existing" $p.existingSecret "key" $p.existingSecretKey "ownKey" "database-url" "value" (include "tributary.databaseUrl" .)) -}}
{{- if eq $ref "{}" -}}
{{- fail "postgresql.url or postgresql.existingSecret is required: the loader, the monitor and migrate need the warehouse" -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
tributary.pipelinesConfigMap
Input:  the root context.
Output: the name of the ConfigMap with the pipeline specs, or "" when the images' examples are
        asked for (pipelines.examples); fails when there are neither.
*/}}
{{- define "tributary.pipelinesConfigMap" -}}
{{- if .Values.pipelines.existingConfigMap -}}
{{- .Values.pipelines.existingConfigMap -}}
{{- else if or .Values.pipelines.files .Values.pipelines.binaryFiles -}}
{{- printf "%s-pipelines" (include "tributary.fullname" .) -}}
{{- else if not .Values.pipelines.examples -}}
{{- fail "no pipelines: give your pipeline folder with `-f <(scripts/pipelines-values <folder>)` (pipelines.files), or pipelines.existingConfigMap; pipelines.examples=true runs the examples baked into the images (demos only)" -}}
{{- end -}}
{{- end -}}

{{/*
tributary.pipelinePaths
Input:  the root context.
Output: JSON list of every path of pipelines.files and pipelines.binaryFiles, sorted.
*/}}
{{- define "tributary.pipelinePaths" -}}
{{- concat (keys .Values.pipelines.files) (keys (.Values.pipelines.binaryFiles | default dict)) | sortAlpha | toJson -}}
{{- end -}}

{{/*
tributary.pipelineData
Input:  the root context.
Output: YAML map of the ConfigMap data: one key per file of pipelines.files, its path with `/`
        written as `__` (ConfigMap keys cannot hold `/`; the volume's items put them back).
*/}}
{{- define "tributary.pipelineData" -}}
{{- range $path, $content := .Values.pipelines.files }}
{{ replace "/" "__" $path | quote }}: {{ $content | quote }}
{{- end }}
{{- end -}}

{{/*
tributary.pipelineBinaryData
Input:  the root context.
Output: YAML map of the ConfigMap binaryData: pipelines.binaryFiles with the keys of tributary.pipelineData.
*/}}
{{- define "tributary.pipelineBinaryData" -}}
{{- range $path, $content := .Values.pipelines.binaryFiles }}
{{ replace "/" "__" $path | quote }}: {{ $content | quote }}
{{- end }}
{{- end -}}

{{/*
tributary.pipelineNames
Input:  the root context.
Output: JSON list of the `pipeline:` names of the YAML files in pipelines.files (parsed).
*/}}
{{- define "tributary.pipelineNames" -}}
{{- $names := list -}}
{{- range $path, $content := .Values.pipelines.files -}}
{{- if or (hasSuffix ".yaml" $path) (hasSuffix ".yml" $path) -}}
{{- $doc := fromYaml $content -}}
{{- if and $doc (hasKey $doc "pipeline") -}}
{{- $names = append $names $doc.pipeline -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $names | uniq | toJson -}}
{{- end -}}

{{/*
tributary.podSecurityContext
Input:  the root context.
Output: YAML of a pod securityContext meeting the restricted Pod Security Standard.
*/}}
{{- define "tributary.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
tributary.containerSecurityContext
Input:  none.
Output: YAML of a container securityContext: no privilege escalation, read-only root
        filesystem, every capability dropped, RuntimeDefault seccomp.
*/}}
{{- define "tributary.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
tributary.commonEnv
Input:  dict "root", "name" (component name, or "migrate"), "database" (bool).
Output: YAML list of the environment every container gets: NATS_URL, TRIBUTARY_PIPELINES,
        LOG_LEVEL, the OTel variables, DATABASE_URL when "database" (from the component's own
        Secret in postgresql.componentSecrets when it has one), then global.env.
*/}}
{{- define "tributary.commonEnv" -}}
{{- $v := .root.Values -}}
- name: NATS_URL
  value: {{ include "tributary.natsUrl" .root | quote }}
- name: TRIBUTARY_PIPELINES
  value: {{ ternary "/etc/tributary/pipelines" "/app/pipelines" (ne (include "tributary.pipelinesConfigMap" .root) "") | quote }}
- name: LOG_LEVEL
  value: {{ $v.global.logLevel | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ .name | quote }}
- name: K8S_POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: K8S_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ list "k8s.pod.name=$(K8S_POD_NAME)" "k8s.namespace.name=$(K8S_NAMESPACE)" (printf "service.version=%s" .root.Chart.AppVersion) $v.otel.resourceAttributes | compact | join "," | quote }}
{{- if $v.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $v.otel.protocol | quote }}
{{- end }}
{{- if .database }}
{{- $db := include "tributary.databaseSecretRef" .root | fromJson }}
{{- with index $v.postgresql.componentSecrets .name }}
{{- $db = . }}
{{- end }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: { name: {{ $db.name | quote }}, key: {{ $db.key | quote }} }
{{- end }}
{{- if $v.global.tls.secretName }}
- name: HTTP_TLS_CERT_FILE
  value: /etc/tributary/tls/tls.crt
- name: HTTP_TLS_KEY_FILE
  value: /etc/tributary/tls/tls.key
{{- end }}
{{- range $name, $value := $v.global.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
tributary.pipelinesVolume
Input:  the root context.
Output: YAML list of volumes: `tmp` (an emptyDir, the only writable path) and `pipelines` (the
        ConfigMap, files put back at their paths) when there is one.
*/}}
{{- define "tributary.volumes" -}}
- name: tmp
  emptyDir: { sizeLimit: 64Mi }
{{- $cm := include "tributary.pipelinesConfigMap" . }}
{{- if $cm }}
- name: pipelines
  configMap:
    name: {{ $cm }}
    {{- if not .Values.pipelines.existingConfigMap }}
    items:
      {{- range $path := include "tributary.pipelinePaths" . | fromJsonArray }}
      - { key: {{ replace "/" "__" $path | quote }}, path: {{ $path | quote }} }
      {{- end }}
    {{- end }}
{{- end }}
{{- if .Values.global.tls.secretName }}
- name: tls
  secret: { secretName: {{ .Values.global.tls.secretName | quote }} }
{{- end }}
{{- with .Values.global.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
tributary.volumeMounts
Input:  the root context.
Output: YAML list of the mounts matching tributary.volumes.
*/}}
{{- define "tributary.volumeMounts" -}}
- { name: tmp, mountPath: /tmp }
{{- if include "tributary.pipelinesConfigMap" . }}
- { name: pipelines, mountPath: /etc/tributary/pipelines, readOnly: true }
{{- end }}
{{- if .Values.global.tls.secretName }}
- { name: tls, mountPath: /etc/tributary/tls, readOnly: true }
{{- end }}
{{- with .Values.global.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
tributary.checksums
Input:  the root context.
Output: YAML map of pod annotations whose values change when the pipeline specs or the chart's
        secrets change, so that `helm upgrade` rolls the pods.
*/}}
{{- define "tributary.checksums" -}}
checksum/pipelines: {{ print (include "tributary.pipelineData" .) (include "tributary.pipelineBinaryData" .) | sha256sum }}
checksum/secrets: {{ include "tributary.chartSecretData" . | sha256sum }}
{{- end -}}

{{/*
tributary.render
Input:  dict "object" (YAML text of a Kubernetes object), "merge" (map, deep-merged over it),
        "patch" (list of RFC 6902 operations applied after the merge).
Output: the object as YAML. This is how users change any field the values do not offer.
*/}}
{{- define "tributary.render" -}}
{{- $obj := fromYaml .object -}}
{{- if hasKey $obj "Error" -}}
{{- fail (printf "tributary.render: cannot parse a rendered object: %s" $obj.Error) -}}
{{- end -}}
{{- $obj = mergeOverwrite $obj (deepCopy (.merge | default dict)) -}}
{{- if .patch -}}
{{- $obj = (include "tributary.jsonpatch" (dict "doc" $obj "patch" .patch) | fromJson).doc -}}
{{- end -}}
{{- toYaml $obj -}}
{{- end -}}
