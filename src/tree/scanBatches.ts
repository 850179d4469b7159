// The batches of a walk in another thread (HostFs.scanTree), with its failures said as a walk in
// this thread says them (`cannot stat /etc/x: ...`).
import type { ScanBatch, TreeScan } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { displayPath } from './pathBytes.js';

/** The scan's next batch, undefined at its end. */
export async function nextScanBatch(scan: TreeScan): Promise<ScanBatch | undefined> {
  try {
    return await scan.next();
  } catch (error) {
    const { what = 'cannot walk', path = '' } = error as { what?: string; path?: string };
    throw new RecoveryError('failure', `${what} ${displayPath(Buffer.from(path, 'latin1'))}: ${(error as Error).message}`);
  }
}
