import { arc, forbid, stateMachine } from '../dsl/index.js';
import { MigrationDataFd } from './base.js';
import { blockedArcEinval } from './kernel-fixes.js';
import { vfio_device_mig_state, vfio_migration_flags } from './migration.js';

/**
 * The migration state machine. Drivers implement only the arcs below; a request for any other pair
 * is carried out as the shortest sequence of arcs in which only the last arc may open a data fd and
 * only the first may end one. STOP_COPY and PRE_COPY are only ever endpoints; PRE_COPY_P2P may be
 * passed through while a saving session continues (PRE_COPY to STOP_COPY on a P2P device).
 */
export const migration = stateMachine('vfio_migration', {
  since: '5.18',
  states: vfio_device_mig_state,
  capabilities: vfio_migration_flags,
  mandatory: ['STOP_COPY'],
  capabilitySets: [['STOP_COPY'], ['STOP_COPY', 'P2P'], ['STOP_COPY', 'PRE_COPY'], ['STOP_COPY', 'P2P', 'PRE_COPY']],
  requires: {
    ERROR: null,
    STOP: ['STOP_COPY'],
    RUNNING: ['STOP_COPY'],
    STOP_COPY: ['STOP_COPY'],
    RESUMING: ['STOP_COPY'],
    RUNNING_P2P: ['STOP_COPY', 'P2P'],
    PRE_COPY: ['STOP_COPY', 'PRE_COPY'],
    PRE_COPY_P2P: ['STOP_COPY', 'P2P', 'PRE_COPY'],
  },
  initial: 'RUNNING',
  error: 'ERROR',
  endpointOnly: ['STOP_COPY', 'PRE_COPY'],
  dataFd: MigrationDataFd,
  arcs: [
    // Every migratable device.
    arc('STOP', 'STOP_COPY', { fd: 'opens-saving', doc: 'Start the saving session; the whole state streams out.' }),
    arc('STOP_COPY', 'STOP', { fd: 'ends', doc: 'End the saving session; the data fd stops working.' }),
    arc('STOP', 'RESUMING', {
      fd: 'opens-resuming',
      doc: 'Start a resuming session; the caller writes a state stream.',
    }),
    arc('RESUMING', 'STOP', { fd: 'ends', doc: 'Load the written stream; invalid data makes this arc fail.' }),
    // Devices without P2P go straight between RUNNING and STOP.
    arc('RUNNING', 'STOP', { unless: ['P2P'] }),
    arc('STOP', 'RUNNING', { unless: ['P2P'] }),
    // Devices with P2P always pass through RUNNING_P2P.
    arc('RUNNING', 'RUNNING_P2P', { when: ['P2P'], doc: 'Hold back new peer-to-peer DMA.' }),
    arc('RUNNING_P2P', 'RUNNING', { when: ['P2P'] }),
    arc('RUNNING_P2P', 'STOP', { when: ['P2P'] }),
    arc('STOP', 'RUNNING_P2P', { when: ['P2P'] }),
    // Pre-copy.
    arc('RUNNING', 'PRE_COPY', { when: ['PRE_COPY'], fd: 'opens-saving', since: '6.2' }),
    arc('PRE_COPY', 'RUNNING', { when: ['PRE_COPY'], fd: 'ends', since: '6.2', doc: 'Abandon pre-copy.' }),
    arc('PRE_COPY', 'STOP_COPY', {
      when: ['PRE_COPY'],
      unless: ['P2P'],
      fd: 'keeps',
      since: '6.2',
      doc: 'Stop the device and continue on the same fd.',
    }),
    arc('PRE_COPY', 'PRE_COPY_P2P', { when: ['PRE_COPY', 'P2P'], fd: 'keeps', since: '6.2' }),
    arc('PRE_COPY_P2P', 'PRE_COPY', { when: ['PRE_COPY', 'P2P'], fd: 'keeps', since: '6.2' }),
    arc('PRE_COPY_P2P', 'RUNNING_P2P', { when: ['PRE_COPY', 'P2P'], fd: 'ends', since: '6.2' }),
    arc('PRE_COPY_P2P', 'STOP_COPY', { when: ['PRE_COPY', 'P2P'], fd: 'keeps', since: '6.2' }),
    arc('RUNNING_P2P', 'PRE_COPY_P2P', { when: ['PRE_COPY', 'P2P'], fd: 'opens-saving', since: '6.2' }),
  ],
  forbidden: [
    forbid('STOP_COPY', 'PRE_COPY', {
      kernelFix: blockedArcEinval,
      doc: 'Once stopped for the final copy a device cannot go back to pre-copying; a future flag may allow it.',
    }),
    forbid('STOP_COPY', 'PRE_COPY_P2P', { kernelFix: blockedArcEinval, doc: 'As STOP_COPY to PRE_COPY.' }),
  ],
});
