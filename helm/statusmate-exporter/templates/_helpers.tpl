{{/*
Chart name, or nameOverride. Cut to 63 characters: Kubernetes names and label values are DNS labels.
*/}}
{{- define "statusmate-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: fullnameOverride, else "<release>-<name>", else the release
name alone when it already contains the chart name. Cut to 63 characters.
*/}}
{{- define "statusmate-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A base name and a suffix within 63 characters: the base is shortened, never the suffix, so
derived names stay distinct. A shortened base ends in 6 hex digits of its hash, so that two
releases whose names share a long prefix (the dashboards' suffix leaves 26 characters) still get
names of their own. Call with (dict "base" <name> "suffix" <"-..." or "">).
*/}}
{{- define "statusmate-exporter.cutName" -}}
{{- if le (add (len .base) (len .suffix)) 63 }}
{{- printf "%s%s" .base .suffix }}
{{- else }}
{{- $head := .base | trunc (int (sub 63 (add (len .suffix) 7))) | trimSuffix "-" }}
{{- printf "%s-%s%s" $head (sha256sum .base | trunc 6) .suffix }}
{{- end }}
{{- end }}

{{/*
A name derived from the full name with a suffix, still within 63 characters (cutName).
*/}}
{{- define "statusmate-exporter.suffixedName" -}}
{{- include "statusmate-exporter.cutName" (dict "base" (include "statusmate-exporter.fullname" .context) "suffix" (printf "-%s" .suffix)) }}
{{- end }}

{{/*
The name of an object the chart may put outside the release namespace (serviceMonitor.namespace,
prometheusRule.namespace, dashboards.namespace): there it also names the release namespace, so
that releases of one name in two namespaces (team-a/statusmate-exporter, team-b/...) do not both
claim monitoring/statusmate-exporter. Call with (dict "context" $ "namespace" <its namespace, or
""> "suffix" <suffix, or "">).
*/}}
{{- define "statusmate-exporter.nameIn" -}}
{{- $releaseNamespace := include "statusmate-exporter.namespace" .context }}
{{- $base := include "statusmate-exporter.fullname" .context }}
{{- if and .namespace (ne .namespace $releaseNamespace) }}
{{- $base = printf "%s-%s" $base $releaseNamespace }}
{{- end }}
{{- include "statusmate-exporter.cutName" (dict "base" $base "suffix" (ternary (printf "-%s" .suffix) "" (not (empty .suffix)))) }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "statusmate-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Namespace of the release's objects.
*/}}
{{- define "statusmate-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object: the chart's own labels and commonLabels (the chart's own win a clash).
*/}}
{{- define "statusmate-exporter.labels" -}}
{{- $own := dict "helm.sh/chart" (include "statusmate-exporter.chart" .) "app.kubernetes.io/managed-by" .Release.Service "app.kubernetes.io/part-of" "statusmate-exporter" }}
{{- if .Chart.AppVersion }}
{{- $_ := set $own "app.kubernetes.io/version" (.Chart.AppVersion | toString) }}
{{- end }}
{{- $own = mustMergeOverwrite $own (include "statusmate-exporter.selectorLabels" . | fromYaml) }}
{{- toYaml (mustMergeOverwrite (deepCopy (default dict .Values.commonLabels)) $own) }}
{{- end }}

{{/*
The common labels merged with extra ones (a map): an extra label replaces a common label of the
same key instead of repeating it, which would make the object invalid YAML.
Call with (dict "context" $ "extras" (list <map or nil>...)); later maps win.
*/}}
{{- define "statusmate-exporter.labelsWith" -}}
{{- $labels := include "statusmate-exporter.labels" .context | fromYaml }}
{{- range .extras }}
{{- $labels = mustMergeOverwrite $labels (deepCopy (default dict .)) }}
{{- end }}
{{- toYaml $labels }}
{{- end }}

