{{/*
A small RFC 6902 JSON Patch for templates (Helm has none): `add`, `replace` and `remove`, with
paths such as `/spec/template/spec/containers/0/args/-`. `~1` stands for `/` and `~0` for `~` in a
path segment, as the RFC says. `test`, `move` and `copy` are not needed by any override and fail.
*/}}

{{/*
tributary.jsonpatch
Input:  dict "doc" (map), "patch" (list of {op, path, value}).
Output: JSON {"doc": <the patched map>}.
*/}}
{{- define "tributary.jsonpatch" -}}
{{- $doc := deepCopy .doc -}}
{{- range $i, $p := .patch -}}
{{- if not (has $p.op (list "add" "replace" "remove")) -}}
{{- fail (printf "patch[%d]: op %q is not supported (add, replace, remove)" $i $p.op) -}}
{{- end -}}
{{- if not (hasPrefix "/" $p.path) -}}
{{- fail (printf "patch[%d]: path %q must start with /" $i $p.path) -}}
{{- end -}}
{{- $segs := list -}}
{{- range (rest (splitList "/" $p.path)) -}}
{{- $segs = append $segs (replace "~0" "~" (replace "~1" "/" .)) -}}
{{- end -}}
{{- $args := dict "node" $doc "segs" $segs "op" $p.op "value" $p.value "path" $p.path -}}
{{- $doc = (include "tributary.jsonpatch.apply" $args | fromJson).v -}}
{{- end -}}
{{- dict "doc" $doc | toJson -}}
{{- end -}}

{{/*
tributary.jsonpatch.apply
Input:  dict "node" (map or list), "segs" (remaining path segments, at least one), "op", "value",
        "path" (the whole path, for errors).
Output: JSON {"v": <node with the operation applied at segs>}; recursive, one segment per level.
*/}}
{{- define "tributary.jsonpatch.apply" -}}
{{- $key := first .segs -}}
{{- $node := .node -}}
{{- if kindIs "map" $node -}}
  {{- if eq (len .segs) 1 -}}
    {{- if eq .op "remove" -}}
      {{- if not (hasKey $node $key) -}}{{- fail (printf "patch: remove %s: no such key" .path) -}}{{- end -}}
      {{- $_ := unset $node $key -}}
    {{- else if and (eq .op "replace") (not (hasKey $node $key)) -}}
      {{- fail (printf "patch: replace %s: no such key" .path) -}}
    {{- else -}}
      {{- $_ := set $node $key .value -}}
    {{- end -}}
  {{- else -}}
    {{- if not (hasKey $node $key) -}}{{- fail (printf "patch: %s: %q does not exist" .path $key) -}}{{- end -}}
    {{- $child := include "tributary.jsonpatch.apply" (dict "node" (get $node $key) "segs" (rest .segs) "op" .op "value" .value "path" .path) | fromJson -}}
    {{- $_ := set $node $key $child.v -}}
  {{- end -}}
{{- else if kindIs "slice" $node -}}
  {{- $n := len $node -}}
  {{- $i := $n -}}
  {{- if ne $key "-" -}}
    {{- if not (regexMatch "^(0|[1-9][0-9]*)$" $key) -}}{{- fail (printf "patch: %s: %q is not a list index" .path $key) -}}{{- end -}}
    {{- $i = atoi $key -}}
  {{- end -}}
  {{- if eq (len .segs) 1 -}}
    {{- if eq .op "add" -}}
      {{- if gt $i $n -}}{{- fail (printf "patch: add %s: index out of range" .path) -}}{{- end -}}
      {{- $node = concat (slice $node 0 $i) (list .value) (slice $node $i) -}}
    {{- else -}}
      {{- if ge $i $n -}}{{- fail (printf "patch: %s %s: index out of range" .op .path) -}}{{- end -}}
      {{- $tail := slice $node (add1 $i) -}}
      {{- if eq .op "replace" -}}{{- $tail = prepend $tail .value -}}{{- end -}}
      {{- $node = concat (slice $node 0 $i) $tail -}}
    {{- end -}}
  {{- else -}}
    {{- if ge $i $n -}}{{- fail (printf "patch: %s: index out of range" .path) -}}{{- end -}}
    {{- $child := include "tributary.jsonpatch.apply" (dict "node" (index $node $i) "segs" (rest .segs) "op" .op "value" .value "path" .path) | fromJson -}}
    {{- $node = concat (slice $node 0 $i) (list $child.v) (slice $node (add1 $i)) -}}
  {{- end -}}
{{- else -}}
  {{- fail (printf "patch: %s: cannot descend into a %s" .path (kindOf $node)) -}}
{{- end -}}
{{- dict "v" $node | toJson -}}
{{- end -}}
