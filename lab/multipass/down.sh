#!/usr/bin/env bash
# Removes the Multipass lab: deletes and purges the VMs vm1, vm2 and vm3 (whichever exist) and
# the operator's copy of the lab data (AGENDA_MULTIPASS_DIR, default ./.agenda-multipass).
#
#   lab/multipass/down.sh [--dry-run]
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${AGENDA_MULTIPASS_DIR:-$REPO/.agenda-multipass}
DRY_RUN=0
case "${1:-}" in
  --dry-run) DRY_RUN=1 ;;
  '') ;;
  *)
    echo "usage: $0 [--dry-run]" >&2
    exit 1
    ;;
esac

run() {
  if ((DRY_RUN)); then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

if ((DRY_RUN)); then
  present=(vm1 vm2 vm3)
else
  command -v multipass >/dev/null || {
    echo 'down.sh: multipass is not installed' >&2
    exit 1
  }
  present=()
  for vm in vm1 vm2 vm3; do
    if multipass info "$vm" >/dev/null 2>&1; then present+=("$vm"); fi
  done
fi
if ((${#present[@]} > 0)); then
  run multipass delete --purge "${present[@]}"
else
  echo 'no lab VM to remove' >&2
fi
if [[ -d $OUT ]]; then
  run rm -rf -- "$OUT/agenda" "$OUT/cloud-init.yaml"
  run rmdir --ignore-fail-on-non-empty -- "$OUT"
fi
