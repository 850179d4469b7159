// The restore, as a runbook: the old upgrade-recovery.sh's stages, in its order, with its commands
// and waits, split into steps small enough that each one is recorded in the journal and is safe to
// run again after a crash. Someone who knows the old script should recognise every line.
import { firstLine } from '../core/firstLine.js';
import { RecoveryError } from '../core/errors.js';
import { exists } from '../host/durable.js';
import type { RestorePhase, RestoreStep, StepContext } from './context.js';
import type { PhaseName } from '../journal/schema.js';
import { previewTreeRestore, restoreTree, scansTree } from './restoreTreeStep.js';
import { healthStep } from './healthStep.js';

export const CLUSTER_RESTORE_SCRIPT = '/usr/local/bin/cluster-restore.sh';

/** The containers that must come back after the etcd restore, as the old script named them. */
export const CONTROL_PLANE_CONTAINERS = ['etcd', 'etcd-operator', 'kube-apiserver-operator', 'kube-controller-manager-operator', 'kube-scheduler-operator-container'];

/** The operator resources whose static pods are forced to redeploy, in the old script's order. */
export const REDEPLOYED_OPERATORS = ['etcd', 'kubeapiserver', 'kubecontrollermanager', 'kubescheduler'];

const STATUS_COMMANDS: Array<readonly string[]> = [['adm', 'upgrade'], ['get', 'co'], ['get', 'nodes', '-o', 'wide'], ['get', 'mcp']];

function command(id: string, title: string, permissive: boolean, run: (c: StepContext) => Promise<unknown>, shown: string[]): RestoreStep {
  return {
    id,
    title,
    permissive,
    run: async (c) => void (await run(c)),
    preview: async () => shown.map((line) => `would run: ${line}`),
  };
}

const showStatus = (id: string): RestoreStep => ({
  id,
  title: 'Show the cluster status (oc adm upgrade, oc get co, nodes, mcp)',
  permissive: false,
  async run({ node, reporter }) {
    for (const args of STATUS_COMMANDS) {
      const result = await node.tryRun('oc', args);
      if (result.exitCode !== 0) {
        reporter.warn(`oc ${args.join(' ')} failed (the API may be down; going on): ${firstLine(result.stderr || result.stdout)}`);
        continue;
      }
      for (const line of result.stdout.trimEnd().split('\n')) reporter.info(line);
    }
  },
  preview: async () => STATUS_COMMANDS.map((args) => `would run: oc ${args.join(' ')}`),
});

const treeStep = (tree: 'local' | 'etc' | 'kubelet', nodePath: string): RestoreStep => ({
  id: `restore-${tree}`,
  title: `Restore ${nodePath} from ${tree}/ (exact copy; files not in the backup are removed${tree === 'etc' ? '; etc.exclude.list is left alone' : ''})`,
  permissive: true,
  run: async (c) => restoreTree(c, tree, nodePath),
  preview: async (c) => previewTreeRestore(c, tree, nodePath),
  scansTree: (backup) => scansTree(backup, tree),
});

