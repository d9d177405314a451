// Where a guest's time went, read from the lines it prints on its console with the guest's own clock: the
// uptime at which /init starts node and at which node has loaded the checks (entry.mjs), each `vfio-uapi`
// process with its wall time (cli-runner.ts), and the uptime at which the checks are done. The host prints it
// beside each route, so a slow run shows whether boot, node or the commands grew.

export interface CliTime {
  command: string;
  seconds: number;
}

export interface GuestTimeline {
  /** Uptime at which /init started node: the kernel's boot, module loading and device setup. */
  nodeStarted?: number;
  /** Uptime at which the first node process had loaded the guest's checks. */
  nodeReady?: number;
  /** Uptime at which the checks were done (results written), just before the guest powers off. */
  checksDone?: number;
  /** Each `vfio-uapi` process the checks ran, in order. */
  cli: CliTime[];
}

export function parseTimeline(console: string): GuestTimeline {
  const uptime = (what: string) => {
    // Not anchored: the serial console may run a line on from the firmware's ("Booting from ROM..vfiotest: …").
    const m = new RegExp(`vfiotest: ${what} at uptime ([0-9.]+) s`).exec(console);
    return m ? Number(m[1]) : undefined;
  };
  const timeline: GuestTimeline = { cli: [] };
  const started = uptime('starting node');
  const ready = uptime('node ready');
  const done = uptime('checks done');
  if (started !== undefined) timeline.nodeStarted = started;
  if (ready !== undefined) timeline.nodeReady = ready;
  if (done !== undefined) timeline.checksDone = done;
  for (const m of console.matchAll(/vfiotest: vfio-uapi (\S+) exit \S+ in ([0-9.]+) s/g))
    timeline.cli.push({ command: m[1]!, seconds: Number(m[2]) });
  return timeline;
}

/** One line: "boot to node 5.0 s, node loads the checks 4.4 s, 5 vfio-uapi processes 9.2 s (info 1.9, …), other checks 3.1 s". */
export function describeTimeline(t: GuestTimeline): string {
  const parts: string[] = [];
  const s = (n: number) => `${n.toFixed(1)} s`;
  if (t.nodeStarted !== undefined) parts.push(`boot to node ${s(t.nodeStarted)}`);
  if (t.nodeStarted !== undefined && t.nodeReady !== undefined)
    parts.push(`node loads the checks ${s(t.nodeReady - t.nodeStarted)}`);
  const cli = t.cli.reduce((sum, c) => sum + c.seconds, 0);
  if (t.cli.length)
    parts.push(
      `${t.cli.length} vfio-uapi process${t.cli.length > 1 ? 'es' : ''} ${s(cli)} (${t.cli.map((c) => `${c.command} ${c.seconds.toFixed(1)}`).join(', ')})`,
    );
  if (t.nodeReady !== undefined && t.checksDone !== undefined)
    parts.push(`other checks ${s(t.checksDone - t.nodeReady - cli)}`);
  return parts.length ? parts.join(', ') : 'no timestamps on the console';
}
