// The guest timeline is read from the console lines the guest prints (test/kernel/timeline.ts).
import { describe, expect, it } from 'vitest';
import { describeTimeline, parseTimeline } from './timeline.js';

// As a mtty guest prints them (serial console: CRLF line ends, kernel messages between).
const console = [
  'Booting from ROM..vfiotest: starting node at uptime 5.02 s',
  '[    6.1] random kernel line',
  'vfiotest: node ready at uptime 9.40 s',
  'vfiotest: kernel 6.12.117 (6.12.117+deb13-amd64), access group',
  'vfiotest: open.runtime in 0.1 s',
  'vfiotest: vfio-uapi info exit 0 in 1.9 s',
  'vfiotest: vfio-uapi save exit 0 in 2.0 s',
  'vfiotest: vfio-uapi conform exit 0 in 5.1 s',
  'vfiotest: checks done at uptime 22.40 s',
  'vfiotest: node exited 0',
].join('\r\n');

describe('guest timeline', () => {
  it('finds node start, node ready, each vfio-uapi process and the end of the checks', () => {
    expect(parseTimeline(console)).toEqual({
      nodeStarted: 5.02,
      nodeReady: 9.4,
      checksDone: 22.4,
      cli: [
        { command: 'info', seconds: 1.9 },
        { command: 'save', seconds: 2 },
        { command: 'conform', seconds: 5.1 },
      ],
    });
  });

  it('says where the time went', () => {
    expect(describeTimeline(parseTimeline(console))).toBe(
      'boot to node 5.0 s, node loads the checks 4.4 s, 3 vfio-uapi processes 9.0 s (info 1.9, save 2.0, conform 5.1), other checks 4.0 s',
    );
  });

  it('a guest that never started node says so', () => {
    expect(describeTimeline(parseTimeline('Kernel panic - not syncing'))).toBe('no timestamps on the console');
  });
});
