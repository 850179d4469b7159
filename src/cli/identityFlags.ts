// The flags of the health, identity and certificate checks: `--cert-warn-days N` (backup, status,
// restore), `--require-api` (backup) and `--health-timeout SECONDS` (restore).
import { Command, Option } from 'commander';
import { DEFAULT_CERT_WARN_DAYS } from '../identity/certificates.js';
import { DEFAULT_HEALTH_TIMEOUT_MS } from '../restore/healthStep.js';
import { nonNegative, secondsOption } from './numberOptions.js';

export function withCertFlag(command: Command): Command {
  return command.addOption(
    new Option('--cert-warn-days <days>', 'warn when the backed-up kubelet certificates expire within this many days').default(DEFAULT_CERT_WARN_DAYS).argParser(nonNegative),
  );
}

export function withBackupHealthFlags(command: Command): Command {
  return withCertFlag(command).option('--require-api', 'refuse the backup when the API does not answer (default: say so, record it, go on)', false);
}

export function withRestoreHealthFlags(command: Command): Command {
  return withCertFlag(command).addOption(secondsOption('--health-timeout <seconds>', 'how long the last step waits for the cluster to be healthy', DEFAULT_HEALTH_TIMEOUT_MS));
}

/** KUBECONFIG from the environment (the core never reads it): oc is run with it. */
export function kubeconfigFromEnv(): { kubeconfig?: string } {
  return process.env.KUBECONFIG ? { kubeconfig: process.env.KUBECONFIG } : {};
}

export function backupHealthOptions(flags: Record<string, unknown>): { requireApi: boolean; certWarnDays: number; kubeconfig?: string } {
  return { requireApi: Boolean(flags.requireApi), certWarnDays: Number(flags.certWarnDays), ...kubeconfigFromEnv() };
}
