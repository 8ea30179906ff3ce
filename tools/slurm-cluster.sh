#!/usr/bin/env bash
# A single-node SLURM cluster on localhost, from Debian's packages, for the integration test
# (tests/test_slurm.py) and for trying profiles/slurm by hand. Nothing here is needed on a
# real cluster.
#
#   tools/slurm-cluster.sh start    install what is missing (apt-get, as root), write the
#                                   configuration, start munged, mariadbd, slurmdbd, slurmctld
#                                   and slurmd, wait until the node is idle
#   tools/slurm-cluster.sh stop     cancel every job, stop each daemon started by `start` by its
#                                   process id (TERM, then KILL), remove the configuration
#   tools/slurm-cluster.sh status   the daemons' process ids, sinfo and squeue
#
# There is no systemd: every daemon is started by hand in the foreground of its own session
# and its process id kept in $SLURM_CLUSTER_DIR/pids/. Slurm's configuration has to be at
# its default place, /etc/slurm/ (the jobs' own `srun` does not see SLURM_CONF), so `start`
# refuses to run where a slurm.conf it did not write exists, and only one such cluster runs
# on a machine at a time.
#
# Settings (environment):
#   SLURM_CLUSTER_DIR         state, logs and process ids (default /tmp/mobilenet-repro-slurm)
#   SLURM_CLUSTER_ACCOUNTING  1 (default): slurmdbd and MariaDB, so `sacct` works;
#                             0: no accounting; use `--slurm-status-command squeue`
#   SLURM_CLUSTER_ACCOUNT     account created for root when accounting is on (default mobilenet)
#   SLURM_CLUSTER_PORT        first of four TCP ports on 127.0.0.1 (default 16817): slurmctld,
#                             slurmd, slurmdbd, MariaDB
#
# Exit status of start: 0 running; 2 cannot be started here (not root, packages unavailable,
# another slurm.conf): callers skip; 1 a daemon failed (its log is printed).
set -euo pipefail

STATE=${SLURM_CLUSTER_DIR:-/tmp/mobilenet-repro-slurm}
ACCOUNTING=${SLURM_CLUSTER_ACCOUNTING:-1}
ACCOUNT=${SLURM_CLUSTER_ACCOUNT:-mobilenet}
PORT=${SLURM_CLUSTER_PORT:-16817}
CLUSTER=mobilenetrepro
CONF_DIR=/etc/slurm
MARKER="# written by mobilenet-repro tools/slurm-cluster.sh"
CTLD_PORT=$PORT
SLURMD_PORT=$((PORT + 1))
DBD_PORT=$((PORT + 2))
MYSQL_PORT=$((PORT + 3))
DB_PASS=mobilenet-repro-test
MUNGE_SOCKET=/run/munge/munge.socket.2
# Daemons in start order (stop goes the other way).
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

log() { echo "slurm-cluster: $*" >&2; }
cannot() {
	log "cannot start: $*"
	exit 2
}
die() {
	log "failed: $*"
	exit 1
}

pid_of() { # the recorded pid of a daemon, if that process still runs that program
	local name=$1 file="$STATE/pids/$1.pid" pid comm
	[[ -s $file ]] || return 1
	pid=$(<"$file")
	[[ -r /proc/$pid/comm ]] || return 1
	comm=$(<"/proc/$pid/comm")
	[[ $comm == "$name"* ]] || return 1 # comm is cut at 15 characters
	echo "$pid"
}

launch() { # launch NAME LOGFILE CMD...: start CMD in its own session, record its pid
	local name=$1 logfile=$2
	shift 2
	setsid "$@" >>"$logfile" 2>&1 </dev/null &
	echo $! >"$STATE/pids/$name.pid"
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...: poll CMD until it succeeds
	local seconds=$1 i
	shift 2 # $2 only tells the reader what is awaited
	for ((i = 0; i < seconds * 5; i++)); do
		if timeout 10 "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	return 1
}

fail_with_log() { # fail_with_log DAEMON LOGFILE WHAT
	log "$1: $3; last lines of $2:"
	tail -n 30 "$2" >&2 || true
	cmd_stop
	exit 1
}

install_packages() {
	local missing=() pkg
	local wanted=(slurm-wlm munge)
	[[ $ACCOUNTING == 1 ]] && wanted+=(slurmdbd mariadb-server)
	for pkg in "${wanted[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	command -v apt-get >/dev/null || cannot "packages ${missing[*]} missing and no apt-get"
	log "installing ${missing[*]} (apt-get)"
	# Keep the packages' init scripts from starting daemons of their own: only ours run.
	local policy=/usr/sbin/policy-rc.d created_policy=0
	if [[ ! -e $policy ]]; then
		# shellcheck disable=SC2064  # the path now, not at exit
		trap "rm -f $policy" EXIT
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
	fi
	local rc=0
	{
		apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				"${missing[@]}"
	} >"$STATE/log/apt-get.log" 2>&1 || rc=$?
	if [[ $created_policy == 1 ]]; then
		rm -f "$policy"
		trap - EXIT
	fi
	if [[ $rc != 0 ]]; then
		tail -n 5 "$STATE/log/apt-get.log" >&2
		cannot "apt-get install ${missing[*]} failed (see $STATE/log/apt-get.log)"
	fi
}

