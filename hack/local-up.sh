#!/usr/bin/env bash
# Sets up and runs vmctl locally: a real etcd + kube-apiserver with the CRDs installed, and
# every component that has landed so far. Safe to run twice: what already runs is kept.
# Stop everything with hack/local-down.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VMCTL_ROOT"
STATE="${VMCTL_STATE:-$HOME/.local/state/vmctl}"
API_PORT="${VMCTL_API_PORT:-6443}"
mkdir -p "$STATE/run" "$STATE/log"

running() { [[ -f "$STATE/run/$1.pid" ]] && kill -0 "$(cat "$STATE/run/$1.pid")" 2>/dev/null; }

# start NAME CLASSPATH_FILE MAIN ARGS...: runs a Java main in the background, once.
start_java() {
  local name=$1 cp_file=$2 main=$3
  shift 3
  if running "$name"; then
    step "$name already running (pid $(cat "$STATE/run/$name.pid"))"
    return
  fi
  step "starting $name (log: $STATE/log/$name.log)"
  setsid nohup java -cp "$(cat "$cp_file")" "$main" "$@" >>"$STATE/log/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/run/$name.pid"
}

ensure_toolchain
step "Kubernetes binaries (cached after the first run)"
VMCTL_KUBE_BINARIES="$(kube_binaries)"
export VMCTL_KUBE_BINARIES

step "building vmctl (mvn install, tests skipped)"
mvn -B -q -ntp install -DskipTests -Dspotless.check.skip=true
for module in testkit; do
  (cd "$module" && mvn -B -q -ntp dependency:build-classpath -Dmdep.outputFile="$STATE/run/$module.cp" >/dev/null)
  echo ":$VMCTL_ROOT/$module/target/classes" >>"$STATE/run/$module.cp"
  tr -d '\n' <"$STATE/run/$module.cp" >"$STATE/run/$module.cp.tmp" && mv "$STATE/run/$module.cp.tmp" "$STATE/run/$module.cp"
done

start_java kube-apiserver "$STATE/run/testkit.cp" dev.vmctl.testkit.KubeApiServer "$STATE/kube" "$API_PORT"
export KUBECONFIG="$STATE/kube/kubeconfig"
for _ in $(seq 1 120); do
  [[ -f "$KUBECONFIG" ]] && "$VMCTL_KUBE_BINARIES/kubectl" get --raw /readyz >/dev/null 2>&1 && break
  running kube-apiserver || { tail -20 "$STATE/log/kube-apiserver.log" >&2; exit 1; }
  sleep 0.5
done
step "installing CRDs"
"$VMCTL_KUBE_BINARIES/kubectl" apply --server-side --force-conflicts -k crds/ >/dev/null
"$VMCTL_KUBE_BINARIES/kubectl" wait --for=condition=Established crd --all --timeout=60s >/dev/null

cat <<MSG

vmctl is up. Try:
  export KUBECONFIG=$KUBECONFIG PATH=$VMCTL_KUBE_BINARIES:\$PATH
  kubectl apply -f examples/
  kubectl get vmctl
Stop it with: hack/local-down.sh
MSG
