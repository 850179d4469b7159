// The chroot seam: the exact command lines launch runs on a node whose root is at /host. The core
// computes node paths under the root as with --root; the ChrootRunner turns node commands into
// `chroot /host cmd ...` with those paths seen from inside, and leaves the container's tools alone.
import { describe, expect, it } from 'vitest';
import { ChrootRunner } from '../../src/host/chrootRunner.js';
import { NodeRoot } from '../../src/host/nodeRoot.js';
import type { CommandResult, CommandRunner } from '../../src/host/ports.js';
import { pinBootedDeployment } from '../../src/backup/ostreePin.js';
import { takeClusterBackup } from '../../src/backup/clusterSnapshot.js';
import { SyslogSink } from '../../src/ui/syslog.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import { memHost } from '../support/memHost.js';
import { realHost } from '../../src/host/real.js';

/** Records every command line it is given and answers from `answer`. */
function recorder(answer: (line: string) => Partial<CommandResult> = () => ({})) {
  const lines: string[] = [];
  const runner: CommandRunner = {
    async run(command, args) {
      const line = [command, ...args].join(' ');
      lines.push(line);
      return { exitCode: 0, stdout: '', stderr: '', ...answer(line) };
    },
  };
  return { runner, lines };
}

describe('ChrootRunner.rewrite', () => {
  const chroot = new ChrootRunner(recorder().runner, '/host');
  const line = (command: string, ...args: string[]) => {
    const r = chroot.rewrite(command, args);
    return [r.command, ...r.args].join(' ');
  };

  it('runs node commands inside the root with node paths', () => {
    expect(line('ostree', 'admin', 'pin', '0', '--sysroot=/host')).toBe('chroot /host ostree admin pin 0');
    expect(line('ostree', 'admin', 'status', '--sysroot=/host/other')).toBe('chroot /host ostree admin status --sysroot=/other');
    expect(line('/host/usr/local/bin/cluster-backup.sh', '--force', '/host/var/recovery/generations/X.partial/cluster')).toBe(
      'chroot /host /usr/local/bin/cluster-backup.sh --force /var/recovery/generations/X.partial/cluster',
    );
    expect(line('etcdutl', 'snapshot', 'status', '/host/var/recovery/a.db', '-w', 'json')).toBe('chroot /host etcdutl snapshot status /var/recovery/a.db -w json');
    expect(line('logger', '-t', 'upgrade-recovery', '--', 'a /host/x line')).toBe('chroot /host logger -t upgrade-recovery -- a /host/x line');
    // Not under the root: a node command still gets it as is (it will not find it, and says so).
    expect(line('etcdctl', 'snapshot', 'status', '/hostile/a.db')).toBe('chroot /host etcdctl snapshot status /hostile/a.db');
  });

  it('runs skopeo and crictl (backup --images) inside the root, with the storage and layout paths as the node sees them', () => {
    expect(
      line('skopeo', 'copy', '--quiet', 'containers-storage:[overlay@/host/var/lib/containers/storage+/host/run/containers/storage]@' + 'a'.repeat(64), 'oci:/host/var/recovery/generations/X.partial/images/abc.partial'),
    ).toBe(`chroot /host skopeo copy --quiet containers-storage:[overlay@/var/lib/containers/storage+/run/containers/storage]@${'a'.repeat(64)} oci:/var/recovery/generations/X.partial/images/abc.partial`);
    expect(line('skopeo', 'inspect', '--raw', 'containers-storage:[/host/var/lib/c+/host/run/c]quay.io/a/b:v1')).toBe('chroot /host skopeo inspect --raw containers-storage:[/var/lib/c+/run/c]quay.io/a/b:v1');
    expect(line('skopeo', 'copy', 'oci:/host/var/recovery/x:tag', 'docker://quay.io/a/b:v1')).toBe('chroot /host skopeo copy oci:/var/recovery/x:tag docker://quay.io/a/b:v1');
    expect(line('crictl', 'images', '-o', 'json')).toBe('chroot /host crictl images -o json');
  });

  it("leaves the container's own tools and their /host paths alone", () => {
    expect(line('cp', '-a', '-v', '-T', '--', '/host/etc', '/host/var/recovery/generations/X.partial/etc')).toBe(
      'cp -a -v -T -- /host/etc /host/var/recovery/generations/X.partial/etc',
    );
    expect(line('sync', '-f', '/host/var/recovery/generations/X.partial')).toBe('sync -f /host/var/recovery/generations/X.partial');
    expect(line('getfattr', '--absolute-names', '-d', '/host/etc/hostname')).toBe('getfattr --absolute-names -d /host/etc/hostname');
    expect(line('mount', '-o', 'remount,rw', '/host/sysroot')).toBe('mount -o remount,rw /host/sysroot');
    expect(line('mknod', '-m', '0666', '/host/dev/null', 'c', '1', '3')).toBe('mknod -m 0666 /host/dev/null c 1 3');
  });
});