const filesPhase: RestorePhase = {
  name: 'files',
  title: 'Restore the files (before the reboot)',
  steps: [
    showStatus('status-before'),
    command('stop-kubelet', 'Stop kubelet', true, ({ node }) => node.systemctl('stop', 'kubelet.service'), ['systemctl stop kubelet.service']),
    {
      id: 'remove-pods',
      title: 'Remove every pod (crictl rmp -fa)',
      permissive: true,
      async run({ node, reporter }) {
        // Redone after a crash, CRI-O may already be stopped: there is nothing left to remove then.
        const result = await node.tryRun('crictl', ['rmp', '-fa']);
        if (result.exitCode !== 0) reporter.warn(`crictl rmp -fa failed (going on, CRI-O is wiped next): ${firstLine(result.stderr || result.stdout)}`);
      },
      preview: async () => ['would run: crictl rmp -fa'],
    },
    command('stop-crio', 'Stop CRI-O', true, ({ node }) => node.systemctl('stop', 'crio.service'), ['systemctl stop crio.service']),
    command('wipe-crio', "Wipe CRI-O's storage", true, ({ node }) => node.run('crio', ['wipe', '-f'], 'wiping CRI-O storage'), ['crio wipe -f']),
    treeStep('local', '/usr/local'),
    treeStep('etc', '/etc'),
    {
      id: 'restore-extras',
      title: 'Unpack extras.tgz onto / (MachineConfig files outside the trees)',
      permissive: true,
      async run({ host, backup, reporter }) {
        if (!(await exists(host.fs, backup.paths.extras))) {
          reporter.warn('extras.tgz is missing from the backup: nothing to unpack');
          return { files: 0 };
        }
        const files = await host.archiver.list(backup.paths.extras);
        await host.archiver.extract(backup.paths.extras, host.root.dir);
        return { files: files.length };
      },
      preview: async ({ host, backup }) => [`would unpack ${(await host.archiver.list(backup.paths.extras)).length} entries of extras.tgz onto ${host.root.dir}`],
    },
    command('daemon-reload', 'Reload systemd units (they may have been restored)', true, ({ node }) => node.systemctl('daemon-reload'), ['systemctl daemon-reload']),
    command('disable-kubelet', 'Disable kubelet until the cluster is restored', true, ({ node }) => node.systemctl('disable', 'kubelet.service'), ['systemctl disable kubelet.service']),
  ],
};

const rebootPhase: RestorePhase = {
  name: 'reboot',
  title: 'Reboot the node',
  steps: [
    {
      id: 'confirm-reboot',
      title: 'Check that the node has rebooted since the files were restored',
      permissive: false,
      // The runner checks the boot id before this step (it holds the journal); nothing to do here.
      run: async () => undefined,
      preview: async () => ['would check that the boot id changed since the files phase'],
    },
  ],
};

const clusterPhase: RestorePhase = {
  name: 'cluster',
  title: 'Restore /var/lib/kubelet and the cluster (after the reboot)',
  steps: [
    treeStep('kubelet', '/var/lib/kubelet'),
    {
      id: 'start-crio',
      title: 'Start CRI-O if it is not running',
      permissive: true,
      async run({ node }) {
        if (!(await node.isActive('crio.service'))) await node.systemctl('start', 'crio.service');
      },
      preview: async () => ['would run: systemctl start crio.service (if inactive)'],
    },
    {
      id: 'note-containers',
      title: 'Note the ids of the control-plane containers',
      permissive: true,
      async run({ node }) {
        const running = await node.runningContainers();
        return Object.fromEntries(CONTROL_PLANE_CONTAINERS.map((name) => [name, running.get(name)?.id ?? '']));
      },
      preview: async () => ['would run: crictl ps -o json'],
    },
    {
      id: 'cluster-restore',
      title: 'Restore etcd from the snapshot (cluster-restore.sh)',
      permissive: true,
      async run({ host, node, backup }) {
        await node.run(host.root.path(CLUSTER_RESTORE_SCRIPT), [backup.paths.cluster], 'restoring etcd');
      },
      preview: async ({ backup }) => [`would run: ${CLUSTER_RESTORE_SCRIPT} ${backup.paths.cluster}`],
    },
    command(
      'restart-kubelet',
      'Restart and enable kubelet',
      true,
      async ({ node }) => {
        await node.systemctl('restart', 'kubelet.service');
        await node.systemctl('enable', 'kubelet.service');
      },
      ['systemctl restart kubelet.service', 'systemctl enable kubelet.service'],
    ),
    command('restart-crio', 'Restart CRI-O', true, ({ node }) => node.systemctl('restart', 'crio.service'), ['systemctl restart crio.service']),
    {
      id: 'wait-containers',
      title: `Wait for ${CONTROL_PLANE_CONTAINERS.join(', ')} to restart`,
      permissive: true,
      async run(context) {
        const noted = context.recorded('note-containers') ?? {};
        for (const name of CONTROL_PLANE_CONTAINERS) await waitForRestart(context, name, String(noted[name] ?? ''));
      },
      preview: async () => ['would poll: crictl ps -o json until each container has a new id and is running'],
    },
  ],
};

