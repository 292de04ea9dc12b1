#!/bin/bash
# The supervisor session of docs/supervisor-guide.md: a private mosquitto, `staffer run`, a
# scripted bridge (mosquitto_pub) and the ctl/audit commands; writes transcript.txt in WORK.
# Usage: docs/supervisor-session.sh [WORK_DIR]
set -u
WORK=${1:-$(mktemp -d)}; cd "$WORK"
# needs: staffer on PATH (e.g. .venv/bin), mosquitto, mosquitto_pub, curl
free() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
PORT=$(free); HP=$(free)
printf "listener $PORT 127.0.0.1\nallow_anonymous true\npersistence false\n" > mosq.conf
mosquitto -c mosq.conf > mosq.log 2>&1 & echo $! > mosq.pid
sleep 0.5
mkdir -p config daemon
cat > daemon/staffer.toml <<EOF
[mqtt]
url = "mqtt://127.0.0.1:$PORT"
username = "staffer"
[http]
port = $HP
[state]
path = "$WORK/daemon/state.db"
[planner]
max_moves_per_cycle = 6
EOF
cat > config/staffer.toml <<EOF
[mqtt]
url = "mqtt://127.0.0.1:$PORT"
username = "alice"
[state]
path = "$WORK/daemon/state.db"
EOF
(cd daemon && exec staffer run -c staffer.toml > daemon.log 2>&1) & echo $! > daemon.pid
until curl -sf http://127.0.0.1:$HP/readyz > /dev/null; do sleep 0.2; done
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
pub() { mosquitto_pub -p $PORT -q 1 -t "staffer/main/$1" -m "$2"; }
state() { pub "agents/$1/state" "{\"ts\":\"$(now)\",\"status\":\"$2\",\"queue\":\"$3\",\"skills\":[\"phone\",\"email\"]}"; }
for i in 0 1 2 3 4; do state p$i busy phone; done
for i in 00 01 02 03 04 05 06 07 08 09 10 11; do state e$i available email; done
pub metrics "{\"ts\":\"$(now)\",\"queues\":{\"phone\":{\"interval_s\":300,\"offered\":12,\"waiting\":8,\"aht_s\":240,\"answered\":4,\"answered_within_target\":1},\"chat\":{\"interval_s\":300,\"offered\":1,\"waiting\":0,\"aht_s\":480,\"answered\":1,\"answered_within_target\":1},\"email\":{\"interval_s\":300,\"offered\":1,\"waiting\":0,\"aht_s\":360,\"backlog\":3,\"oldest_age_s\":600}}}"
sleep 2
staffer ctl watch > watch.out 2> watch.err & echo $! > watch.pid
sleep 1.5
run() { echo "\$ $*"; "$@" 2>&1; echo "[exit $?]"; echo; }
# the open proposals' ids (and agents) as the daemon published them
ids() { staffer ctl proposals --json | python3 -c "import json,sys;print(' '.join(p['proposal_id'] for p in json.load(sys.stdin)['proposals']))"; }
agent_of() { staffer ctl proposals --json | python3 -c "import json,sys;print(next(p['agent'] for p in json.load(sys.stdin)['proposals'] if p['proposal_id']=='$1'))"; }
{
run staffer ctl status
run staffer ctl mode shadow --reason "first hour: watch only"
run staffer ctl replan
run staffer ctl plan
run staffer ctl proposals
set -- $(ids)
run staffer ctl approve $1
run staffer ctl pin phone --min 8 --ttl 15m --reason "mail-out at 10:00"
run staffer ctl lock e03 --reason "training at 11"
run staffer ctl overrides
run staffer ctl assign e05 phone --reason "VIP caller"
state e05 available phone
sleep 0.5
run staffer ctl assign e05 email --reason "undo: VIP call over"
run staffer ctl unlock e05
run staffer ctl --json target phone --sl 0.9 --target-s 15s --ttl 1h
run staffer ctl pin fax --max 1
run staffer ctl pin phone
run staffer ctl --url mqtt://127.0.0.1:1 plan
OID=$(staffer ctl --json overrides | python3 -c "import json,sys;print(next(o['override_id'] for o in json.load(sys.stdin)['overrides'] if o['action']=='target'))")
run staffer ctl cancel $OID
run staffer ctl mode approve --ttl permanent --reason "shadow hour over: approve each move"
run staffer ctl replan
run staffer ctl proposals
set -- $(ids)
run staffer ctl approve $1
run staffer ctl approve $1
run staffer ctl approve $2 $3
run staffer ctl reject $4 --reason "coaching session at 11"
run staffer ctl lock $(agent_of $5) --reason "stays on email today"
run staffer ctl approve $5
run staffer ctl approve p-000000000000
run staffer ctl --json approve --all
run staffer ctl approve --all
run staffer ctl mode auto --ttl permanent --reason "approve hour over"
run staffer ctl replan
run staffer audit --since 1h
run staffer audit --since 1h --supervisor planner
run staffer audit --since 1h --supervisor alice --format csv
run staffer audit --since 1h --supervisor planner --format json
} > transcript.txt
sleep 1
kill $(cat watch.pid)
echo '$ staffer ctl watch' >> transcript.txt; cat watch.err watch.out >> transcript.txt
kill $(cat daemon.pid); sleep 1; kill $(cat mosq.pid)