describe('the backup steps through the chroot runner (root /host)', () => {
  function chrootHost(answer?: (line: string) => Partial<CommandResult>, files: Record<string, string> = {}) {
    const { host } = memHost(files);
    const inner = recorder(answer);
    return { host: { ...host, root: new NodeRoot('/host'), runner: new ChrootRunner(inner.runner, '/host') }, lines: inner.lines };
  }

  it('pins the deployment with `chroot /host ostree admin ...`', async () => {
    // Two deployments, none marked booted (the chroot hides /run/ostree-booted): keep 0, as the old Job.
    const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
    const statuses = [
      `  rhcos ${a}.0\n    origin refspec: rhcos\n  rhcos ${b}.0\n    origin refspec: rhcos\n`,
      `  rhcos ${a}.0\n    origin refspec: rhcos\n`,
      `  rhcos ${a}.0\n    Pinned: yes\n    origin refspec: rhcos\n`,
    ];
    let status = 0;
    const { host, lines } = chrootHost((line) => {
      if (line.endsWith('admin status')) return { stdout: statuses[Math.min(status++, 2)]! };
      if (line.includes('undeploy')) status = 1;
      if (line.includes(' pin ')) status = 2;
      return {};
    });
    const pinned = await pinBootedDeployment(host, new RecordingReporter());
    expect(pinned).toMatchObject({ checksum: a, removed: 1 });
    expect(lines).toEqual([
      'chroot /host ostree admin status',
      'chroot /host ostree admin undeploy 1',
      'chroot /host ostree admin status',
      'chroot /host ostree admin pin 0',
      'chroot /host ostree admin status',
    ]);
  });

  it('runs the node\'s cluster-backup.sh and the snapshot status inside the root', async () => {
    const dir = '/host/var/recovery/generations/20261125T100000Z.partial/cluster';
    const { host, lines } = chrootHost(
      (line) => (line.includes('snapshot status') ? { stdout: '{"hash":1,"revision":2,"totalKey":3,"totalSize":4}' } : {}),
      { [`${dir}/snapshot_2026-11-25_100000__POSSIBLY_DIRTY__.db`]: 'db', [`${dir}/static_kuberesources_2026-11-25_100000__POSSIBLY_DIRTY__.tar.gz`]: 'tgz' },
    );
    const result = await takeClusterBackup(host, new RecordingReporter(), dir);
    expect(result.status).toEqual({ hash: 1, revision: 2, totalKey: 3, totalSize: 4 });
    expect(lines).toEqual([
      'chroot /host /usr/local/bin/cluster-backup.sh --force /var/recovery/generations/20261125T100000Z.partial/cluster',
      'chroot /host etcdutl snapshot status /var/recovery/generations/20261125T100000Z.partial/cluster/snapshot_2026-11-25_100000__POSSIBLY_DIRTY__.db -w json',
    ]);
  });

  it("sends syslog lines to one logger of the node's, started with the first line and ended by flush", async () => {
    const calls: Array<{ line: string; pieces: string[] }> = [];
    let first: () => void = () => undefined;
    const firstPiece = new Promise<void>((resolve) => (first = resolve));
    const inner: CommandRunner = {
      async run(command, args, options) {
        const call = { line: [command, ...args].join(' '), pieces: [] as string[] };
        calls.push(call);
        for await (const piece of options!.input as AsyncIterable<Uint8Array>) {
          call.pieces.push(Buffer.from(piece).toString());
          first();
        }
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    };
    const sink = new SyslogSink(new ChrootRunner(inner, '/host'));
    sink.log('Backup started');
    await firstPiece;
    // Logged while logger is busy with the first: they wait, and go as one piece.
    sink.log('etc: done');
    sink.log('Backup complete');
    await sink.flush();
    expect(calls).toEqual([{ line: 'chroot /host logger -t upgrade-recovery', pieces: ['Backup started\n', 'etc: done\nBackup complete\n'] }]);
    // A line after the flush starts another logger.
    sink.log('again');
    await sink.flush();
    expect(calls.map((call) => call.pieces)).toEqual([['Backup started\n', 'etc: done\nBackup complete\n'], ['again\n']]);
  });

  it("gives util-linux logger one message per line on its input", async () => {
    const real = realHost('/').runner;
    const seen: string[] = [];
    // The real logger, told to copy each message to stderr (there is no syslog socket here).
    const sink = new SyslogSink({
      async run(command, args, options) {
        const run = await real.run(command, [...args, '--stderr', '--socket-errors=off'], options);
        seen.push(...run.stderr.split('\n').filter((l) => l !== ''));
        return run;
      },
    });
    sink.log('Backup started');
    sink.log('etc: done (30165 entries)');
    await sink.flush();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/ upgrade-recovery: Backup started$/);
    expect(seen[1]).toMatch(/ upgrade-recovery: etc: done \(30165 entries\)$/);
  });

  it('stops sending to syslog once logger fails or is not there', async () => {
    const inner = recorder(() => ({ exitCode: 1 }));
    const sink = new SyslogSink(inner.runner);
    sink.log('one');
    await sink.flush();
    sink.log('two');
    await sink.flush();
    expect(inner.lines).toEqual(['logger -t upgrade-recovery']);
    // Not found: the run ends at once, before flush; the lines after it are dropped, not queued.
    const missing = recorder(() => ({ exitCode: 127 }));
    const quiet = new SyslogSink(missing.runner);
    quiet.log('one');
    await new Promise((resolve) => setTimeout(resolve, 0));
    quiet.log('two');
    await quiet.flush();
    expect(missing.lines).toEqual(['logger -t upgrade-recovery']);
  });
});