const redeployPhase: RestorePhase = {
  name: 'redeploy',
  title: 'Force the control plane to redeploy',
  steps: [
    ...REDEPLOYED_OPERATORS.map(
      (kind): RestoreStep => ({
        id: `redeploy-${kind}`,
        title: `Force a new ${kind} revision and wait for it`,
        permissive: false,
        run: (context) => redeploy(context, kind),
        preview: async () => [`would run: oc patch ${kind} cluster --type=merge -p '{"spec":{"forceRedeploymentReason":"recovery-..."}}' and wait`],
      }),
    ),
    showStatus('status-after'),
    // Last: one aggregated verdict on whether the node is back (src/restore/healthStep.ts).
    healthStep,
  ],
};

export const RESTORE_PHASES: readonly RestorePhase[] = [filesPhase, rebootPhase, clusterPhase, redeployPhase];

/** The step that puts each component of a backup back: once it is done, the backup's copy of that component is not read again. */
export const COMPONENT_STEPS: ReadonlyArray<{ component: string; phase: PhaseName; step: string }> = [
  { component: 'local', phase: 'files', step: 'restore-local' },
  { component: 'etc', phase: 'files', step: 'restore-etc' },
  { component: 'kubelet', phase: 'cluster', step: 'restore-kubelet' },
  { component: 'cluster', phase: 'cluster', step: 'cluster-restore' },
];

async function waitForRestart({ node, host, reporter, options }: StepContext, name: string, noted: string): Promise<void> {
  const deadline = host.clock.now().getTime() + options.timeouts.containerMs;
  for (;;) {
    const container = (await node.runningContainers()).get(name);
    if (container && container.id !== noted && container.state === 'CONTAINER_RUNNING') {
      reporter.info(`${name} restarted (container ${container.id.slice(0, 13)})`);
      return;
    }
    if (host.clock.now().getTime() >= deadline) {
      throw new RecoveryError(
        'failure',
        `${name} did not restart within ${Math.round(options.timeouts.containerMs / 1000)} s (crictl ps shows ${container ? `${container.id.slice(0, 13)} ${container.state}` : 'no such container'})`,
        'look at crictl ps -a and journalctl -u kubelet, then: upgrade-recovery restore --resume',
      );
    }
    await host.clock.sleep(options.timeouts.pollMs);
  }
}

async function redeploy({ node, host, reporter, options }: StepContext, kind: string): Promise<Record<string, unknown>> {
  const before = await node.revisions(kind);
  if (!before) throw new RecoveryError('failure', `cannot read the revisions of ${kind} (oc get ${kind} -o json)`);
  const expected = before.latest + 1;
  const reason = `recovery-${host.clock.now().toISOString()}`;
  await node.run('oc', ['patch', kind, 'cluster', `-p=${JSON.stringify({ spec: { forceRedeploymentReason: reason } })}`, '--type=merge'], `forcing a ${kind} redeployment`);
  const deadline = host.clock.now().getTime() + options.timeouts.redeployMs;
  for (;;) {
    await host.clock.sleep(options.timeouts.pollMs);
    // An empty answer is an API hiccup, as the old script also assumed: poll again.
    const now = await node.revisions(kind);
    if (now && now.current >= expected) {
      reporter.info(`${kind} redeployed: revision ${now.current}`);
      return { from: before.current, to: now.current };
    }
    if (host.clock.now().getTime() >= deadline) {
      throw new RecoveryError(
        'failure',
        `${kind} did not reach revision ${expected} within ${Math.round(options.timeouts.redeployMs / 1000)} s (now ${now?.current ?? 'unknown'})`,
        `look at oc get ${kind} cluster -o yaml, then: upgrade-recovery restore --resume`,
      );
    }
  }
}
