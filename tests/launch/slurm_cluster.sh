# A one-node SLURM cluster in a folder of its own, for the slurm tests (sourced after lib.sh):
# munged, slurmctld and slurmd started as root, with their key, sockets, state, spool, logs and
# scratch in that folder and ports that were free, so it touches neither /etc/slurm nor a cluster
# already running, and several can run at once. No cgroup plugins (those need systemd):
# processes are tracked through /proc (proctrack/linuxproc), tasks are not bound (task/none).
# SLURM_CONF points sbatch, srun and sinfo at it; DIR/jobs is there for the jobs' TMPDIR.
#
# slurm_cluster_start DIR: 0 when the node is up and idle, else 1 with slurm_cluster_problem set.
# slurm_cluster_stop: ends the daemons started (the caller's EXIT trap; safe to call twice).
slurm_cluster_dir=
# The daemons are in /usr/sbin, which a root shell that is not a login shell may lack.
[[ :$PATH: == *:/usr/sbin:* ]] || PATH=$PATH:/usr/sbin

# Why the cluster cannot run here, or nothing when it can.
slurm_cluster_unavailable() {
  [[ $(id -u) == 0 ]] || { echo "the SLURM daemons need root (CI runs as root)"; return; }
  local b
  for b in munged slurmctld slurmd sbatch srun sinfo; do
    command -v "$b" >/dev/null ||
      { echo "$b is not installed (DYSCO_SETUP_SLURM=1 launch/setup.sh installs SLURM)"; return; }
  done
}

# A TCP port on 127.0.0.1 that nothing listens on, from the range below the ephemeral ports.
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 12000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

slurm_cluster_start() {
  local dir=$1 node ctld_port slurmd_port cpus
  slurm_cluster_dir=$dir
  node=$(hostname -s)
  mkdir -p "$dir"/{munge,state,spool/"$node",log,tmp,jobs}
  chmod 755 "$dir/munge"  # munged wants its socket folder searchable by all, writable by root alone
  ctld_port=$(free_port) && slurmd_port=$(free_port) || { slurm_cluster_problem="no free port"; return 1; }
  [[ $ctld_port != "$slurmd_port" ]] || slurmd_port=$((ctld_port + 1))
  # The node's CPUs (nproc without OMP_NUM_THREADS, which it would report instead), at least 2
  # so a 2-task job fits even a one-core machine; config_overrides makes slurmd take the number.
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
  ((cpus >= 2)) || cpus=2
  head -c 1024 /dev/urandom >"$dir/munge/munge.key"
  chmod 600 "$dir/munge/munge.key"
  # TmpFS holds the PMIx server's folders (named by job id): in our folder, and with job ids from
  # a random start, two such clusters never share them.
  cat >"$dir/slurm.conf" <<CONF
ClusterName=dysco-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
TmpFS=$dir/tmp
FirstJobId=$((1000 + RANDOM * 1000))
MailProg=/bin/true
# sbatch --wait polls every 2 s, and lengthens the interval (to 32 s) only while it stays below a
# third of MinJobAge: 6 s keeps a short job's wait short.
MinJobAge=6
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  export SLURM_CONF=$dir/slurm.conf
  munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" 2>"$dir/log/munged.err" ||
    { slurm_cluster_problem="munged did not start: $(tail -n 3 "$dir/log/munged.err" "$dir/log/munged.log")"; return 1; }
  slurmctld -f "$SLURM_CONF" -i 2>"$dir/log/slurmctld.err" ||
    { slurm_cluster_problem="slurmctld did not start: $(tail -n 3 "$dir/log/slurmctld.err")"; return 1; }
  slurmd -f "$SLURM_CONF" 2>"$dir/log/slurmd.err" ||
    { slurm_cluster_problem="slurmd did not start: $(tail -n 3 "$dir/log/slurmd.err")"; return 1; }
  local t0=$EPOCHREALTIME state
  until state=$(sinfo -h -n "$node" -o %T 2>/dev/null) && [[ $state == idle ]]; do
    past_deadline "$t0" 30 && {
      slurm_cluster_problem="node $node is '$state' 30 s after the start: $(tail -n 3 "$dir/log/slurmctld.log" "$dir/log/slurmd.log")"
      return 1
    }
    sleep 0.2
  done
}

slurm_cluster_stop() {
  local dir=$slurm_cluster_dir f pid t0
  [[ -n $dir ]] || return 0
  slurm_cluster_dir=
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    [[ -f $dir/$f ]] && pid=$(cat "$dir/$f") && kill "$pid" 2>/dev/null || continue
    t0=$EPOCHREALTIME
    while alive "$pid"; do
      past_deadline "$t0" 10 && { kill -9 "$pid" 2>/dev/null; break; }
      sleep 0.1
    done
  done
}
