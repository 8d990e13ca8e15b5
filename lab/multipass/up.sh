#!/usr/bin/env bash
# Brings the three-host Agenda lab up on Multipass VMs named vm1, vm2 and vm3 (the placement
# of lab/topology.ts), from the repository at AGENDA_REF (default HEAD: committed work only).
#
#   lab/multipass/up.sh [--dry-run]
#
# --dry-run renders the cloud-init file and prints every multipass command instead of running
# it (made-up addresses from 192.0.2.0/24 stand in for the ones the VMs would get).
#
# Environment: AGENDA_MULTIPASS_DIR (default ./.agenda-multipass: the rendered cloud-init and
# a copy of the lab's data for the operator), AGENDA_REF, AGENDA_VIP (default: .250 of vm1's
# network; it must be free), AGENDA_MULTIPASS_IMAGE (default 24.04), AGENDA_OPERATOR_ADDRESS
# (this machine's address on the VMs' network, where the dashboard's gossip socket binds;
# found with `ip route get` by default).
# Needs, on the VM host: multipass, git, gzip, base64, tar, awk, and this checkout's npm ci.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${AGENDA_MULTIPASS_DIR:-$REPO/.agenda-multipass}
REF=${AGENDA_REF:-HEAD}
IMAGE=${AGENDA_MULTIPASS_IMAGE:-24.04}
VMS=(vm1 vm2 vm3)
DATA=/var/lib/agenda
DRY_RUN=0

case "${1:-}" in
  --dry-run) DRY_RUN=1 ;;
  '') ;;
  *)
    echo "usage: $0 [--dry-run]" >&2
    exit 1
    ;;
esac

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'up.sh: %s\n' "$*" >&2
  exit 1
}

