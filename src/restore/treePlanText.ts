// A plan in words, for `restore --dry-run`: what would change, with a few example paths each.
import { formatBytes } from '../backup/diskSpace.js';
import { displayPath } from '../tree/pathBytes.js';
import type { TreePlan } from './treePlan.js';

export function describePlan(plan: TreePlan, limit = 10): string[] {
  const lines: string[] = [];
  const section = (count: number, title: string, examples: string[]) => {
    if (count === 0) return;
    // limit 0: the counts alone, one line each (a log line's summary).
    if (limit <= 0) {
      lines.push(title.replace(/:$/, ''));
      return;
    }
    lines.push(title);
    for (const example of examples.slice(0, limit)) lines.push(`  ${example}`);
    if (count > limit) lines.push(`  ... and ${count - limit} more`);
  };
  const entries = plan.writes.filter((w) => w.type !== 'dir');
  const dirs = plan.writes.filter((w) => w.type === 'dir');
  section(entries.length, `${count(entries.length, 'entry', 'entries')} to write from the backup (${formatBytes(plan.bytes)} to copy):`, entries.map((w) => `${displayPath(w.rel)} (${w.reason})`));
  section(dirs.length, `${count(dirs.length, 'directory', 'directories')} to create:`, dirs.map((w) => `${displayPath(w.rel)} (${w.reason})`));
  section(plan.removals.length, `${count(plan.removals.length, 'entry', 'entries')} to delete (a directory with all it holds):`, plan.removals.map(displayPath));
  section(plan.metadata.length, `${count(plan.metadata.length, 'entry', 'entries')} with owner, mode, times, labels or ACLs to fix:`, plan.metadata.map(displayPath));
  section(plan.xattrsToCompare.length, `${count(plan.xattrsToCompare.length, 'entry', 'entries')} changed since the backup in nothing but ctime, labels and ACLs compared as metadata is set:`, plan.xattrsToCompare.map(displayPath));
  section(plan.blocked.length, `${count(plan.blocked.length, 'entry', 'entries')} left unlike the backup because an excluded path is inside:`, plan.blocked.map(displayPath));
  if (plan.staleStaging) lines.push('the staging dir of an interrupted restore to remove');
  return lines.length > 0 ? lines : ['nothing to change'];
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
