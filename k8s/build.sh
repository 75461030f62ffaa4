#!/usr/bin/env bash
# Build the Kubernetes control plane the k8s lab profile runs -- etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler (v1.37.2) and kwok (v0.8.0) -- from the Go module
# proxy, once per machine, into a cache outside the clone keyed by a hash of the wrapper modules
# (k8s/build/*/go.mod) and of this script; then point LINK (default .tools/k8s) at it.
#
# A cold build takes ~12 min on 2 cores (peak ~2.7 GB of memory, ~1.1 GB of module cache and
# ~4.4 GB of Go build cache, ~430 MB of binaries); with the build in the cache, nothing is built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
link=${1:-.tools/k8s}
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/chaosrun
key=$(cat "$here/build.sh" "$here"/build/*/go.mod | sha256sum | cut -c1-12)
out=$cache/k8s-$key
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

built() {
	for b in "${binaries[@]}"; do [ -x "$out/bin/$b" ] || return 1; done
}

if ! built; then
	test -x "$go" || { echo "Go 1.26 is needed to build the Kubernetes control plane (https://go.dev/dl)"; exit 3; }
	echo "k8s/build.sh: building the control plane into $out (once per machine, ~12 min on 2 cores)"
	started=$(date +%s)
	work=$out/work
	rm -rf "$work" && mkdir -p "$work" "$out/bin"
	cp -r "$here/build/." "$work/"
	export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
	(cd "$work/etcd" && "$go" build -o "$out/bin/etcd" go.etcd.io/etcd/server/v3)
	version="-X k8s.io/component-base/version.gitVersion=v1.37.2"
	for component in kube-apiserver kube-controller-manager kube-scheduler; do
		(cd "$work/kubernetes" && "$go" build -ldflags "$version" \
			-o "$out/bin/$component" "k8s.io/kubernetes/cmd/$component")
	done
	(cd "$work/kwok" && "$go" build -o "$out/bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
	rm -rf "$work"
	echo "k8s/build.sh: built in $(( $(date +%s) - started )) s"
fi
mkdir -p "$(dirname "$link")"
ln -sfn "$out" "$link"
