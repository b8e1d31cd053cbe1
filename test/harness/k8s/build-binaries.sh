#!/usr/bin/env bash
# Builds the Kubernetes and Istio binaries the Istio tests run, from the Go
# module proxy, into $MESHSCOPE_CACHE (default ~/.cache/meshscope), one folder
# per version so a version bump never reuses a stale binary. Cold on 2 cores:
# kube-apiserver ~10 min, pilot-discovery ~7 min, the rest < 1 min each once
# the module cache is warm; cached: nothing to do.
# Usage: build-binaries.sh [kube-apiserver|kubectl|pilot-discovery|pilot-agent|istio-files|helm ...]  (default: all)
set -euo pipefail
. "$(dirname "$0")/versions.env"
CACHE=${MESHSCOPE_CACHE:-$HOME/.cache/meshscope}
NICE=${NICE:-nice -n 10}
say() { printf '[meshscope k8s build %s] %s\n' "$(date +%T)" "$*" >&2; }
modir() { go mod download -json "$1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])'; }

k8s_src() { # a writable copy of k8s.io/kubernetes whose staging replaces point at the published modules
  local src=$CACHE/src/kubernetes-$K8S_VERSION
  if [ ! -f "$src/.ready" ]; then
    say "downloading k8s.io/kubernetes@$K8S_VERSION"
    local dir; dir=$(modir "k8s.io/kubernetes@$K8S_VERSION")
    rm -rf "$src"; mkdir -p "$(dirname "$src")"; cp -r "$dir" "$src"; chmod -R u+w "$src"
    ( cd "$src"; rm -f go.work go.work.sum
      args=""
      for m in $(sed -n '/^replace (/,/^)/p' go.mod | awk '/=>/{print $1}'); do
        args="$args -dropreplace=$m -require=$m@$K8S_STAGING_VERSION"
      done
      go mod edit $args
      go mod download >/dev/null 2>&1 || true )
    touch "$src/.ready"
  fi
  echo "$src"
}

build_k8s() { # name
  local out=$CACHE/kubernetes-$K8S_VERSION/bin/$1
  [ -x "$out" ] && return 0
  local src; src=$(k8s_src)
  say "building $1 $K8S_VERSION"
  local ld="-s -w" p
  for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=${K8S_MINOR%%.*} -X $p.gitMinor=${K8S_MINOR#*.} -X $p.gitTreeState=clean"
  done
  mkdir -p "$(dirname "$out")"
  ( cd "$src" && $NICE go build -mod=mod -trimpath -ldflags "$ld" -o "$out.tmp" "./cmd/$1" )
  mv "$out.tmp" "$out"
  say "built $out"
}

build_istio() { # name
  local out=$CACHE/istio-$ISTIO_VERSION_LABEL-${ISTIO_VERSION_PSEUDO##*-}/bin/$1
  [ -x "$out" ] && return 0
  local dir; dir=$(modir "istio.io/istio@$ISTIO_VERSION_PSEUDO")
  say "building $1 (istio $ISTIO_VERSION_LABEL)"
  local P=istio.io/istio/pkg/version
  mkdir -p "$(dirname "$out")"
  ( cd "$dir" && $NICE go build -trimpath \
      -ldflags "-s -w -X $P.buildVersion=$ISTIO_VERSION_LABEL -X $P.buildGitRevision=${ISTIO_VERSION_PSEUDO##*-} -X $P.buildStatus=Clean -X $P.buildTag=$ISTIO_VERSION_LABEL" \
      -o "$out.tmp" "./pilot/cmd/$1" )
  mv "$out.tmp" "$out"
  say "built $out"
  istio_files
}

istio_files() { # what istiod needs beside the binaries: the CRDs and pilot-agent's bootstrap template
  local d=$CACHE/istio-$ISTIO_VERSION_LABEL-${ISTIO_VERSION_PSEUDO##*-}
  [ -f "$d/crd-all.gen.yaml" ] && [ -f "$d/envoy_bootstrap.json" ] && return 0
  local dir; dir=$(modir "istio.io/istio@$ISTIO_VERSION_PSEUDO")
  mkdir -p "$d"
  cp "$dir/manifests/charts/base/files/crd-all.gen.yaml" "$dir/tools/packaging/common/envoy_bootstrap.json" "$d/"
  chmod u+w "$d/crd-all.gen.yaml" "$d/envoy_bootstrap.json"
}

build_helm() {
  local out=$CACHE/helm-$HELM_VERSION/bin/helm
  [ -x "$out" ] && return 0
  say "building helm $HELM_VERSION"
  local tmp; tmp=$(mktemp -d)
  mkdir -p "$(dirname "$out")"
  ( cd "$tmp"
    go mod init meshscope-helm-build >/dev/null
    go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    $NICE go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" -o "$out.tmp" helm.sh/helm/v3/cmd/helm )
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
  say "built $out"
}

targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(kube-apiserver pilot-discovery pilot-agent istio-files kubectl helm)
for t in "${targets[@]}"; do
  case $t in
    kube-apiserver|kubectl) build_k8s "$t" ;;
    pilot-discovery|pilot-agent) build_istio "$t" ;;
    istio-files) istio_files ;;
    helm) build_helm ;;
    *) echo "build-binaries.sh: unknown target '$t' (kube-apiserver, kubectl, pilot-discovery, pilot-agent, istio-files, helm)" >&2; exit 2 ;;
  esac
done
