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
