// Number-valued flags: one parser, so every such flag refuses a bad value the same way (exit 2).
import { InvalidArgumentError, Option } from 'commander';

export function nonNegative(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new InvalidArgumentError(`"${value}" is not a non-negative number`);
  return number;
}

/** A duration flag in seconds, shown with its default. */
export function secondsOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).default(defaultMs / 1000).argParser(nonNegative);
}
