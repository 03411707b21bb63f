#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for seqfixity's cluster tests and for trying the slurm profile.
#
#   bash scripts/slurm-local-cluster.sh start    # install if missing, start, wait until the node is idle
#   bash scripts/slurm-local-cluster.sh status   # which daemons run, sinfo; exit 0 only if the node is usable
#   bash scripts/slurm-local-cluster.sh stop     # cancel jobs, stop every daemon by its PID
#   bash scripts/slurm-local-cluster.sh env      # print `export SLURM_CONF=...` for other shells
#
# Debian 12, root, no systemd. Daemons run in the background with their PIDs, logs, configuration and data under
# SEQFIXITY_SLURM_DIR (default /tmp/seqfixity-slurm): munged, MariaDB on 127.0.0.1, slurmdbd (accounting, which is
# what `sacct` and therefore snakemake-executor-plugin-slurm need to see jobs finish), slurmctld and slurmd.
# `start` and `stop` are idempotent. Settings (environment): SEQFIXITY_SLURM_DIR, SEQFIXITY_SLURM_CPUS (2),
# SEQFIXITY_SLURM_PARTITION (debug), SEQFIXITY_SLURM_DB_PORT (3307), SEQFIXITY_SLURM_START_TIMEOUT (60 s).
set -euo pipefail

STATE="${SEQFIXITY_SLURM_DIR:-/tmp/seqfixity-slurm}"
CPUS="${SEQFIXITY_SLURM_CPUS:-2}"
PARTITION="${SEQFIXITY_SLURM_PARTITION:-debug}"
DB_PORT="${SEQFIXITY_SLURM_DB_PORT:-3307}"
START_TIMEOUT="${SEQFIXITY_SLURM_START_TIMEOUT:-60}"
CLUSTER=seqfixity
ACCOUNT=seqfixity
NODE="$(hostname -s)"
CONF_DIR="$STATE/etc"
export SLURM_CONF="$CONF_DIR/slurm.conf"
MUNGE_SOCKET="$STATE/munge/munge.socket.2"
DB_SOCKET="$STATE/mysql/mysqld.sock"
DB_PASSWORD_FILE="$STATE/etc/db-password"
APT_PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)   # start order; stop runs it backwards

say() { echo "slurm-local-cluster: $*" >&2; }
die() { say "$*"; exit 1; }

