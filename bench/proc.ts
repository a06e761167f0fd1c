/** CPU of processes on this machine, from /proc (Linux): what the benchmarks that split a request's cost between Node and PostgreSQL read. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** ppid and utime + stime (clock ticks) of a process, or null when it is gone. */
export function procStat(pid: number): { ppid: number; ticks: number } | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // After "pid (comm) ": state, ppid, …, utime is the 14th field of the line, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** user + system CPU of a process so far, in ms, or null when it is gone. */
export function cpuMs(pid: number): number | null {
  const stat = procStat(pid);
  return stat && (stat.ticks * 1000) / CLK_TCK;
}

/**
 * The postmaster of the database server (the parent of `client`'s backend), or null when it is
 * not on this machine. Read while connected: the backend ends with the connection.
 */
export async function postmasterPid(client: { query(sql: string): Promise<{ rows: Array<{ pid: number }> }> }): Promise<number | null> {
  const stat = procStat((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  if (!stat) return null;
  const comm = fs.readFileSync(`/proc/${stat.ppid}/comm`, 'utf8').trim();
  return comm === 'postgres' || comm === 'postmaster' ? stat.ppid : null;
}

/** The database a client backend serves, from the title PostgreSQL gives it ("postgres: [cluster: ]user db host(port) state"); null for the server's own processes. */
export function backendDatabase(pid: number): string | null {
  try {
    const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return /^postgres: (?:[^:\s]+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])/.exec(title)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Ticks of the postmaster and of every process it started: the backends of `database` and the
 * server's own processes (WAL writer, checkpointer…), not the backends of other databases on the
 * same server.
 */
export function postgresTicks(postmaster: number, database: string): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = procStat(pid);
    if (!stat || (pid !== postmaster && stat.ppid !== postmaster)) continue;
    const served = pid === postmaster ? null : backendDatabase(pid);
    if (served === null || served === database) ticks.set(pid, stat.ticks);
  }
  return ticks;
}

/**
 * Ticks spent between two readings. A process that ended in between is left out (its last
 * moments are lost, not its whole life subtracted); one that started is counted from zero.
 */
export function ticksBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}