node_line() { # NodeName line for localhost from what slurmd detects, memory kept below it
	local detected cpus boards sockets cores threads mem
	detected=$(slurmd -C | head -n 1)
	cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$detected")
	boards=$(sed -n 's/.*Boards=\([0-9]*\).*/\1/p' <<<"$detected")
	sockets=$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$detected")
	cores=$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$detected")
	threads=$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$detected")
	mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$detected")
	[[ -n $cpus && -n $mem ]] || die "cannot read the node's CPUs and memory from 'slurmd -C': $detected"
	echo "NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Boards=${boards:-1}" \
		"SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus}" \
		"ThreadsPerCore=${threads:-1} RealMemory=$((mem * 9 / 10)) State=UNKNOWN"
}

write_config() {
	local accounting_lines
	if [[ $ACCOUNTING == 1 ]]; then
		accounting_lines="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT"
	else
		accounting_lines="AccountingStorageType=accounting_storage/none"
	fi
	mkdir -p "$CONF_DIR"
	cat >"$CONF_DIR/slurm.conf" <<EOF
$MARKER (state in $STATE)
ClusterName=$CLUSTER
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups in a container: track processes by parent id, bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Memory is enforced by sampling each step every second (no cgroups): a job above its
# --mem is killed and ends OUT_OF_MEMORY, as on a real cluster.
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
$accounting_lines
JobCompType=jobcomp/none
# sacct shows the plugin's --comment (rule and wildcards of each job).
AccountingStoreFlags=job_comment
# Finished jobs stay visible to squeue long enough for Snakemake's status checks.
MinJobAge=300
KillWait=5
InactiveLimit=0
ReturnToService=2
$(node_line)
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
	if [[ $ACCOUNTING == 1 ]]; then
		cat >"$CONF_DIR/slurmdbd.conf" <<EOF
$MARKER (state in $STATE)
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
		chmod 600 "$CONF_DIR/slurmdbd.conf"
	fi
}

ours() { # is the file absent or written by this script?
	[[ ! -e $1 ]] || head -n 1 "$1" | grep -qF "$MARKER"
}

start_munge() {
	# The default socket: every Slurm component (sacctmgr's connection to slurmdbd, the srun
	# inside each job) finds it without settings. A munged already answering there is used.
	if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
		log "using the munged already running on $MUNGE_SOCKET"
		return 0
	fi
	local dir=$STATE/munge
	install -d -o munge -g munge -m 0755 "$dir" "$(dirname "$MUNGE_SOCKET")"
	if [[ ! -s $dir/munge.key ]]; then
		dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
	fi
	chown munge:munge "$dir/munge.key"
	chmod 0400 "$dir/munge.key"
	touch "$STATE/log/munged.log"
	chown munge:munge "$STATE/log/munged.log"
	launch munged "$STATE/log/munged.log" \
		setpriv --reuid=munge --regid=munge --clear-groups \
		munged --foreground --force --key-file="$dir/munge.key" \
		--socket="$MUNGE_SOCKET" --seed-file="$dir/munge.seed" \
		--log-file="$STATE/log/munged.log" --pid-file="$dir/munged.pid"
	wait_for 10 munged bash -c "munge -n | unmunge" ||
		fail_with_log munged "$STATE/log/munged.log" "no credential round trip within 10 s"
}

start_mariadb() {
	local datadir=$STATE/mysql sock=$STATE/run/mysqld.sock
	if [[ ! -d $datadir/mysql ]]; then
		mariadb-install-db --no-defaults --datadir="$datadir" --user=root \
			--auth-root-authentication-method=socket --skip-test-db \
			>"$STATE/log/mariadb-install-db.log" 2>&1 ||
			fail_with_log mariadbd "$STATE/log/mariadb-install-db.log" "mariadb-install-db failed"
	fi
	launch mariadbd "$STATE/log/mariadbd.log" \
		mariadbd --no-defaults --datadir="$datadir" --socket="$sock" --port="$MYSQL_PORT" \
		--bind-address=127.0.0.1 --skip-name-resolve --user=root \
		--pid-file="$STATE/run/mariadbd.pid" --innodb-buffer-pool-size=64M \
		--innodb-lock-wait-timeout=900
	wait_for 30 mariadbd mariadb --no-defaults -S "$sock" -u root -e "SELECT 1" ||
		fail_with_log mariadbd "$STATE/log/mariadbd.log" "not answering within 30 s"
	mariadb --no-defaults -S "$sock" -u root -e "
		CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
		GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" ||
		fail_with_log mariadbd "$STATE/log/mariadbd.log" "cannot create the database user"
}

