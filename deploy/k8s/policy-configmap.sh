#!/bin/sh
# Print the ConfigMap of a policy folder, and the `items` that mount it back
# as the folder it was (docs/deploy.md, "Mounting a policy"). A ConfigMap is
# flat: its keys cannot hold `/`, so templates/de/overdue-1.md is stored
# under the key templates__de__overdue-1.md and the volume's `items` map
# each key to its path. Paste the items into cronjob.yaml (tests/deploy.rs
# checks that cronjob.yaml's items cover every file of policies/standard).
#
#   sh deploy/k8s/policy-configmap.sh policies/standard recoup-policy > policy-configmap.yaml
#   kubectl apply -f policy-configmap.yaml
set -eu
dir="${1:?usage: policy-configmap.sh POLICY_DIR [NAME]}"
name="${2:-recoup-policy}"
files=$(cd "$dir" && find . -type f ! -path './tests/*' | sed 's|^\./||' | LC_ALL=C sort)
set --
for f in $files; do
  set -- "$@" "--from-file=$(echo "$f" | sed 's|/|__|g')=$dir/$f"
done
kubectl create configmap "$name" --dry-run=client -o yaml "$@"
echo "# items for the volume (configMap.items):" >&2
for f in $files; do
  printf '  - { key: %s, path: %s }\n' "$(echo "$f" | sed 's|/|__|g')" "$f" >&2
done
