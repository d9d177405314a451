/**
 * Every wait for the other side has a bound the user sets, and ends cleanly within it: a reader that stops
 * reading (a socket, the child of `migrate --processes 2`), a sender that stops sending, a listener or a
 * FIFO reader that never comes. The bounds here are 300 ms; the defaults are 60 s and runCli kills a case
 * after 30 s, so a bound that is not honoured fails the case. The devices end where the commit protocol
 * puts them: the source RUNNING (the line says so), a stopped child killed.
 */
import { execFileSync } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../runtime/helpers.js';
import { alive, childrenOf, hasStackTrace, runCli } from './run-cli.js';
import { headerLength } from './state-files.js';

const tmp = tempDir();
let state: Buffer;
beforeAll(async () => {
  const r = await runCli(['save', 'emulated:mlx5', tmp.file('state.vfio'), '--size', '4MiB', '--quiet']);
  expect([r.code, r.stderr]).toEqual([0, '']);
  state = readFileSync(tmp.file('state.vfio'));
});
afterAll(() => tmp.remove());

const lastLine = (text: string) => text.trim().split('\n').at(-1)!;

it('save to a socket whose reader stops reading: exit 7 after --io-timeout, the source RUNNING', async () => {
  const path = tmp.file('stall.sock');
  const held: Socket[] = [];
  const server = createServer((s) => {
    s.pause(); // accept, then read nothing
    held.push(s);
  }).listen(path);
  await new Promise((r) => server.once('listening', r));
  try {
    const r = await runCli([
      'save',
      'emulated:mlx5',
      `unix:${path}`,
      '--size',
      '64MiB',
      '--io-timeout',
      '300ms',
      '--quiet',
    ]);
    expect(r.timedOut).toBe(false);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /cannot write unix:.*stall\.sock: the reader took no data for 300 ms \(ETIMEDOUT; see --io-timeout\) — source emulated:mlx5 resumed, now RUNNING; the stream to unix:.* is incomplete/,
    );
    expect(r.code).toBe(7);
  } finally {
    for (const s of held) s.destroy();
    server.close();
  }
});

it('migrate --processes 2 whose child stops reading: exit 7 after --io-timeout, the child killed, the source RUNNING', async () => {
  let child = 0;
  const r = await runCli(
    ['migrate', 'emulated:mlx5', 'emulated:mlx5', '--processes', '2', '--size', '512MiB', '--io-timeout', '300ms'],
    {
      onSpawn(parent) {
        let text = '';
        let stopped = false;
        parent.stderr!.on('data', async (c: Buffer) => {
          text += c.toString();
          if (stopped || !/pre-copy round 1: /.test(text)) return;
          stopped = true;
          child = (await childrenOf(parent.pid!))[0]!;
          process.kill(child, 'SIGSTOP');
        });
      },
    },
  );
  expect(r.timedOut).toBe(false);
  expect(child).toBeGreaterThan(0);
  expect(hasStackTrace(r.stderr)).toBe(false);
  expect(lastLine(r.stderr)).toMatch(
    /^vfio-uapi migrate: source emulated:mlx5: cannot write the socket to the destination process: the reader took no data for 300 ms \(ETIMEDOUT; see --io-timeout\); the destination process did not end and was killed — source emulated:mlx5 resumed, now RUNNING; destination emulated:mlx5: state unknown \(its process was killed by SIGKILL/,
  );
  expect(r.code).toBe(7);
  expect(await alive(child)).toBe(false);
});

it('load from a socket whose sender stops mid-stream: exit 7 after --io-timeout, the destination recovered', async () => {
  const path = tmp.file('sender.sock');
  let sender: Socket | undefined;
  const r = await runCli(
    ['load', 'emulated:mlx5', `unix:${path}`, '--size', '4MiB', '--io-timeout', '300ms', '--json', '--quiet'],
    {
      onSpawn() {
        // Connect once it listens; send the header and 1 MiB of the body, then nothing (keep it open).
        const poll = setInterval(() => {
          if (!existsSync(path)) return;
          clearInterval(poll);
          sender = createConnection(path, () => sender!.write(state.subarray(0, headerLength(state) + (1 << 20))));
          sender.on('error', () => {});
        }, 20);
      },
    },
  );
  sender?.destroy();
  expect(r.timedOut).toBe(false);
  expect(r.code).toBe(7);
  const out = JSON.parse(r.stdout) as { error: string; state: string };
  expect(out.error).toMatch(
    /cannot read unix:.*sender\.sock: the sender sent no data for 300 ms \(ETIMEDOUT; see --io-timeout\)/,
  );
  expect(out.state).toBe('RESUMING'); // where it stopped; the line then says where recovery put it
  expect(out.error).toMatch(/ — destination emulated:mlx5 reset \(what it received is discarded\), now RUNNING$/);
  expect(existsSync(path)).toBe(false);
});

it('load listening on unix: that nobody connects to: exit 7 after --connect-timeout, the socket removed', async () => {
  const path = tmp.file('lonely.sock');
  const r = await runCli(['load', 'emulated:mtty', `unix:${path}`, '--connect-timeout', '300ms', '--quiet']);
  expect(r.stderr.trim()).toMatch(
    /cannot read unix:.*lonely\.sock: no sender connected within 300 ms \(raise --connect-timeout/,
  );
  expect(r.code).toBe(7);
  expect(existsSync(path)).toBe(false);
});

it('save to a FIFO nobody reads: exit 7 after --connect-timeout, the FIFO left in place', async () => {
  const path = tmp.file('fifo');
  execFileSync('mkfifo', [path]);
  const r = await runCli(['save', 'emulated:mtty', path, '--connect-timeout', '300ms', '--quiet']);
  expect(r.stderr.trim()).toMatch(/cannot write .*fifo: no reader opened this FIFO within 300 ms/);
  expect(r.code).toBe(7);
  expect(statSync(path).isFIFO()).toBe(true);
});
