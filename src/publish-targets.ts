import {
  type AirgapConfig, type Artifact, type BlobSource, type EndpointFormat, type EndpointPublishHalf, type HttpClient, type Logger,
  type ProgressSink, type PublishContext, type PublishHalf, type ResolvedTarget, type Transfers, UsageError,
} from '@airgap/core';
import { ecosystems } from './ecosystems.js';
import type { UnpackPlan } from './route.js';

/** One target of a run, opened once through its driver, with the publish context its kinds use. */
export interface OpenedTarget {
  target: ResolvedTarget;
  ctx: PublishContext;
  close?: () => Promise<void>;
}

/** What every publish context of one run shares (the verified bundle, the one transfer engine, …). */
export interface PublishRun {
  http: HttpClient;
  config: AirgapConfig;
  log: Logger;
  progress: ProgressSink;
  dryRun: boolean;
  env: NodeJS.ProcessEnv;
  blobs: BlobSource;
  bundle: { name: string; created: string };
  concurrency: number;
  transfer: Transfers;
}

/**
 * The formats each target must take (preflight, docs/config.md): the format of every artifact a kind
 * sends there. A dir or s3 target has none (its driver only needs to be opened).
 */
export function formatsByTarget(plan: UnpackPlan, halves: Map<string, PublishHalf>, artifactsOf: (kind: string) => Artifact[]): Map<string, Set<EndpointFormat>> {
  const formats = new Map<string, Set<EndpointFormat>>();
  for (const [kind, half] of halves) {
    const target = plan.targetFor(kind)!;
    if (!formats.has(target.name)) formats.set(target.name, new Set());
    if (target.type === 'dir' || target.type === 's3') continue;
    for (const a of artifactsOf(kind)) formats.get(target.name)!.add((half as EndpointPublishHalf).format(a));
  }
  return formats;
}

/**
 * Open a target through its registered driver (its preflight: exit 1 before anything is sent) and build
 * the PublishContext from what the driver returns. The only place a PublishContext is made
 * (docs/design.md "Publishing"); the contract suite (test/contract/publishers.test.ts) goes through it too.
 */
export async function openTarget(target: ResolvedTarget, formats: Set<EndpointFormat>, run: PublishRun): Promise<OpenedTarget> {
  const driver = ecosystems.targetDriver(target.type);
  if (!driver) throw new UsageError(`targets of type ${target.type} are not supported by this airgap build`, { subject: `--to ${target.name}` });
  const o = await driver.open(target, { http: run.http, config: run.config, log: run.log, formats, dryRun: run.dryRun, env: run.env, transfer: run.transfer });
  return {
    target,
    close: o.close?.bind(o),
    ctx: {
      target, blobs: run.blobs, http: run.http, config: run.config, log: run.log, progress: run.progress,
      bundle: run.bundle, dryRun: run.dryRun, services: o.services, concurrency: run.concurrency, transfer: run.transfer,
    },
  };
}
