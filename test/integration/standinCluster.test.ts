// The stand-in oc's recorded clusters: `oc get clusterversion|co|nodes|mcp|csr -o json` from the
// sets in fixtures/cluster/, chosen by STANDIN_CLUSTER or $STANDIN_STATE/oc/cluster, and an API
// that does not answer. The health and identity checks are only as good as these answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../fixtures/standins/bin');

describe('stand-in oc: recorded clusters', () => {
  let work: string;
  let env: Record<string, string>;
  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'ur-standin-cluster-'));
    const kubeconfig = path.join(work, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://localhost:6443\n  name: localhost\n');
    env = { PATH: `${BIN}:${process.env.PATH}`, STANDIN_STATE: path.join(work, 'state'), KUBECONFIG: kubeconfig };
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const oc = (args: string[], extra: Record<string, string> = {}) => execa('oc', args, { env: { ...env, ...extra }, reject: false });
  const items = async (kind: string, extra: Record<string, string> = {}) => JSON.parse((await oc(['get', kind, '-o', 'json'], extra)).stdout).items;

  it('without a set, generates a healthy cluster with a cluster ID and no CSRs', async () => {
    const id = await oc(['get', 'clusterversion', 'version', '-o', 'jsonpath={.spec.clusterID}']);
    expect(id.stdout).toBe('6f1c2a8e-3b7d-4e0f-9a51-2c8d7e4b9f03');
    expect(await items('csr')).toEqual([]);
    expect((await items('co')).every((o: any) => o.status.conditions.find((c: any) => c.type === 'Degraded').status === 'False')).toBe(true);
  });

  it('STANDIN_CLUSTER=degraded answers with the recorded degraded cluster, in JSON and in tables', async () => {
    const degraded = { STANDIN_CLUSTER: 'degraded' };
    const operators = await items('clusteroperators', degraded);
    const bad = operators.filter((o: any) => o.status.conditions.some((c: any) => (c.type === 'Degraded' && c.status === 'True') || (c.type === 'Available' && c.status === 'False')));
    expect(bad.map((o: any) => o.metadata.name).sort()).toEqual(['ingress', 'machine-config']);
    expect((await items('nodes', degraded))[0].status.conditions.find((c: any) => c.type === 'Ready').status).toBe('False');
    expect((await items('mcp', degraded)).find((p: any) => p.metadata.name === 'master').status.degradedMachineCount).toBe(1);
    expect((await items('csr', degraded)).map((c: any) => c.metadata.name)).toEqual(['csr-4mz8q', 'csr-9bq5t']);
    const table = await oc(['get', 'nodes'], degraded);
    expect(table.stdout).toMatch(/sno-1\.example\.lab\s+NotReady/);
    expect((await oc(['get', 'csr'], degraded)).stdout).toMatch(/csr-9bq5t .* Pending/);
  });

  it('a set that records only some kinds falls back to the generated ones for the others', async () => {
    const other = { STANDIN_CLUSTER: 'other-cluster' };
    expect((await items('clusterversion', other))[0].spec.clusterID).toBe('c0ffee00-1d2e-4f3a-8b4c-5d6e7f809a1b');
    expect((await items('nodes', other))[0].metadata.name).toBe('sno-1.example.lab');
  });

  it('the state file chooses the set when the environment does not, and the environment wins', async () => {
    mkdirSync(path.join(env.STANDIN_STATE!, 'oc'), { recursive: true });
    writeFileSync(path.join(env.STANDIN_STATE!, 'oc', 'cluster'), 'other-cluster\n');
    try {
      expect((await items('clusterversion'))[0].spec.clusterID).toBe('c0ffee00-1d2e-4f3a-8b4c-5d6e7f809a1b');
      expect((await items('clusterversion', { STANDIN_CLUSTER: 'healthy' }))[0].spec.clusterID).toBe('6f1c2a8e-3b7d-4e0f-9a51-2c8d7e4b9f03');
    } finally {
      rmSync(path.join(env.STANDIN_STATE!, 'oc', 'cluster'));
    }
  });

  it('unreachable: every call fails with the real oc words, naming the kubeconfig server', async () => {
    for (const args of [['get', 'nodes', '-o', 'json'], ['adm', 'upgrade'], ['patch', 'etcd', 'cluster', '--type=merge', '-p', '{}']]) {
      const run = await oc(args, { STANDIN_CLUSTER: 'unreachable' });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe('The connection to the server localhost:6443 was refused - did you specify the right host or port?');
    }
  });

  it('an unknown set is a clear error of the stand-in, not an empty cluster', async () => {
    const run = await oc(['get', 'nodes', '-o', 'json'], { STANDIN_CLUSTER: 'no-such-set' });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("no recorded cluster 'no-such-set'");
  });
});