# Runs a command, or prints it in a dry run.
run() {
  if ((DRY_RUN)); then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# Prints a command's output, or in a dry run prints the command and then echoes $1 instead.
ask() {
  local stand_in=$1
  shift
  if ((DRY_RUN)); then
    run "$@" >&2
    printf '%s\n' "$stand_in"
  else
    "$@"
  fi
}

# Runs a shell command line inside a VM as root.
on_vm() {
  local vm=$1
  shift
  run multipass exec "$vm" -- sudo bash -c "$*"
}

for tool in git gzip base64 tar awk; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
if ((!DRY_RUN)); then
  command -v multipass >/dev/null || die 'multipass is not installed (https://multipass.run)'
  if [[ -z ${AGENDA_OPERATOR_ADDRESS:-} ]]; then
    command -v ip >/dev/null || die 'ip (iproute2) is needed, or set AGENDA_OPERATOR_ADDRESS'
  fi
  for vm in "${VMS[@]}"; do
    if multipass info "$vm" >/dev/null 2>&1; then
      die "a VM named $vm already exists; remove it first (lab/multipass/down.sh)"
    fi
  done
fi

mkdir -p "$OUT"
chmod 700 "$OUT"

# This machine runs the compiled `agenda` binary (the health check below): bring it up to date.
node "$REPO/bin/build.js" || die 'the build failed (npm run build)'

say "rendering cloud-init with the repository at $REF"
git -C "$REPO" rev-parse --verify --quiet "$REF^{commit}" >/dev/null || die "no commit $REF"
git -C "$REPO" archive --format=tar "$REF" | gzip -9 | base64 -w 76 >"$OUT/source.b64"
awk -v archive="$OUT/source.b64" '
  /content: AGENDA_SOURCE_ARCHIVE$/ {
    sub(/AGENDA_SOURCE_ARCHIVE$/, "|")
    print
    while ((getline line < archive) > 0) print "      " line
    next
  }
  { print }
' "$REPO/lab/multipass/cloud-init.yaml" >"$OUT/cloud-init.yaml"
rm -f "$OUT/source.b64"

# vm1 and vm2 are the main hosts; vm3 is the witness with one DB member.
for vm in "${VMS[@]}"; do
  if [[ $vm == vm3 ]]; then size=(--cpus 1 --memory 1G --disk 8G); else size=(--cpus 2 --memory 2G --disk 10G); fi
  say "launching $vm (cloud-init installs Node 20, Redis and the checkout; this takes minutes)"
  run multipass launch --name "$vm" "${size[@]}" --timeout 1800 --cloud-init "$OUT/cloud-init.yaml" "$IMAGE"
  run multipass exec "$vm" -- cloud-init status --wait
  on_vm "$vm" 'node --version | grep -q "^v2[0-9]\." && test -f /opt/agenda/dist/lab/multipass/vm.js && id -u agenda >/dev/null' ||
    die "$vm: Node 20, the compiled checkout or the user agenda is missing; see: multipass exec $vm -- sudo cat /var/log/cloud-init-output.log"
done

say 'discovering addresses'
declare -A ADDRESS
n=11
for vm in "${VMS[@]}"; do
  ADDRESS[$vm]=$(ask "192.0.2.$n" multipass exec "$vm" -- sh -c "hostname -I | cut -d' ' -f1")
  n=$((n + 1))
done
DEVICE=$(ask ens3 multipass exec vm1 -- sh -c "ip -o -4 route show default | awk '{print \$5; exit}'")
DEVICE2=$(ask ens3 multipass exec vm2 -- sh -c "ip -o -4 route show default | awk '{print \$5; exit}'")
[[ $DEVICE == "$DEVICE2" ]] || die "vm1 uses $DEVICE and vm2 $DEVICE2: the VIP config needs one name"
PREFIX=$(ask 24 multipass exec vm1 -- sh -c "ip -o -4 addr show dev $DEVICE | awk '{split(\$4, a, \"/\"); print a[2]; exit}'")
VIP=${AGENDA_VIP:-${ADDRESS[vm1]%.*}.250}
if ((!DRY_RUN)) && ping -c 1 -W 1 "$VIP" >/dev/null 2>&1; then
  die "the VIP $VIP answers ping: it is taken; choose a free one with AGENDA_VIP"
fi
OBSERVER=${AGENDA_OPERATOR_ADDRESS:-$(ask 192.0.2.1 sh -c "ip -o -4 route get ${ADDRESS[vm1]} | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'")}
[[ -n $OBSERVER ]] || die "cannot tell this host's address on the VMs' network"
say "vm1 ${ADDRESS[vm1]}, vm2 ${ADDRESS[vm2]}, vm3 ${ADDRESS[vm3]}, VIP $VIP/$PREFIX on $DEVICE, operator $OBSERVER"

say 'writing certificates, keys and configs (on vm1), then copying them to vm2, vm3 and here'
on_vm vm1 "cd /opt/agenda && node dist/lab/multipass/vm.js prepare --data-dir $DATA" \
  "--vm1 ${ADDRESS[vm1]} --vm2 ${ADDRESS[vm2]} --vm3 ${ADDRESS[vm3]}" \
  "--vip $VIP --prefix $PREFIX --device $DEVICE --observer $OBSERVER"
if ((DRY_RUN)); then
  run multipass exec vm1 -- sudo tar -C /var/lib -czf - agenda
  printf '  > %q\n' "$OUT/data.tgz"
else
  multipass exec vm1 -- sudo tar -C /var/lib -czf - agenda >"$OUT/data.tgz"
fi
for vm in vm2 vm3; do
  run multipass transfer "$OUT/data.tgz" "$vm:/tmp/agenda-data.tgz"
  on_vm "$vm" "tar -C /var/lib -xzf /tmp/agenda-data.tgz && rm /tmp/agenda-data.tgz"
done
run tar -C "$OUT" -xzf "$OUT/data.tgz"
run rm -f "$OUT/data.tgz"

# Each VM gets a systemd unit per process and agenda.target (lab/multipass/units.ts), run as
# the user agenda, which must own the data. `systemctl start` returns once every unit of the
# host is ready (or failed): vm3 first, so that vm1's agenda-redis-primary, which writes to
# the DB, finds a quorum (db-5 with vm1's db-1 and db-2).
say 'installing the systemd units (agenda.target, a unit per process) and starting every host'
for vm in vm3 vm1 vm2; do
  on_vm "$vm" "chown -R agenda:agenda $DATA" \
    "&& cd /opt/agenda && node dist/lab/multipass/vm.js install --data-dir $DATA --host $vm" \
    "&& systemctl daemon-reload && systemctl enable agenda.target && systemctl start agenda.target"
done

DESCRIPTION="$OUT/agenda/observer.json"
if ((!DRY_RUN)); then
  say 'waiting for a DB leader and the VIP (up to 3 minutes)'
  deadline=$((SECONDS + 180))
  until node "$REPO/bin/agenda.js" cluster status --topology "$DESCRIPTION" --json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const c=JSON.parse(s).cluster;process.exit(c.dbMembers?.some(m=>m.up&&m.role==="leader")&&c.vip?.owner?0:1)})'; do
    ((SECONDS < deadline)) || die "not healthy yet; look: node bin/agenda.js cluster status --topology $DESCRIPTION; multipass exec vm1 -- systemctl list-units 'agenda*'"
    sleep 3
  done
fi

cat <<EOF
The lab is up on Multipass.
  watch it:   npx agenda dashboard --topology $DESCRIPTION
  use it:     export AGENDA_SERVER=https://$VIP:8443 AGENDA_CA=$OUT/agenda/pki/ca.pem
              npx agenda register alice
  units:      multipass exec vm1 -- systemctl list-units 'agenda*'; starts, exits and restarts:
              multipass exec vm1 -- sudo journalctl -u 'agenda*'
  logs:       each process's own in $DATA/logs on its VM
  remove it:  lab/multipass/down.sh
EOF