start_slurmdbd() {
	launch slurmdbd "$STATE/log/slurmdbd.out" slurmdbd -D
	wait_for 30 slurmdbd sacctmgr -n list cluster ||
		fail_with_log slurmdbd "$STATE/log/slurmdbd.log" "sacctmgr gets no answer within 30 s"
	sacctmgr -i add cluster "$CLUSTER" >/dev/null 2>&1 || true
}

start_slurmctld() {
	launch slurmctld "$STATE/log/slurmctld.out" slurmctld -D -c
	wait_for 30 slurmctld scontrol ping ||
		fail_with_log slurmctld "$STATE/log/slurmctld.log" "scontrol ping fails after 30 s"
}

start_slurmd() {
	launch slurmd "$STATE/log/slurmd.out" slurmd -D -N localhost
	wait_for 30 slurmd bash -c "sinfo -h -N -o %T | grep -qx idle" ||
		fail_with_log slurmd "$STATE/log/slurmd.log" "node not idle after 30 s ($(sinfo -h -N -o %T 2>&1))"
}

add_account() {
	sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" \
		Description="mobilenet-repro test" Organization=mobilenet-repro >/dev/null 2>&1 || true
	sacctmgr -i add user root Account="$ACCOUNT" Cluster="$CLUSTER" >/dev/null 2>&1 || true
	sacctmgr -n -s list user root format=account%64 | grep -qw "$ACCOUNT" ||
		die "account $ACCOUNT not added for root: $(sacctmgr -n -s list user root 2>&1)"
}

cmd_start() {
	[[ $(id -u) == 0 ]] || cannot "not root (needs to install packages, write /etc/slurm and run the daemons)"
	ours "$CONF_DIR/slurm.conf" ||
		cannot "$CONF_DIR/slurm.conf exists and was not written by this script (a real SLURM installation?)"
	local name
	for name in "${DAEMONS[@]}"; do
		if pid_of "$name" >/dev/null; then
			cannot "$name of an earlier start still runs (pid $(pid_of "$name")); run '$0 stop' first"
		fi
	done
	# Every start is a fresh cluster: no jobs, accounting records or logs of an earlier one.
	rm -rf "${STATE:?}"/{pids,log,run,slurmctld,slurmd,mysql,munge}
	mkdir -p "$STATE"/{pids,log,run,slurmctld,slurmd}
	install_packages
	for name in munged slurmctld slurmd; do
		command -v "$name" >/dev/null || cannot "$name not found after installing packages"
	done
	write_config
	start_munge
	if [[ $ACCOUNTING == 1 ]]; then
		start_mariadb
		start_slurmdbd
	fi
	start_slurmctld
	start_slurmd
	[[ $ACCOUNTING == 1 ]] && add_account
	log "running: $(cmd_pids | tr '\n' ' ')(state in $STATE)"
}

cmd_pids() {
	local name pid
	for name in "${DAEMONS[@]}"; do
		if pid=$(pid_of "$name"); then echo "$name=$pid"; fi
	done
}

stop_daemons() {
	local i name pid
	for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
		name=${DAEMONS[i]}
		pid=$(pid_of "$name") || {
			rm -f "$STATE/pids/$name.pid"
			continue
		}
		kill -TERM "$pid" 2>/dev/null || true
		wait_for 15 "$name to stop" bash -c "! kill -0 $pid" || {
			log "$name (pid $pid) ignored TERM; sending KILL"
			kill -KILL "$pid" 2>/dev/null || true
		}
		rm -f "$STATE/pids/$name.pid"
	done
}

cmd_stop() {
	[[ -d $STATE/pids ]] || {
		log "nothing to stop ($STATE/pids does not exist)"
		return 0
	}
	if pid_of slurmctld >/dev/null; then
		local jobs
		jobs=$(squeue -h -o %i 2>/dev/null || true)
		if [[ -n $jobs ]]; then
			# shellcheck disable=SC2086
			scancel $jobs 2>/dev/null || true
			# shellcheck disable=SC2016  # expanded by the inner bash
			wait_for 20 "jobs to end" bash -c '[[ -z $(squeue -h -t R,CG -o %i) ]]' || true
		fi
	fi
	stop_daemons
	if ours "$CONF_DIR/slurm.conf"; then rm -f "$CONF_DIR/slurm.conf"; fi
	if ours "$CONF_DIR/slurmdbd.conf"; then rm -f "$CONF_DIR/slurmdbd.conf"; fi
	log "stopped"
}

cmd_status() {
	cmd_pids
	if pid_of slurmctld >/dev/null; then
		sinfo
		squeue
	fi
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 64
	;;
esac
