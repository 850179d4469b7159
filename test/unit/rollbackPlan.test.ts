// The runbook's OS-rollback table (reference section 4) as a decision, on recorded outputs of
// both readers and on shapes built around them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOstreeStatus, parseRpmOstreeStatus, type Deployment } from '../../src/ostree/status.js';
import { planCommands, planInOneLine, planRollback } from '../../src/ostree/rollbackPlan.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/ostree/${name}`, import.meta.url), 'utf8');
const fromText = (name: string) => {
  const parsed = parseOstreeStatus(fixture(name));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.deployments;
};
const fromJson = (name: string) => {
  const parsed = parseRpmOstreeStatus(fixture(name));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.deployments;
};

/** A list from a compact spec: `*` booted, `p` pinned, `s` staged, one string per deployment. */
function list(...specs: string[]): Deployment[] {
  return specs.map((spec, index) => ({
    index,
    osname: spec.includes('fedora') ? 'fedora' : 'rhcos',
    checksum: String(index).repeat(64),
    serial: 0,
    booted: spec.includes('*'),
    pinned: spec.includes('p'),
    flags: spec.includes('s') ? ['staged'] : [],
  }));
}

describe('planRollback: the rows of the table', () => {
  it('single deployment, pinned: nothing to do (product docs, both readers)', () => {
    for (const deployments of [fromText('booted-pinned.txt'), fromJson('rpm-ostree-booted-pinned.json')]) {
      const plan = planRollback(deployments);
      expect(plan).toMatchObject({ kind: 'none', steps: [], reboots: false, bootedAssumed: false });
      expect(plan.target?.checksum).toBe('c038a8f08458bbed83a77ece033ad3c55597e3f64edad66ea12fda18cbdceaf9');
    }
  });

  it('the pinned standby is the rollback target: rpm-ostree rollback -r (product docs, both readers)', () => {
    for (const deployments of [fromText('rollback-pinned.txt'), fromJson('rpm-ostree-rollback-pinned.json')]) {
      const plan = planRollback(deployments);
      expect(plan.kind).toBe('rollback');
      expect(planCommands(plan)).toEqual(['rpm-ostree rollback -r']);
      expect(plan).toMatchObject({ reboots: true, target: { checksum: 'ad8f159f9dc4ea7e773fd9604c9a16be0fe9b266ae800ac8470f63abc39b52ca' } });
      expect(plan.summary).toMatch(/not pinned.*rollback target/);
    }
  });

  it('an unpinned standby before the pinned one: undeploy it (index 1), then roll back', () => {
    for (const deployments of [fromText('three-deployments.txt'), fromJson('rpm-ostree-three.json')]) {
      const plan = planRollback(deployments);
      expect(plan.kind).toBe('undeploy-then-rollback');
      expect(planCommands(plan)).toEqual(['ostree admin undeploy 1', 'rpm-ostree rollback -r']);
      expect(plan.steps[0]).toMatchObject({ action: 'undeploy', deployment: { checksum: deployments[1]!.checksum } });
      expect(plan.target?.checksum).toBe(deployments[2]!.checksum);
    }
  });

  it('several unpinned standbys: `ostree admin undeploy 1` for each, as the runbook says', () => {
    const plan = planRollback(list('*', '', '', '', 'p', ''));
    expect(planCommands(plan)).toEqual(['ostree admin undeploy 1', 'ostree admin undeploy 1', 'ostree admin undeploy 1', 'rpm-ostree rollback -r']);
    expect(plan.steps.slice(0, 3).map((s) => (s.action === 'undeploy' ? s.deployment.checksum[0] : ''))).toEqual(['1', '2', '3']);
  });

  it('passes --sysroot to ostree and rpm-ostree when the root is not /', () => {
    expect(planInOneLine(planRollback(list('*', '', 'p')), ['--sysroot=/host'])).toBe('ostree admin undeploy 1 --sysroot=/host, then rpm-ostree rollback -r --sysroot=/host');
  });
});

describe('planRollback: shapes around the table', () => {
  it('one deployment, unpinned: nothing pinned to go back to, refused', () => {
    for (const deployments of [fromText('one-unpinned.txt'), fromJson('rpm-ostree-one-unpinned.json')]) {
      const plan = planRollback(deployments);
      expect(plan).toMatchObject({ kind: 'blocked', steps: [] });
      expect(plan.summary).toMatch(/no other rhcos deployment is/);
    }
  });

  it('no deployment at all: refused', () => {
    expect(planRollback([])).toMatchObject({ kind: 'blocked', summary: expect.stringContaining('no deployment') });
  });

  it('booted pinned with a staged upgrade ahead: discard it, no rollback (a restore reboots)', () => {
    for (const deployments of [fromText('staged.txt'), fromJson('rpm-ostree-staged.json')]) {
      const plan = planRollback(deployments);
      expect(plan.kind).toBe('discard-pending');
      expect(planCommands(plan)).toEqual(['rpm-ostree cleanup -p']);
      expect(plan.reboots).toBe(false);
    }
  });

  it('booted pinned with an unpinned pending deployment ahead: undeploy 0', () => {
    expect(planCommands(planRollback(list('', '*p')))).toEqual(['ostree admin undeploy 0']);
  });

  it('booted upgraded, another deployment pending, the pinned one behind: remove the pending one first', () => {
    const plan = planRollback(list('', '*', 'p'));
    expect(plan.kind).toBe('undeploy-then-rollback');
    // After undeploy 0 the booted deployment is index 0 and the pinned one the rollback target.
    expect(planCommands(plan)).toEqual(['ostree admin undeploy 0', 'rpm-ostree rollback -r']);
    expect(planCommands(planRollback(list('s', '*', '', 'p')))).toEqual(['rpm-ostree cleanup -p', 'ostree admin undeploy 1', 'rpm-ostree rollback -r']);
  });

  it('the pinned deployment already boots next (rollback done, reboot not yet): reboot', () => {
    const plan = planRollback(list('p', '*'));
    expect(plan.kind).toBe('reboot');
    expect(planCommands(plan)).toEqual(['systemctl reboot']);
    expect(planCommands(planRollback(list('', 'p', '*')))).toEqual(['ostree admin undeploy 0', 'systemctl reboot']);
    expect(planCommands(planRollback(list('p', '*')), ['--sysroot=/x'])).toEqual(['systemctl reboot']);
  });

  it('two pinned deployments, the booted one and one ahead of it: refused, the operator decides', () => {
    expect(planRollback(list('p', '*p')).kind).toBe('blocked');
  });

  it('only the booted osname counts for the rollback target, as in ostree', () => {
    // A pinned fedora deployment is not where rpm-ostree rollback goes.
    expect(planRollback(list('*', 'p fedora')).kind).toBe('blocked');
    const plan = planRollback(list('*', 'fedora', '', 'p'));
    expect(planCommands(plan)).toEqual(['ostree admin undeploy 2', 'rpm-ostree rollback -r']);
  });

  it('a sysroot where nothing is booted: deployment 0 is taken as booted, and said so', () => {
    const deployments = fromText('sandbox-two-unbooted.txt');
    expect(planRollback(deployments)).toMatchObject({ kind: 'blocked', bootedAssumed: true });
    deployments[1]!.pinned = true;
    expect(planRollback(deployments)).toMatchObject({ kind: 'rollback', bootedAssumed: true });
    deployments[0]!.pinned = true;
    expect(planRollback(deployments)).toMatchObject({ kind: 'none', bootedAssumed: true });
  });
});
