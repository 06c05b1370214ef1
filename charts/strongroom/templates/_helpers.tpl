{{/* Names, labels and the few facts several templates share: each is written here once. */}}

{{- define "strongroom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "strongroom.fullname" -}}
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

{{- define "strongroom.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "strongroom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "strongroom.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "strongroom.labels" -}}
helm.sh/chart: {{ include "strongroom.chart" . }}
{{ include "strongroom.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: strongroom
{{- end }}

{{- define "strongroom.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "strongroom.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "strongroom.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret the bootstrap Job writes (strongroom's CA, server certificate, operator token,
     bundle signer); the contract with `strongroom bootstrap --k8s-secret`. */}}
{{- define "strongroom.identitySecret" -}}
{{- printf "%s-strongroom-identity" .Release.Name }}
{{- end }}

{{/* The Vault/OpenBao the broker and the bootstrap Job talk to. */}}
{{- define "strongroom.vaultAddr" -}}
{{- if .Values.openbao.enabled }}
{{- if .Values.global.externalBaoAddr }}
{{- fail "openbao.enabled is true: leave global.externalBaoAddr empty (the openbao chart would not deploy its server)" }}
{{- end }}
{{- printf "%s://%s-openbao-active.%s.svc:8200" (ternary "http" "https" .Values.global.tlsDisable) .Release.Name .Release.Namespace }}
{{- else if .Values.global.externalBaoAddr }}
{{- .Values.global.externalBaoAddr }}
{{- else }}
{{- fail "set global.externalBaoAddr to your Vault/OpenBao URL, or openbao.enabled=true" }}
{{- end }}
{{- end }}

{{/* The names clients reach the broker by: in its server certificate, bootstrap's or
     cert-manager's. */}}
{{- define "strongroom.serverNames" -}}
{{- $fullname := include "strongroom.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $names := list $fullname (printf "%s.%s" $fullname $ns) (printf "%s.%s.svc" $fullname $ns) (printf "%s.%s.svc.cluster.local" $fullname $ns) }}
{{- concat $names .Values.service.extraDnsNames | uniq | toJson }}
{{- end }}

{{/* Where files are mounted in the containers. */}}
{{- define "strongroom.paths" -}}
manifest: /etc/strongroom/manifest/manifest.yaml
identity: /etc/strongroom/identity
tls: /etc/strongroom/tls
vaultCa: /etc/strongroom/vault-ca
{{- end }}

{{/* The broker's server certificate: cert-manager, an existing Secret, or bootstrap's. */}}
{{- define "strongroom.certManagerActive" -}}
{{- if and .Values.certManager.enabled (.Capabilities.APIVersions.Has "cert-manager.io/v1/Certificate") }}true{{ end }}
{{- end }}

{{- define "strongroom.tlsSecret" -}}
{{- if include "strongroom.certManagerActive" . }}
{{- printf "%s-tls" (include "strongroom.fullname" .) }}
{{- else if .Values.tls.existingSecret }}
{{- .Values.tls.existingSecret }}
{{- end }}
{{- end }}

{{/* Vault options common to `serve` (env) and `bootstrap` (flags): name -> value. */}}
{{- define "strongroom.vaultOptions" -}}
{{- $paths := include "strongroom.paths" . | fromYaml -}}
vault-addr: {{ include "strongroom.vaultAddr" . | quote }}
kv-mount: {{ .Values.vault.kvMount | quote }}
manifest: {{ $paths.manifest | quote }}
{{- if .Values.vault.caSecret.name }}
vault-ca: {{ printf "%s/%s" $paths.vaultCa .Values.vault.caSecret.key | quote }}
{{- end }}
{{- end }}

{{/* Volumes and mounts both pods use: the manifest and the Vault CA. */}}
{{- define "strongroom.commonVolumes" -}}
- name: manifest
  configMap:
    name: {{ .manifestConfigMap }}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- if .root.Values.vault.caSecret.name }}
- name: vault-ca
  secret:
    secretName: {{ .root.Values.vault.caSecret.name }}
    items:
      - key: {{ .root.Values.vault.caSecret.key }}
        path: {{ .root.Values.vault.caSecret.key }}
{{- end }}
{{- end }}

{{- define "strongroom.commonMounts" -}}
{{- $paths := include "strongroom.paths" . | fromYaml -}}
- name: manifest
  mountPath: {{ dir $paths.manifest }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.vault.caSecret.name }}
- name: vault-ca
  mountPath: {{ $paths.vaultCa }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "strongroom.manifestData" -}}
manifest.yaml: |
{{ .Values.manifest | indent 2 }}
{{- end }}
