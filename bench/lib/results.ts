/** Where the bench scripts write their results, and the machine those results were measured on. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Machine } from './report.ts';

export const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

/** Writes bench/results/<name> whole or not at all: a run cut short leaves the previous file. */
export function writeResult(name: string, text: string): void {
  mkdirSync(resultsDir, { recursive: true });
  const path = `${resultsDir}${name}`;
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** This machine: the CPU model (from /proc/cpuinfo on Linux), the cores Node may use, memory, Node and OS. */
export function currentMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: os.platform(),
    release: os.release(),
  };
}
