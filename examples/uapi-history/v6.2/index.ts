/**
 * The uAPI as of Linux 6.2: the current spec with everything later than 6.2 left out
 * (`vfio-uapi diff` applies `asOf` as it loads this module).
 */
import { revision } from '../../../spec/dsl/index.js';

export * from '../../../spec/vfio/index.js';

export const uapiRevision = revision({ label: 'Linux 6.2', asOf: '6.2' });
