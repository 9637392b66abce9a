#!/usr/bin/env bash
# Single-node SLURM cluster for local runs / CI (containers without systemd).
# Usage: scripts/slurm_local.sh start|stop|status
# Needs root. Writes /etc/slurm/{slurm,slurmdbd}.conf so sbatch/submitit find
# them without SLURM_CONF; state, spool, pids and logs live under $DIR.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/tmp/grokbench-slurm}
NODE=$(hostname -s)
WAIT_S=${SLURM_LOCAL_WAIT_S:-60}
MUNGE_PID=/run/munge/munged.pid
DB_PID=/run/mysqld/mysqld.pid

die() {
  echo "slurm_local: ERROR: $*" >&2
  for f in /var/log/munge/munged.log "$DIR"/log/*.log; do
    [[ -f $f ]] && { echo "--- tail $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}

alive() { [[ -s $1 ]] && kill -0 "$(<"$1")" 2>/dev/null; }

# Poll a command until it succeeds or WAIT_S runs out.
wait_for() {
  local what=$1 t=0; shift
  until "$@" >/dev/null 2>&1; do
    ((t++ < WAIT_S * 2)) || die "timed out after ${WAIT_S}s waiting for $what"
    sleep 0.5
  done
}

install_pkgs() {
  local c missing=0
  for c in slurmctld slurmd sbatch munged slurmdbd mariadbd; do
    command -v "$c" >/dev/null || missing=1
  done
  ((missing)) || return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # slurmdbd+mariadb: submitit polls job state with sacct and, without
  # accounting, waits forever on jobs that die without writing a result.
  apt-get install -y -qq --no-install-recommends \
    slurm-wlm munge slurmdbd mariadb-server >/dev/null
}

write_conf() {
  mkdir -p "$DIR"/{state,spool,log,run} /etc/slurm
  local mem
  # Leave headroom: slurmd drains the node if RealMemory exceeds what it sees.
  mem=$(free -m | awk '/^Mem:/ {print int($2 * 0.9)}')
  # linuxproc + task/none avoids any cgroup dependency inside containers.
  cat >/etc/slurm/slurm.conf <<EOF
ClusterName=grokbench
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
# submitit requeues on preemption/timeout via --requeue + scontrol requeue.
JobRequeue=1
# Requeued jobs stay pending for cred_expire seconds (default 120).
AuthInfo=cred_expire=15
MailProg=/bin/true
NodeName=$NODE CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  # StorageUser=root works via MariaDB's unix_socket auth: no password needed.
  cat >/etc/slurm/slurmdbd.conf <<EOF
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/run/slurmdbd.pid
EOF
  chmod 600 /etc/slurm/slurmdbd.conf  # slurmdbd refuses a readable config
}

start_munge() {
  alive "$MUNGE_PID" && return 0
  mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    if command -v mungekey >/dev/null; then mungekey --create --force
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
  fi
  # munged refuses to start unless ownership/permissions are strict.
  chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
  chmod 0700 /etc/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  chmod 0400 /etc/munge/munge.key
  runuser -u munge -- munged || die "munged failed to start"
  munge -n | unmunge >/dev/null || die "munge round-trip failed"
}

start_db() {
  if ! alive "$DB_PID"; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    # mariadbd does not daemonize; setsid detaches it from our session.
    setsid mariadbd --user=mysql --skip-networking --pid-file="$DB_PID" \
      >"$DIR/log/mariadb.log" 2>&1 </dev/null &
    wait_for mariadb mariadb -e 'select 1'
  fi
  alive "$DIR/run/slurmdbd.pid" || slurmdbd || die "slurmdbd failed to start"
  wait_for slurmdbd sacctmgr -n list cluster
  # slurmctld only reports to slurmdbd for clusters registered there.
  sacctmgr -n -P list cluster format=cluster | grep -qx grokbench ||
    sacctmgr -i add cluster grokbench >/dev/null
}

node_state() { sinfo -h -n "$NODE" -o '%t' 2>/dev/null || true; }

wait_ready() {
  local t=0 state
  while ((t < WAIT_S)); do
    state=$(node_state)
    case $state in
      idle*|mix*|alloc*) break ;;
      # Stale state from a previous run can leave the node down/drained.
      down*|drain*|drng*|fail*) scontrol update nodename="$NODE" state=resume 2>/dev/null || true ;;
    esac
    sleep 1; t=$((t + 1))
  done
  [[ $(node_state) =~ ^(idle|mix|alloc) ]] ||
    die "node $NODE not idle after ${WAIT_S}s (state: ${state:-none})"
  timeout "$WAIT_S" srun -N1 -t 1 true || die "srun smoke test failed"
}

start() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  install_pkgs
  local pf running=1
  for pf in "$MUNGE_PID" "$DB_PID" "$DIR"/run/{slurmdbd,slurmctld,slurmd}.pid; do
    alive "$pf" || running=0
  done
  if ((running)); then wait_ready; echo "slurm_local: already running"; return 0; fi
  write_conf
  start_munge
  start_db
  alive "$DIR/run/slurmctld.pid" || slurmctld || die "slurmctld failed to start"
  alive "$DIR/run/slurmd.pid" || slurmd || die "slurmd failed to start"
  wait_ready
  echo "slurm_local: up (node $NODE, conf /etc/slurm/slurm.conf, logs $DIR/log)"
}

# Stop via pidfiles so we only touch daemons this script started.
stop_one() {
  local pidf=$1 pid i
  [[ -s $pidf ]] || return 0
  pid=$(<"$pidf")
  kill -TERM "$pid" 2>/dev/null || { rm -f "$pidf"; return 0; }
  for i in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidf"
}

case ${1:-} in
  start) start ;;
  stop)
    for pf in "$DIR"/run/{slurmd,slurmctld,slurmdbd}.pid "$DB_PID" "$MUNGE_PID"; do
      stop_one "$pf"
    done
    echo "slurm_local: stopped" ;;
  status) sinfo; squeue ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
