{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "eni-ipam.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name, unless it already contains the chart name. */}}
{{- define "eni-ipam.fullname" -}}
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

{{- define "eni-ipam.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "eni-ipam.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eni-ipam.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "eni-ipam.labels" -}}
helm.sh/chart: {{ include "eni-ipam.chart" . }}
{{ include "eni-ipam.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: node-daemon
{{- end -}}

{{- define "eni-ipam.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "eni-ipam.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "eni-ipam.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}

{{/* Terway's name: tools and docs written for Terway look for ConfigMap eni-config. */}}
{{- define "eni-ipam.configMapName" -}}eni-config{{- end -}}

{{/*
Fixed paths shared by the daemon, the plugin and the mounts. The plugin on the host dials the
socket; the pod DB must outlive the pod, so it lives on a hostPath.
*/}}
{{- define "eni-ipam.socketDir" -}}/var/run/eni{{- end -}}
{{- define "eni-ipam.socketPath" -}}/var/run/eni/eni.socket{{- end -}}
{{- define "eni-ipam.stateDir" -}}/var/lib/eni-ipam{{- end -}}
{{- define "eni-ipam.dbPath" -}}/var/lib/eni-ipam/pods.db{{- end -}}
{{/* DELs the plugin (on the host) records while the daemon cannot take them; the daemon drains them. On the state hostPath. */}}
{{- define "eni-ipam.pendingDelDir" -}}/var/lib/eni-ipam/pending-del{{- end -}}
{{/* The host's /proc/sys/net is mounted here (under <this>/net): /proc/sys is read-only without privileges. */}}
{{- define "eni-ipam.procSysPath" -}}/host/proc/sys{{- end -}}
{{/* Where the image keeps the app (package.json, dist/, node_modules/) and the one-file plugin. */}}
{{- define "eni-ipam.appDir" -}}/opt/eni-ipam{{- end -}}
{{- define "eni-ipam.pluginImagePath" -}}/opt/eni-ipam/cni/terway{{- end -}}

{{- define "eni-ipam.metricsListen" -}}
{{- $addr := .Values.metrics.bindAddress | default "" -}}
{{- if contains ":" $addr -}}{{- $addr = printf "[%s]" $addr -}}{{- end -}}
{{- printf "%s:%d" $addr (int .Values.metrics.port) -}}
{{- end -}}

{{/*
The daemon's eni_conf as JSON. Every key of .Values.eniConf is passed through except empty ones
(null, "", {}, []); numbers and booleans are kept even when 0 / false. The keys tied to this
chart's mounts and other values are set here and may not be given in eniConf.
*/}}
{{- define "eni-ipam.eniConf" -}}
{{- $modes := list "ENIMultiIP" "VPCENI" "VPCIP" -}}
{{- if not (has .Values.daemonMode $modes) -}}
{{- fail (printf "daemonMode must be one of %s (got %v)" (join ", " $modes) .Values.daemonMode) -}}
{{- end -}}
{{- if and .Values.centralizedIPAM (ne .Values.daemonMode "ENIMultiIP") -}}
{{- fail "centralizedIPAM serves daemonMode ENIMultiIP only" -}}
{{- end -}}
{{- $eniConf := .Values.eniConf | default dict -}}
{{- range $key := list "daemon_mode" "log_level" "socket_path" "db_path" "pending_del_dir" "metrics_listen" "credential_path" "proc_sys_path" "ipam_type" -}}
{{- if hasKey $eniConf $key -}}
{{- fail (printf "eniConf.%s is set by the chart; use the chart's own value instead (see values.yaml)" $key) -}}
{{- end -}}
{{- end -}}
{{- if or (hasKey $eniConf "access_key") (hasKey $eniConf "access_secret") -}}
{{- fail "eniConf.access_key / access_secret would land in a ConfigMap; use credentials.existingSecret" -}}
{{- end -}}
{{- $conf := dict -}}
{{- range $key, $value := $eniConf -}}
{{- $empty := or (kindIs "invalid" $value) (and (or (kindIs "string" $value) (kindIs "map" $value) (kindIs "slice" $value)) (empty $value)) -}}
{{- if not $empty -}}
{{- $_ := set $conf $key $value -}}
{{- end -}}
{{- end -}}
{{- $_ := set $conf "daemon_mode" .Values.daemonMode -}}
{{- $_ := set $conf "log_level" .Values.logLevel -}}
{{- $_ := set $conf "socket_path" (include "eni-ipam.socketPath" .) -}}
{{- $_ := set $conf "db_path" (include "eni-ipam.dbPath" .) -}}
{{- $_ := set $conf "pending_del_dir" (include "eni-ipam.pendingDelDir" .) -}}
{{- $_ := set $conf "proc_sys_path" (include "eni-ipam.procSysPath" .) -}}
{{- if .Values.metrics.enabled -}}
{{- $_ := set $conf "metrics_listen" (include "eni-ipam.metricsListen" .) -}}
{{- end -}}
{{- if .Values.centralizedIPAM -}}
{{- /* The controller owns the cloud: the daemon gets no credentials. */ -}}
{{- $_ := set $conf "ipam_type" "crd" -}}
{{- else -}}
{{- with .Values.credentials.credentialPath -}}
{{- $_ := set $conf "credential_path" . -}}
{{- end -}}
{{- end -}}
{{- toPrettyJson $conf -}}
{{- end -}}

{{/* The node daemon's cloud credentials: none with centralized IPAM. */}}
{{- define "eni-ipam.daemonSecret" -}}
{{- if not .Values.centralizedIPAM -}}{{ .Values.credentials.existingSecret }}{{- end -}}
{{- end -}}
{{- define "eni-ipam.daemonCredentialPath" -}}
{{- if not .Values.centralizedIPAM -}}{{ .Values.credentials.credentialPath }}{{- end -}}
{{- end -}}

{{/* The controller (centralized IPAM). */}}
{{- define "eni-ipam.controlplaneName" -}}
{{- printf "%s-controlplane" (include "eni-ipam.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "eni-ipam.controlplaneSelectorLabels" -}}
app.kubernetes.io/name: {{ include "eni-ipam.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controlplane
{{- end -}}

{{- define "eni-ipam.controlplaneSecret" -}}
{{- .Values.controlplane.credentials.existingSecret | default (printf "%s-credentials" (include "eni-ipam.controlplaneName" .)) -}}
{{- end -}}

{{/*
The controller's config.json (Terway's terway-controlplane key names). Credentials are not in it: they come
from the controller's Secret as environment variables.
*/}}
{{- define "eni-ipam.controlplaneConfig" -}}
{{- $cp := .Values.controlplane -}}
{{- $region := $cp.regionID | default (.Values.eniConf.region_id | default "") -}}
{{- if not $region -}}{{- fail "centralizedIPAM needs controlplane.regionID (or eniConf.region_id)" -}}{{- end -}}
{{- if not $cp.vpcID -}}{{- fail "centralizedIPAM needs controlplane.vpcID" -}}{{- end -}}
{{- $cpConf := dict
  "regionID" $region
  "vpcID" $cp.vpcID
  "openAPIQPS" $cp.openAPIQPS
  "openAPIBurst" $cp.openAPIBurst
  "rateLimit" ($cp.rateLimit | default dict)
  "leaderElection" true
  "leaseLockName" (include "eni-ipam.controlplaneName" .)
  "leaseLockNamespace" .Release.Namespace
  "leaseDuration" $cp.leaseDuration
  "renewDeadline" $cp.renewDeadline
  "retryPeriod" $cp.retryPeriod
  "multiIPNodeSyncPeriod" $cp.multiIPNodeSyncPeriod
  "leakedENIGracePeriod" $cp.leakedENIGracePeriod
  "attachPollPeriod" $cp.attachPollPeriod
  "kubeClientQPS" $cp.kubeClientQPS
  "kubeClientBurst" $cp.kubeClientBurst
  "metricsBindAddress" (printf ":%d" (int $cp.metricsPort))
  "logLevel" $cp.logLevel
-}}
{{- with $cp.clusterID -}}{{- $_ := set $cpConf "clusterID" . -}}{{- end -}}
{{- range $k, $v := ($cp.extraConfig | default dict) -}}
{{- if has $k (list "accessKey" "accessSecret") -}}{{- fail "controlplane.extraConfig: credentials go in controlplane.credentials" -}}{{- end -}}
{{- $_ := set $cpConf $k $v -}}
{{- end -}}
{{- toPrettyJson $cpConf -}}
{{- end -}}

{{/*
The CNI network config list the container runtime reads. Runtimes on libcni before 1.2 (containerd
1.6/1.7, podman 4) read only the top-level cniVersion and speak CNI up to 1.0.0: with 1.1.0 there
every pod fails and the cleanup DEL stops at the first chained plugin. Newer runtimes pick the
highest of cniVersions they support (1.1.0 adds STATUS and GC).
*/}}
{{- define "eni-ipam.cniConflist" -}}
{{- $plugin := dict "type" "terway" "socket" (include "eni-ipam.socketPath" .) "pending_del_dir" (include "eni-ipam.pendingDelDir" .) "mtu" (int (.Values.eniConf.mtu | default 1500)) -}}
{{- with .Values.cni.delWaitSeconds -}}
{{- $_ := set $plugin "del_wait_seconds" . -}}
{{- end -}}
{{- with .Values.cni.timeoutSeconds -}}
{{- $_ := set $plugin "timeout_seconds" . -}}
{{- end -}}
{{- with .Values.cni.logFile -}}
{{- $_ := set $plugin "log_file" . -}}
{{- end -}}
{{- $plugins := prepend (.Values.cni.chainedPlugins | default list) $plugin -}}
{{- toPrettyJson (dict "cniVersion" "1.0.0" "cniVersions" (list "0.4.0" "1.0.0" "1.1.0") "name" .Values.cni.networkName "plugins" $plugins) -}}
{{- end -}}