pid_of() {  # the PID of daemon $1 if it is running, else nothing (a recycled PID of another program is not it)
  local file="$STATE/run/$1.pid" pid
  [ -s "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; then echo "$pid"; fi
}

install_packages() {
  local missing=() package
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  apt-get update -qq
  # apt must not try to start services here (no systemd); policy-rc.d already refuses on most containers.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

launch() {  # launch NAME COMMAND...: run a foreground daemon in the background, record its PID, log to a file
  local name="$1"; shift
  if [ -n "$(pid_of "$name")" ]; then return 0; fi
  setsid "$@" </dev/null >>"$STATE/log/$name.out" 2>&1 &
  echo $! >"$STATE/run/$name.pid"
}

show_logs() { tail -n 20 "$STATE"/log/*.log "$STATE"/log/*.out >&2 2>/dev/null || true; }

wait_for() {  # wait_for WHAT DAEMON COMMAND...: poll COMMAND until it succeeds; fail if DAEMON dies or on timeout
  local what="$1" daemon="$2" deadline=$((SECONDS + START_TIMEOUT)); shift 2
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$STATE/run/$daemon.pid")" 2>/dev/null; then   # (its name may still be setpriv's)
      show_logs
      die "$daemon exited while starting; logs in $STATE/log"
    fi
    if [ $SECONDS -ge $deadline ]; then
      show_logs
      die "timed out after ${START_TIMEOUT}s waiting for $what; logs in $STATE/log"
    fi
    sleep 0.5
  done
}

memory_mb() {  # RealMemory: 90% of this machine's memory, so a job never asks for more than exists
  awk '/^MemTotal:/ { printf "%d\n", $2 / 1024 * 0.9 }' /proc/meminfo
}

write_configs() {
  mkdir -p "$CONF_DIR" "$STATE"/{run,log,ctld,spool,munge,mysql}
  chmod 755 "$STATE"
  if [ ! -s "$DB_PASSWORD_FILE" ]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DB_PASSWORD_FILE")
  fi
  cat >"$CONF_DIR/slurm.conf" <<EOF
# Written by scripts/slurm-local-cluster.sh: a one-node test cluster.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
SlurmdParameters=config_overrides
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.daemon.pid
SlurmdPidFile=$STATE/run/slurmd.daemon.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
# With slurmdbd this names the munge socket that commands such as sacct use to reach it.
AccountingStoragePass=$MUNGE_SOCKET
JobCompType=jobcomp/none
# sacct shows the comment the executor plugin gives each job (rule and wildcards).
AccountingStoreFlags=job_comment
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$(memory_mb) State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  (umask 077; cat >"$CONF_DIR/slurmdbd.conf" <<EOF
# Written by scripts/slurm-local-cluster.sh: accounting for the one-node test cluster.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=$STATE/run/slurmdbd.daemon.pid
LogFile=$STATE/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$(cat "$DB_PASSWORD_FILE")
StorageLoc=slurm_acct_db
EOF
)
  chmod 600 "$CONF_DIR/slurmdbd.conf"
  # Client commands (sinfo, sbatch, sacct) on this machine find the configuration without SLURM_CONF.
  mkdir -p /etc/slurm
  if [ ! -e /etc/slurm/slurm.conf ] || [ "$(readlink /etc/slurm/slurm.conf)" = "$CONF_DIR/slurm.conf" ]; then
    ln -sfn "$CONF_DIR/slurm.conf" /etc/slurm/slurm.conf
  else
    say "/etc/slurm/slurm.conf exists and is not ours: export SLURM_CONF=$CONF_DIR/slurm.conf in other shells"
  fi
}

start_munge() {
  chown munge:munge "$STATE/munge"
  chmod 755 "$STATE/munge"   # clients (slurm commands, any user) reach the socket; the key itself is mode 600
  if [ ! -s "$STATE/munge/munge.key" ]; then
    mungekey --create --keyfile="$STATE/munge/munge.key" --force
    chown munge:munge "$STATE/munge/munge.key"
    chmod 600 "$STATE/munge/munge.key"
  fi
  [ -n "$(pid_of munged)" ] || rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  launch munged setpriv --reuid=munge --regid=munge --init-groups munged --foreground --key-file="$STATE/munge/munge.key" \
    --socket="$MUNGE_SOCKET" --pid-file="$STATE/munge/munged.pid" --seed-file="$STATE/munge/munged.seed" \
    --log-file="$STATE/log/munged.log"
  wait_for munged munged munge --socket="$MUNGE_SOCKET" -n
}

mysql_root() { mariadb --no-defaults --protocol=socket --socket="$DB_SOCKET" -u root "$@"; }

start_mariadb() {
  chown mysql:mysql "$STATE/mysql"
  if [ ! -d "$STATE/mysql/data/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$STATE/mysql/data" --user=mysql --skip-test-db \
      --auth-root-authentication-method=socket >"$STATE/log/mariadb-install.out" 2>&1 \
      || die "mariadb-install-db failed; see $STATE/log/mariadb-install.out"
  fi
  launch mariadbd mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql/data" --socket="$DB_SOCKET" \
    --bind-address=127.0.0.1 --port="$DB_PORT" --pid-file="$STATE/mysql/mariadbd.pid" \
    --log-error="$STATE/log/mariadbd.log" --skip-name-resolve --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900
  wait_for MariaDB mariadbd mysql_root -e "SELECT 1"
  local password; password="$(cat "$DB_PASSWORD_FILE")"
  mysql_root <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$password';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
}

node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }

node_idle() { [ "$(node_state)" = idle ]; }

node_registered() { case "$(node_state)" in ""|unknown*) return 1 ;; *) return 0 ;; esac; }

setup_accounts() {  # the account and users the executor plugin finds with sacctmgr
  sacctmgr -i add cluster "$CLUSTER" >/dev/null 2>&1 || true
  sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description="seqfixity tests" Organization=seqfixity \
    >/dev/null 2>&1 || true
  local user
  for user in root ${SUDO_USER:-}; do
    sacctmgr -i add user "$user" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null 2>&1 || true
  done
  sacctmgr -n -P show assoc where user=root account="$ACCOUNT" format=account | grep -qx "$ACCOUNT" \
    || die "sacctmgr could not add account $ACCOUNT for root"
}

start() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"
  install_packages
  write_configs
  start_munge
  start_mariadb
  launch slurmdbd slurmdbd -D
  wait_for slurmdbd slurmdbd sacctmgr -n show cluster
  sacctmgr -i add cluster "$CLUSTER" >/dev/null 2>&1 || true
  launch slurmctld slurmctld -D -i
  wait_for slurmctld slurmctld scontrol ping
  launch slurmd slurmd -D -N "$NODE"
  wait_for "node $NODE to register" slurmd node_registered
  case "$(node_state)" in
    # A node left down or drained by an earlier run (or a kill) comes back once told to.
    down*|drain*|fail*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  wait_for "node $NODE to be idle" slurmd node_idle
  setup_accounts
  say "ready: partition $PARTITION, node $NODE ($CPUS CPUs), account $ACCOUNT; SLURM_CONF=$SLURM_CONF"
}

stop_daemon() {
  local name="$1" pid deadline
  pid="$(pid_of "$name")"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (PID $pid) ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$STATE/run/$name.pid"
}

stop() {
  # Jobs first, so that no slurmstepd outlives its slurmd.
  if [ -n "$(pid_of slurmctld)" ]; then
    local jobs
    jobs="$(squeue -h -o %i 2>/dev/null || true)"
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      local deadline=$((SECONDS + 20))
      while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
    fi
  fi
  local i
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop_daemon "${DAEMONS[$i]}"; done
  # Leave no config pointing at a stopped controller: with it, every `scontrol` (which the Snakemake
  # SLURM plugin runs whenever Snakemake starts, for any executor) waits 9 s for a reply.
  if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$CONF_DIR/slurm.conf" ]; then
    rm -f /etc/slurm/slurm.conf
  fi
  say "stopped"
}

status() {
  local name pid rc=0
  for name in "${DAEMONS[@]}"; do
    pid="$(pid_of "$name")"
    if [ -n "$pid" ]; then echo "$name running (PID $pid)"; else echo "$name not running"; rc=1; fi
  done
  [ $rc -eq 0 ] && sinfo -N -l 2>/dev/null
  [ $rc -eq 0 ] && node_idle_or_busy || rc=1
  return $rc
}

node_idle_or_busy() { case "$(node_state)" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$SLURM_CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
