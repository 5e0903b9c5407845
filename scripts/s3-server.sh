#!/usr/bin/env bash
# A real S3 server for the archive tests: Ceph's RADOS Gateway on a one-monitor, one-OSD cluster that keeps its
# data in memory, everything (config, keyrings, data, logs, pids, sockets) under one state directory.
#
#   scripts/s3-server.sh start [STATE-DIR]   installs Ceph when missing (scripts/install-deps.sh --s3), starts the
#                                           cluster and the gateway on a free port of 127.0.0.1, creates a user,
#                                           and writes STATE-DIR/env: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
#                                           AWS_SECRET_ACCESS_KEY, AWS_REGION (source it). Ready in ~12 s.
#   scripts/s3-server.sh stop [STATE-DIR]    stops the three daemons and removes STATE-DIR (and so every object,
#                                           locked ones included: nothing else can delete those).
#
# STATE-DIR defaults to .build/s3. Facts behind the configuration: ../shared/S3.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command=${1:-}
state=$(realpath -m "${2:-.build/s3}")

stop() {
    # The daemons remove their pid files as they exit: read them all first.
    local pids=()
    for name in rgw osd mon; do
        [ -f "$state/$name.pid" ] && pids+=("$(cat "$state/$name.pid")")
    done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$state"
}

case "$command" in
stop)
    stop
    exit 0
    ;;
start) ;;
*)
    echo "usage: $0 start|stop [STATE-DIR]" >&2
    exit 64
    ;;
esac

command -v radosgw >/dev/null 2>&1 || bash scripts/install-deps.sh --s3
[ -d "$state" ] && stop
mkdir -p "$state"/{mon,osd,rgw,run,log}
chmod 700 "$state"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
mon_port=$(free_port)
rgw_port=$(free_port)
fsid=$(cat /proc/sys/kernel/random/uuid)
conf=$state/ceph.conf
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
ms client mode = crc secure
ms mon service mode = crc secure
ms service mode = crc secure
ms mon cluster mode = crc secure
ms cluster mode = crc secure
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
run dir = $state/run
admin socket = $state/run/\$name.asok
log file = $state/log/\$name.log
keyring = $state/keyring
[mon.a]
mon data = $state/mon
[osd.0]
osd data = $state/osd
osd objectstore = memstore
memstore device bytes = 2147483648
[client.rgw.test]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $state/rgw
EOF
ceph_args=(--conf "$conf")

ceph-authtool --create-keyring "$state/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$state/monmap" >/dev/null
ceph-mon "${ceph_args[@]}" --mkfs -i a --monmap "$state/monmap" --keyring "$state/keyring"
ceph-mon "${ceph_args[@]}" -i a --pid-file "$state/mon.pid"
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(ceph "${ceph_args[@]}" osd new "$osd_uuid")
[ "$osd_id" = 0 ] || { echo "s3-server: expected OSD 0, got $osd_id" >&2; exit 1; }
ceph-osd "${ceph_args[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$state/log/mkfs.log"
ceph-osd "${ceph_args[@]}" -i 0 --pid-file "$state/osd.pid"
radosgw "${ceph_args[@]}" -n client.rgw.test --pid-file "$state/rgw.pid"

endpoint=http://127.0.0.1:$rgw_port
for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$endpoint/" && break
    sleep 0.1
done
curl -sf -o /dev/null "$endpoint/" || {
    echo "s3-server: the gateway did not answer at $endpoint; logs in $state/log" >&2
    exit 1
}
access=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F')
secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
radosgw-admin "${ceph_args[@]}" user create --uid=tests --display-name=tests --access-key="$access" \
    --secret-key="$secret" >/dev/null
umask 077
cat >"$state/env" <<EOF
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=us-east-1
EOF
echo "s3-server: $endpoint (credentials in $state/env)"
