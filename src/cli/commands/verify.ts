import { verifyBackup } from '../../verify/verifyBackup.js';
import type { FailureKind } from '../../core/errors.js';
import type { Host } from '../../host/ports.js';
import type { Output } from '../output.js';

export async function verifyCommand(host: Host, output: Output, flags: { dir: string; data: boolean }): Promise<FailureKind | undefined> {
  const verdict = await verifyBackup(host, output.reporter, flags.dir, flags.data);
  const lines = verdict.components.flatMap((c) => [
    ...c.problems.map((p) => `${c.name}/${p.path}: ${p.problem}`),
    ...(c.moreProblems ? [`${c.name}: ${c.moreProblems} more problem(s)`] : []),
  ]);
  const what = flags.data ? 'every byte' : 'structure and sizes (add --data for every byte)';
  output.result({
    ok: verdict.ok,
    lines: verdict.ok
      ? [`Backup ${verdict.id} verified: ${what}`]
      : [...lines, `Backup ${verdict.id} is damaged: do not restore from it; take a new backup if the node is healthy`],
    json: { command: 'verify', ...verdict, summary: undefined },
  });
  return verdict.ok ? undefined : 'failure';
}
