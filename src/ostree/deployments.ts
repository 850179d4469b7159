// Reads the deployments the way an operator would: `rpm-ostree status --json` where rpm-ostree
// runs (RHCOS), `ostree admin status` otherwise (a sysroot seen from elsewhere, a sandbox).
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { readDeployments } from '../backup/ostreePin.js';
import { parseRpmOstreeStatus, type Deployment } from './status.js';
import { firstLine } from '../core/firstLine.js';

export interface DeploymentStatus {
  source: 'rpm-ostree' | 'ostree';
  deployments: Deployment[];
}

export async function readDeploymentStatus(host: Host, reporter: Reporter): Promise<DeploymentStatus> {
  const run = await host.runner.run('rpm-ostree', ['status', '--json', ...host.root.ostreeSysrootArgs()]);
  if (run.exitCode === 0) {
    const parsed = parseRpmOstreeStatus(run.stdout);
    if (parsed.ok) return { source: 'rpm-ostree', deployments: parsed.deployments };
    reporter.warn(`cannot read rpm-ostree status --json (${parsed.reason}); using ostree admin status`);
  } else if (run.exitCode !== 127) {
    // 127: not installed, the normal case off RHCOS. Anything else (daemon down...) is worth a word.
    reporter.warn(`rpm-ostree status failed (${firstLine(run.stderr) || `exit ${run.exitCode}`}); using ostree admin status`);
  }
  return { source: 'ostree', deployments: await readDeployments(host) };
}