{{/*
Labels that select the exporter pods. They never change over the release's life: a Deployment's
selector is immutable.
*/}}
{{- define "statusmate-exporter.selectorLabels" -}}
{{- /* Quoted: a release named 2024, true or null would otherwise make a number, a bool or no value. */}}
app.kubernetes.io/name: {{ include "statusmate-exporter.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end }}

{{/*
ServiceAccount name.
*/}}
{{- define "statusmate-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "statusmate-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion).
*/}}
{{- define "statusmate-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Name of the Secret holding the webhook token(s), and whether the chart creates it.
*/}}
{{- define "statusmate-exporter.secretName" -}}
{{- default (include "statusmate-exporter.fullname" .) .Values.webhook.existingSecret }}
{{- end }}

{{/* The Secret holding the Redis URL: redis.existingSecret, else the chart's own. */}}
{{- define "statusmate-exporter.redisSecretName" -}}
{{- default (include "statusmate-exporter.suffixedName" (dict "context" . "suffix" "redis")) .Values.redis.existingSecret }}
{{- end }}

{{/*
The webhook token the chart stores: webhook.token, else the token already in the release's
Secret (an upgrade of a release installed by an older chart, which generated one). Never a
random one: `helm template` (Argo CD, Flux) cannot look the Secret up, and would generate a new
token on every render, restarting the pods and locking StatusMate out.
*/}}
{{- define "statusmate-exporter.webhookToken" -}}
{{- if .Values.webhook.token }}
{{- .Values.webhook.token }}
{{- else }}
{{- $existing := lookup "v1" "Secret" (include "statusmate-exporter.namespace" .) (include "statusmate-exporter.fullname" .) }}
{{- if and $existing $existing.data (hasKey $existing.data .Values.webhook.existingSecretKey) }}
{{- index $existing.data .Values.webhook.existingSecretKey | b64dec }}
{{- else }}
{{- fail "set webhook.token (--set-string webhook.token=<token>; the chart stores it in a Secret) or webhook.existingSecret (a Secret you manage, e.g. with External Secrets: the choice for GitOps, which keeps the token out of Git). The chart generates no token: one generated at render time would change on every `helm template`." }}
{{- end }}
{{- end }}
{{- end }}

{{/* The ConfigMap holding STATUS_PAGES_FILE: statusPages.existingConfigMap, else the chart's own. */}}
{{- define "statusmate-exporter.statusPagesConfigMapName" -}}
{{- default (include "statusmate-exporter.suffixedName" (dict "context" . "suffix" "status-pages")) .Values.statusPages.existingConfigMap }}
{{- end }}

{{/* Whether the pod gets a status pages file. */}}
{{- define "statusmate-exporter.statusPagesEnabled" -}}
{{- if or .Values.statusPages.pages .Values.statusPages.existingConfigMap }}true{{ end }}
{{- end }}

{{/*
Name of the PersistentVolumeClaim holding the store.
*/}}
{{- define "statusmate-exporter.claimName" -}}
{{- default (include "statusmate-exporter.fullname" .) .Values.persistence.existingClaim }}
{{- end }}

{{/*
Whether to render the ServiceMonitor / PrometheusRule: enabled, and the cluster serves the
Prometheus Operator's kind (so that an install without the operator does not fail on a missing
CRD). `helm template` knows no cluster: pass --api-versions monitoring.coreos.com/v1/ServiceMonitor.
*/}}
{{- define "statusmate-exporter.serviceMonitorEnabled" -}}
{{- if and .Values.serviceMonitor.enabled (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor") }}true{{ end }}
{{- end }}

{{- define "statusmate-exporter.prometheusRuleEnabled" -}}
{{- if and .Values.prometheusRule.enabled (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PrometheusRule") }}true{{ end }}
{{- end }}

{{/*
The job label of the scraped series: serviceMonitor.jobName when set (the ServiceMonitor then
forces it), else the operator's default, the Service's name. The PrometheusRule selects it.
*/}}
{{- define "statusmate-exporter.jobName" -}}
{{- .Values.serviceMonitor.jobName | default (include "statusmate-exporter.fullname" .) }}
{{- end }}

{{/*
Name of the container port serving /metrics.
*/}}
{{- define "statusmate-exporter.metricsPortName" -}}
{{- if .Values.metricsPort.enabled }}metrics{{ else }}http{{ end }}
{{- end }}

{{/*
Top-level values added since the chart's first version. `helm upgrade --reuse-values` renders the
new templates with the values of the chart that installed the release, defaults included, so
these are missing: the templates would stop on a nil pointer, or run with a setting silently
off and the old defaults (the 256Mi memory limit, say) kept. Refuse that, naming the fix. A
top-level key added to values.yaml goes here too (test/helm-chart.test.ts checks it).
*/}}
{{- define "statusmate-exporter.checkValuesOfThisChart" -}}
{{- $missing := list }}
{{- range $key := list "alertmanager" "autoscaling" "deploymentAnnotations" "extraContainers" "extraEnvFrom" "extraObjects" "extraVolumeMounts" "extraVolumes" "initContainers" "listenAddress" "redis" "statusPages" }}
{{- if not (hasKey $.Values $key) }}{{ $missing = append $missing $key }}{{ end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "the values lack %s, which this chart's values.yaml sets: they are the values of an older version of the chart, reused by `helm upgrade --reuse-values` without this version's defaults. Upgrade with --reset-then-reuse-values (Helm 3.14 or later), or pass your values again with -f instead of --reuse-values. (A key set to null is removed by Helm too: set it to {} or [] instead.)" (join ", " $missing)) }}
{{- end }}
{{- end }}

{{/*
ALLOWED_HOSTS when config.allowedHosts is set: those names, the Ingress hosts (but wildcards),
and the names the Service has inside the cluster (Alertmanager's webhook receiver and in-cluster
senders use them). None of them can be rebound by a page on another site: the Service's names
resolve only inside the cluster, and the Ingress hosts are the exporter's own.
*/}}
{{- define "statusmate-exporter.allowedHosts" -}}
{{- $fullName := include "statusmate-exporter.fullname" . }}
{{- $ns := include "statusmate-exporter.namespace" . }}
{{- $hosts := .Values.config.allowedHosts }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}
{{- /* A wildcard host is no name ALLOWED_HOSTS takes: list the names it stands for in allowedHosts. */}}
{{- if not (hasPrefix "*" .) }}{{ $hosts = append $hosts . }}{{ end }}
{{- end }}
{{- end }}
{{- $hosts = concat $hosts (list $fullName (printf "%s.%s" $fullName $ns) (printf "%s.%s.svc" $fullName $ns) (printf "%s.%s.svc.cluster.local" $fullName $ns)) }}
{{- toYaml ($hosts | uniq) }}
{{- end }}

{{/*
The exporter container's env list: the chart's own settings, statusPages.tokenSecrets, the
alertmanager settings and extraEnv, in that order. statusmate-exporter.validate refuses a name
listed twice.
*/}}
{{- define "statusmate-exporter.env" -}}
- name: HOST
  value: {{ .Values.listenAddress | quote }}
- name: PORT
  value: {{ .Values.service.port | quote }}
{{- if .Values.metricsPort.enabled }}
- name: METRICS_PORT
  value: {{ .Values.metricsPort.port | quote }}
{{- end }}
- name: WEBHOOK_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "statusmate-exporter.secretName" . }}
      key: {{ .Values.webhook.existingSecretKey }}
- name: STORE
  value: {{ .Values.config.store | quote }}
{{- if eq .Values.config.store "redis" }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "statusmate-exporter.redisSecretName" . }}
      key: {{ .Values.redis.existingSecretKey }}
- name: REDIS_KEY_PREFIX
  value: {{ .Values.redis.keyPrefix | quote }}
- name: REDIS_WAIT_REPLICAS
  value: {{ .Values.redis.waitReplicas | quote }}
- name: REDIS_LOG_OWNER
  value: {{ .Values.redis.logOwner | default (printf "%s/%s" .Release.Namespace (include "statusmate-exporter.fullname" .)) | quote }}
{{- else }}
- name: SQLITE_PATH
  value: /data/statusmate-exporter.db
- name: SQLITE_SYNCHRONOUS
  value: {{ .Values.config.sqliteSynchronous | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: DEFAULT_STATUS_PAGE
  value: {{ .Values.config.defaultStatusPage | quote }}
- name: MAX_BODY_BYTES
  value: {{ .Values.config.maxBodyBytes | quote }}
- name: MAX_COMPONENTS
  value: {{ .Values.config.maxComponents | quote }}
- name: FINISHED_RETENTION_SECONDS
  value: {{ .Values.config.finishedRetentionSeconds | quote }}
- name: SHUTDOWN_TIMEOUT_SECONDS
  value: {{ .Values.config.shutdownTimeoutSeconds | quote }}
{{- if include "statusmate-exporter.statusPagesEnabled" . }}
- name: STATUS_PAGES_FILE
  value: {{ printf "%s/%s" (trimSuffix "/" .Values.statusPages.mountPath) .Values.statusPages.existingConfigMapKey | quote }}
- name: STATUS_PAGES_WATCH_SECONDS
  value: {{ .Values.statusPages.watchSeconds | quote }}
- name: LEARN_STATUS_PAGES
  value: {{ .Values.config.learnStatusPages | quote }}
{{- end }}
{{- range $name, $ref := .Values.statusPages.tokenSecrets }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- with .Values.alertmanager }}
{{- if .urls }}
- name: ALERTMANAGER_URL
  value: {{ join "," .urls | quote }}
- name: MAINTENANCE_SILENCE_MARGIN_SECONDS
  value: {{ .silenceMarginSeconds | quote }}
- name: MAINTENANCE_SILENCE_FROM
  value: {{ .silenceFrom | quote }}
{{- $secret := .existingSecret }}
{{- range $name, $key := dict "ALERTMANAGER_USERNAME" .usernameKey "ALERTMANAGER_PASSWORD" .passwordKey "ALERTMANAGER_BEARER_TOKEN" .bearerTokenKey }}
{{- if $key }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ required "alertmanager.existingSecret is required with a usernameKey, passwordKey or bearerTokenKey" $secret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.config.allowedHosts }}
- name: ALLOWED_HOSTS
  value: {{ include "statusmate-exporter.allowedHosts" $ | fromYamlArray | join "," | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}

{{/*
The value that sets each variable the chart sets itself: an extraEnv or tokenSecrets entry of
the same name is refused, naming it.
*/}}
{{- define "statusmate-exporter.envSources" -}}
HOST: "set it with listenAddress"
PORT: "set it with service.port"
METRICS_PORT: "set it with metricsPort.enabled and metricsPort.port"
WEBHOOK_TOKEN: "set it with webhook.token or webhook.existingSecret"
STORE: "set it with config.store"
REDIS_URL: "set it with redis.url or redis.existingSecret"
REDIS_KEY_PREFIX: "set it with redis.keyPrefix"
REDIS_WAIT_REPLICAS: "set it with redis.waitReplicas"
REDIS_LOG_OWNER: "set it with redis.logOwner"
SQLITE_PATH: "the store is /data/statusmate-exporter.db on the chart's volume; no value moves it"
SQLITE_SYNCHRONOUS: "set it with config.sqliteSynchronous"
LOG_LEVEL: "set it with config.logLevel"
DEFAULT_STATUS_PAGE: "set it with config.defaultStatusPage"
MAX_BODY_BYTES: "set it with config.maxBodyBytes"
MAX_COMPONENTS: "set it with config.maxComponents"
FINISHED_RETENTION_SECONDS: "set it with config.finishedRetentionSeconds"
SHUTDOWN_TIMEOUT_SECONDS: "set it with config.shutdownTimeoutSeconds"
STATUS_PAGES_FILE: "set it with statusPages.mountPath and statusPages.existingConfigMapKey"
STATUS_PAGES_WATCH_SECONDS: "set it with statusPages.watchSeconds"
LEARN_STATUS_PAGES: "set it with config.learnStatusPages"
ALERTMANAGER_URL: "set it with alertmanager.urls"
MAINTENANCE_SILENCE_MARGIN_SECONDS: "set it with alertmanager.silenceMarginSeconds"
MAINTENANCE_SILENCE_FROM: "set it with alertmanager.silenceFrom"
ALERTMANAGER_USERNAME: "set it with alertmanager.usernameKey"
ALERTMANAGER_PASSWORD: "set it with alertmanager.passwordKey"
ALERTMANAGER_BEARER_TOKEN: "set it with alertmanager.bearerTokenKey"
ALLOWED_HOSTS: "set it with config.allowedHosts"
{{- end }}

{{/*
Checks across values that values.schema.json cannot express. Each failure names the values
involved and how to fix them.
*/}}
{{- define "statusmate-exporter.validate" -}}
{{- include "statusmate-exporter.checkValuesOfThisChart" . }}
{{- /* The Service takes the full name, and a Service name is a DNS-1035 label: Helm accepts release
names (2024-status, my.release) that the API server refuses there. */}}
{{- $fullName := include "statusmate-exporter.fullname" . }}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $fullName) }}
{{- fail (printf "the objects' name %s (from the release name%s) is no DNS-1035 label (a lower-case letter first, then lower-case letters, digits and inner dashes, no dots), which the API server requires of the Service's name: set fullnameOverride to one, e.g. --set fullnameOverride=statusmate-%s." $fullName (ternary " and nameOverride" "" (not (empty .Values.nameOverride))) (regexReplaceAll "[^-a-z0-9]" $fullName "-" | trimSuffix "-" | trunc 52)) }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (eq .Values.config.store "sqlite") }}
{{- fail (printf "replicaCount is %d, but config.store \"sqlite\" runs as a single replica: the store is one SQLite file (a ReadWriteOnce volume attaches to one pod, and separate volumes would split the webhook state between pods). Set replicaCount to 1, or use config.store \"redis\" for several replicas." (int .Values.replicaCount)) }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (eq .Values.config.store "memory") }}
{{- fail (printf "replicaCount is %d, but config.store \"memory\" runs as a single replica: each pod would hold only the webhooks it received, and their metrics would differ. Set replicaCount to 1, or use config.store \"redis\" for several replicas." (int .Values.replicaCount)) }}
{{- end }}
{{- with .Values.autoscaling }}
{{- if and .enabled (ne $.Values.config.store "redis") }}
{{- fail (printf "autoscaling.enabled is true, but config.store \"%s\" runs as a single replica: %s. Set autoscaling.enabled to false, or use config.store \"redis\" for several replicas." $.Values.config.store (ternary "the store is one SQLite file, with one writer (a ReadWriteOnce volume attaches to one pod)" "each pod would hold only the webhooks it received, and their metrics would differ" (eq $.Values.config.store "sqlite"))) }}
{{- end }}
{{- if and .enabled (not .external) }}
{{- if gt (int .minReplicas) (int .maxReplicas) }}
{{- fail (printf "autoscaling.minReplicas (%d) exceeds autoscaling.maxReplicas (%d): the API server refuses such a HorizontalPodAutoscaler. Lower minReplicas or raise maxReplicas." (int .minReplicas) (int .maxReplicas)) }}
{{- end }}
{{- /* Every replica folds the whole log and holds the whole state, so another pod lowers no pod's
memory: a memory target passed once would hold maxReplicas for as long as the state lasts. */}}
{{- if gt (int .targetMemoryUtilizationPercentage) 0 }}
{{- fail (printf "autoscaling.targetMemoryUtilizationPercentage is %d, but every replica on Redis folds the whole log and holds the whole state: another pod lowers no pod's memory, so once the state passes the target the HorizontalPodAutoscaler adds pods up to maxReplicas and keeps them. Set it to 0 and scale on CPU (targetCPUUtilizationPercentage), which the webhooks and page views a pod serves do spread; size resources.limits.memory for the state instead (the exporter's README, Memory)." (int .targetMemoryUtilizationPercentage)) }}
{{- end }}
{{- if le (int .targetCPUUtilizationPercentage) 0 }}
{{- fail "autoscaling.targetCPUUtilizationPercentage is 0, but it is the only metric of the chart's HorizontalPodAutoscaler, and one without a metric scales on 80% CPU, which nothing asked for. Set a CPU target, or set autoscaling.external and bring an autoscaler on other metrics." }}
{{- end }}
{{- $requests := (default dict $.Values.resources).requests | default dict }}
{{- if not $requests.cpu }}
{{- fail (printf "autoscaling.targetCPUUtilizationPercentage is %d, a share of resources.requests.cpu, which is not set: the HorizontalPodAutoscaler cannot compute it (FailedGetResourceMetric) and so never scales down. Set resources.requests.cpu (100m or more)." (int .targetCPUUtilizationPercentage)) }}
{{- end }}
{{- /* A replica on Redis uses about 5m of CPU with no webhooks (its store probe every 2 s, probes,
scrapes, the collector) and 10m in its first minute (bench section 10). A target share under 20m
has pods added for a pod's own start or a dozen webhooks a second (about 0.25 ms of CPU each). */}}
{{- $cpu := include "statusmate-exporter.millicores" $requests.cpu }}
{{- if ne $cpu "" }}
{{- $perPod := div (mul (atoi $cpu) (int .targetCPUUtilizationPercentage)) 100 }}
{{- if lt $perPod 20 }}
{{- fail (printf "autoscaling.targetCPUUtilizationPercentage is %d of resources.requests.cpu %s: the HorizontalPodAutoscaler would keep each pod at %dm of CPU, where a replica on Redis uses about 5m with no webhooks and 10m in its first minute: a pod's own start or a dozen webhooks a second would add pods, up to maxReplicas. Raise resources.requests.cpu to what one pod should carry (100m or more), so that the target comes to 20m or more." (int .targetCPUUtilizationPercentage) (toString $requests.cpu) $perPod) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq .Values.config.store "redis" }}
{{- if and .Values.redis.url .Values.redis.existingSecret }}
{{- fail "redis.url and redis.existingSecret are both set: set only one (the chart would ignore the URL)." }}
{{- end }}
{{- if not (or .Values.redis.url .Values.redis.existingSecret) }}
{{- fail "config.store is \"redis\": set redis.url (the chart stores it in a Secret) or redis.existingSecret (a Secret holding the URL under redis.existingSecretKey)." }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (kindIs "slice" .Values.networkPolicy.egress) (empty .Values.networkPolicy.egress) }}
{{- fail "networkPolicy.egress is empty, which denies all egress, but config.store \"redis\" connects to Redis: list egress rules to Redis and DNS, or set networkPolicy.egress to null." }}
{{- end }}
{{- end }}
{{- if and .Values.ingress.enabled (has "statusmate-exporter.example.com" .Values.ingress.hosts) }}
{{- fail "ingress.enabled with the placeholder host statusmate-exporter.example.com: set ingress.hosts to the name StatusMate should post to." }}
{{- end }}
{{- with .Values.alertmanager }}
{{- if and (not .urls) (or .existingSecret .usernameKey .passwordKey .bearerTokenKey) }}
{{- fail "alertmanager credentials are set but alertmanager.urls is empty: without urls the exporter calls no Alertmanager and would ignore them. Set alertmanager.urls, or remove the credentials." }}
{{- end }}
{{- if and .urls .bearerTokenKey (or .usernameKey .passwordKey) }}
{{- fail "alertmanager.bearerTokenKey is set with alertmanager.usernameKey or passwordKey: the exporter takes a bearer token or basic auth, not both. Set only one." }}
{{- end }}
{{- if and .urls (or .usernameKey .passwordKey) (not (and .usernameKey .passwordKey)) }}
{{- fail "alertmanager.usernameKey and alertmanager.passwordKey go together (basic auth): set both, or neither." }}
{{- end }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (kindIs "slice" .Values.networkPolicy.egress) (empty .Values.networkPolicy.egress) .Values.alertmanager.urls }}
{{- fail "networkPolicy.egress is empty, which denies all egress, but alertmanager.urls makes the exporter call Alertmanager: list egress rules to Alertmanager and DNS, or set networkPolicy.egress to null." }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.metricsPort.enabled) }}
{{- if and .Values.networkPolicy.webhookFrom (not .Values.networkPolicy.metricsFrom) }}
{{- fail "networkPolicy.webhookFrom narrows who reaches the webhook port, but with metricsPort.enabled false /metrics is served on that port too, and the empty networkPolicy.metricsFrom would open it to every peer: list the scrapers in networkPolicy.metricsFrom, or set metricsPort.enabled." }}
{{- end }}
{{- if and .Values.networkPolicy.metricsFrom (not .Values.networkPolicy.webhookFrom) }}
{{- fail "networkPolicy.metricsFrom cannot narrow /metrics while it is served on the webhook port (metricsPort.enabled false), which the empty networkPolicy.webhookFrom opens to every peer: set metricsPort.enabled, or list the webhook's senders in networkPolicy.webhookFrom." }}
{{- end }}
{{- end }}
{{- /*
One name twice in the env list: server-side apply (Argo CD, Flux, Helm 4) refuses the Deployment
("duplicate entries for key"), and a later client-side apply that drops one copy drops both.
*/}}
{{- $seen := dict }}
{{- $sources := include "statusmate-exporter.envSources" . | fromYaml }}
{{- range $var := include "statusmate-exporter.env" . | fromYamlArray }}
{{- if hasKey $seen $var.name }}
{{- if hasKey $sources $var.name }}
{{- fail (printf "extraEnv or statusPages.tokenSecrets lists %s, which the chart sets itself: remove that entry (%s). A name listed twice makes the Deployment invalid under server-side apply (Argo CD, Flux, Helm 4)." $var.name (get $sources $var.name)) }}
{{- else }}
{{- fail (printf "%s is listed twice, in extraEnv and statusPages.tokenSecrets or twice in extraEnv: keep one. A name listed twice makes the Deployment invalid under server-side apply (Argo CD, Flux, Helm 4)." $var.name) }}
{{- end }}
{{- end }}
{{- $_ := set $seen $var.name true }}
{{- end }}
{{- /* The Prometheus Operator skips such a ServiceMonitor, with a warning in its own log only. */}}
{{- if and .Values.serviceMonitor.enabled (gt (include "statusmate-exporter.durationMilliseconds" .Values.serviceMonitor.scrapeTimeout | atoi) (include "statusmate-exporter.durationMilliseconds" .Values.serviceMonitor.interval | atoi)) }}
{{- fail (printf "serviceMonitor.scrapeTimeout (%s) exceeds serviceMonitor.interval (%s): the Prometheus Operator rejects such a ServiceMonitor and nothing scrapes the exporter. Shorten the timeout or lengthen the interval." .Values.serviceMonitor.scrapeTimeout .Values.serviceMonitor.interval) }}
{{- end }}
{{- if and .Values.persistence.existingClaim (not .Values.persistence.enabled) (eq .Values.config.store "sqlite") }}
{{- fail (printf "persistence.existingClaim is %s but persistence.enabled is false: the store would go on an emptyDir, lost whenever the pod is replaced, and the claim would be ignored. Set persistence.enabled to true (with existingClaim the chart makes no claim of its own), or remove existingClaim." .Values.persistence.existingClaim) }}
{{- end }}
{{- /*
The exporter runs as a non-root user with every capability dropped: it can listen below 1024
only where the pod's net.ipv4.ip_unprivileged_port_start allows it, or it stops with EACCES.
*/}}
{{- $unprivilegedFrom := 1024 }}
{{- range (.Values.podSecurityContext.sysctls | default list) }}
{{- if eq .name "net.ipv4.ip_unprivileged_port_start" }}{{ $unprivilegedFrom = int .value }}{{ end }}
{{- end }}
{{- range $key, $port := dict "service.port" .Values.service.port "metricsPort.port" (ternary .Values.metricsPort.port 65535 .Values.metricsPort.enabled) }}
{{- if lt (int $port) $unprivilegedFrom }}
{{- fail (printf "%s is %d, but the exporter runs as a non-root user without capabilities and cannot listen below %d (it would stop with EACCES). Pick a port of 1024 or above (the Ingress and the ServiceMonitor reach it by name), or let the pod bind it with podSecurityContext.sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: \"0\"}]." $key (int $port) $unprivilegedFrom) }}
{{- end }}
{{- end }}
{{- /* The chart's own volumes and mounts: the API server refuses an extra one of the same name or path. */}}
{{- $volumes := dict "data" "the store" "tmp" "the writable /tmp" }}
{{- $mounts := dict "/data" "the store" "/tmp" "the writable /tmp" }}
{{- if include "statusmate-exporter.statusPagesEnabled" . }}
{{- $pagesAt := .Values.statusPages.mountPath | trimSuffix "/" }}
{{- /* A ConfigMap mounted over the store, /tmp or the image's own files (/app, or / above it) hides them: the pod fails or loses its store. */}}
{{- if hasKey $mounts $pagesAt }}
{{- fail (printf "statusPages.mountPath is %s, where the chart mounts %s: mount the status pages elsewhere (the default is /etc/statusmate-exporter)." .Values.statusPages.mountPath (get $mounts $pagesAt)) }}
{{- end }}
{{- if or (eq (trimAll "/" $pagesAt) "") (eq $pagesAt "/app") (hasPrefix "/app/" $pagesAt) }}
{{- fail (printf "statusPages.mountPath is %s, which would hide the exporter's own files under /app: mount the status pages elsewhere (the default is /etc/statusmate-exporter)." .Values.statusPages.mountPath) }}
{{- end }}
{{- $_ := set $volumes "status-pages" "the status pages file" }}
{{- $_ := set $mounts $pagesAt "the status pages file" }}
{{- end }}
{{- range .Values.extraVolumes }}
{{- if hasKey $volumes .name }}
{{- fail (printf "extraVolumes has a volume named %s, the name of the chart's own volume for %s: give yours another name." .name (get $volumes .name)) }}
{{- end }}
{{- end }}
{{- range .Values.extraVolumeMounts }}
{{- if hasKey $mounts (.mountPath | trimSuffix "/") }}
{{- fail (printf "extraVolumeMounts mounts %s at %s, where the chart mounts %s: mount it elsewhere." .name .mountPath (get $mounts (.mountPath | trimSuffix "/"))) }}
{{- end }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.config.shutdownTimeoutSeconds) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed config.shutdownTimeoutSeconds (%d), or Kubernetes kills the exporter before it has closed its store." (int .Values.terminationGracePeriodSeconds) (int .Values.config.shutdownTimeoutSeconds)) }}
{{- end }}
{{- if and .Values.metricsPort.enabled (eq (int .Values.metricsPort.port) (int .Values.service.port)) }}
{{- fail (printf "metricsPort.port (%d) must differ from service.port when metricsPort.enabled is true." (int .Values.metricsPort.port)) }}
{{- end }}
{{- if and .Values.webhook.existingSecret .Values.webhook.token }}
{{- fail "webhook.token and webhook.existingSecret are both set: set only one (the chart would ignore the token)." }}
{{- end }}
{{- if not .Values.webhook.existingSecret }}
{{- $_ := include "statusmate-exporter.webhookToken" . }}
{{- end }}
{{- if and .Values.statusPages.pages .Values.statusPages.existingConfigMap }}
{{- fail "statusPages.pages and statusPages.existingConfigMap are both set: set only one (the chart would ignore the pages)." }}
{{- end }}
{{- $sources := dict }}
{{- range $name, $_ := .Values.statusPages.tokenSecrets }}{{ $_ := set $sources $name true }}{{ end }}
{{- range .Values.extraEnv }}{{ $_ := set $sources .name true }}{{ end }}
{{- range $index, $page := .Values.statusPages.pages }}
{{- if and $page.token_env (not (hasKey $sources $page.token_env)) (not $.Values.extraEnvFrom) }}
{{- fail (printf "statusPages.pages[%d] (%s) reads its token from %s, which nothing sets: add statusPages.tokenSecrets.%s: {name: <Secret>, key: <key>} (or an extraEnv entry, or a Secret in extraEnvFrom holding it), or the exporter refuses to start." $index (toString $page.id) $page.token_env $page.token_env) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A Kubernetes CPU quantity (10m, 0.5, 2) in whole millicores; empty for one this does not read
(an exponent, a suffix other than m), which the API server judges instead.
*/}}
{{- define "statusmate-exporter.millicores" -}}
{{- $quantity := toString . -}}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?m$" $quantity -}}
{{- trimSuffix "m" $quantity | float64 | floor | int64 -}}
{{- else if regexMatch "^[0-9]+(\\.[0-9]+)?$" $quantity -}}
{{- mulf (float64 $quantity) 1000 | floor | int64 -}}
{{- end -}}
{{- end -}}

{{/*
A Prometheus duration (90s, 1h30m, 500ms) in milliseconds.
*/}}
{{- define "statusmate-exporter.durationMilliseconds" -}}
{{- $total := 0 -}}
{{- range $part := regexFindAll "[0-9]+(ms|[smhdwy])" (toString .) -1 -}}
{{- $unit := regexReplaceAll "^[0-9]+" $part "" -}}
{{- $total = add $total (mul (regexFind "^[0-9]+" $part | atoi) (get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 "w" 604800000 "y" 31536000000) $unit)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/*
A Prometheus duration (90s, 1h30m, 2d) in whole seconds; milliseconds count 0.
*/}}
{{- define "statusmate-exporter.durationSeconds" -}}
{{- $total := 0 -}}
{{- range $part := regexFindAll "[0-9]+(ms|[smhdwy])" (toString .) -1 -}}
{{- $unit := regexReplaceAll "^[0-9]+" $part "" -}}
{{- $total = add $total (mul (regexFind "^[0-9]+" $part | atoi) (get (dict "ms" 0 "s" 1 "m" 60 "h" 3600 "d" 86400 "w" 604800 "y" 31536000) $unit)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}
