import { type EndpointFormat, type Logger, TargetError, safeUrl } from '@airgap/core';
import type { NexusApi, NexusRepository } from './api.js';

/** A Nexus repository the bundle will publish to. */
export interface RepositoryNeed {
  format: EndpointFormat;
  repository: string;
}

/** Nexus's name of the repository format for each target format (they happen to be the same words). */
export const NEXUS_FORMAT: Record<EndpointFormat, string> = {
  docker: 'docker', helm: 'helm', apt: 'apt', yum: 'yum', pypi: 'pypi', npm: 'npm', raw: 'raw',
};

/**
 * The problems that would make publishing fail, found before anything is sent (issue 4, docs/design.md):
 * Nexus in read-only mode, a repository that does not exist (or that the airgap user cannot see), is
 * not hosted, has another format, or has write policy DENY. One line per problem.
 */
export async function preflightProblems(api: NexusApi, needs: RepositoryNeed[], log: Logger): Promise<string[]> {
  const problems: string[] = [];
  if (!(await api.writable())) {
    problems.push(`${safeUrl(api.url)}: Nexus is read-only (GET /service/rest/v1/status/writable answered 503); wait for maintenance or a backup to finish, or release read-only mode`);
  }
  const repos = new Map<string, NexusRepository>((await api.repositories()).map((r) => [r.name, r]));
  const seen = new Set<string>();
  for (const need of needs) {
    const key = `${need.format}\0${need.repository}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const repo = repos.get(need.repository);
    const want = NEXUS_FORMAT[need.format];
    if (!repo) {
      problems.push(`${need.repository}: no such repository (or the airgap user may not browse it); the bundle's ${need.format} artifacts need a hosted ${want} repository`);
      continue;
    }
    if (repo.type !== 'hosted') {
      problems.push(`${need.repository}: is a ${repo.type} repository; airgap publishes to hosted repositories`);
    }
    if (repo.format !== want) {
      problems.push(`${need.repository}: is a ${repo.format} repository, but the bundle's ${need.format} artifacts need a ${want} repository`);
    }
    if (repo.type === 'hosted' && repo.format === want) {
      const policy = await api.writePolicy(repo);
      if (policy === undefined) log.debug(`${need.repository}: write policy not readable by the airgap user; not checked`);
      if (policy === 'DENY') problems.push(`${need.repository}: write policy is DENY (read-only); set it to ALLOW_ONCE (recommended) or ALLOW`);
    }
  }
  return problems;
}

export async function preflight(api: NexusApi, needs: RepositoryNeed[], targetName: string, log: Logger): Promise<void> {
  const problems = await preflightProblems(api, needs, log);
  if (!problems.length) return;
  throw new TargetError(`target ${targetName} (${safeUrl(api.url)}) cannot take this bundle; nothing was sent:\n${problems.map((p) => '  ' + p).join('\n')}`, {
    subject: `targets.${targetName}`,
    hint: 'fix the repositories in Nexus or targets.' + targetName + '.repositories (docs/nexus.md), then re-run',
  });
}
