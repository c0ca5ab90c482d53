import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '@airgap/core';
import { describeFailure, serverMessage } from './failure.js';

function response(status: number, body: string, opts: { statusText?: string; type?: string; url?: string } = {}): HttpResponse {
  return {
    status, statusText: opts.statusText, url: opts.url ?? 'https://nexus.example/repository/raw-hosted/a.bin',
    headers: opts.type ? { 'content-type': opts.type } : {},
    body: Readable.from([Buffer.from(body)]) as unknown as HttpResponse['body'],
  };
}

const target = { name: 'nexus', config: { type: 'nexus' as const, url: 'https://nexus.example', usernameEnv: 'NX_USER', passwordEnv: 'NX_PASS' } };

describe('serverMessage: the shapes Nexus answers in (docs/reference/nexus-api.md §2, §3, §8, §11)', () => {
  it('joins a Components API validation array, naming fields', async () => {
    const body = JSON.stringify([{ id: 'directory', message: "Missing required component field 'Directory'" }, { id: '*', message: 'No assets found in upload' }]);
    expect(await serverMessage(response(400, body, { type: 'application/json' }))).toBe("directory: Missing required component field 'Directory'; No assets found in upload");
  });

  it('reads a bare JSON string, an npm error object and a registry error body', async () => {
    expect(await serverMessage(response(400, '"Expected multipart Content-Type"', { type: 'application/json' }))).toBe('Expected multipart Content-Type');
    expect(await serverMessage(response(400, '{"success":false,"error":"version 1.0.0 already exists"}', { type: 'application/json' }))).toBe('version 1.0.0 already exists');
    expect(await serverMessage(response(400, '{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":"missing layer"}]}', { type: 'application/json' }))).toBe('MANIFEST_INVALID: manifest invalid: missing layer');
  });

  it('prefers the message Nexus puts in the status line over its HTML page', async () => {
    const html = '<html><head><title>400 - Sonatype Nexus Repository</title></head><body><h1>Error 400</h1><p>Repository does not allow updating assets: raw-hosted</p></body></html>';
    expect(await serverMessage(response(400, html, { statusText: 'Repository does not allow updating assets: raw-hosted', type: 'text/html' }))).toBe('Repository does not allow updating assets: raw-hosted');
    // a standard reason phrase says nothing: the page text is used
    expect(await serverMessage(response(413, '<html><body><h1>413 Request Entity Too Large</h1><hr><center>nginx</center></body></html>', { statusText: 'Payload Too Large' }))).toBe('413 Request Entity Too Large nginx');
  });
});

describe('describeFailure', () => {
  it('scrubs secrets the server echoes and keeps credentials out of the URL', async () => {
    const e = await describeFailure(response(400, 'bad token c2VjcmV0 for s3cret-pw', { url: 'https://u:s3cret-pw@nexus.example/x' }), { method: 'PUT', target, secrets: ['s3cret-pw', 'c2VjcmV0'] });
    expect(e.message).not.toContain('s3cret-pw');
    expect(e.message).not.toContain('c2VjcmV0');
    expect(e.message).toContain('https://nexus.example/x');
  });

  it('401 with "require user tokens" says to use a user token', async () => {
    const e = await describeFailure(response(401, '', { statusText: 'Content access is protected by token' }), { method: 'GET', target });
    expect(e.message).toContain('HTTP 401 authentication failed with the credentials from NX_USER and NX_PASS — Content access is protected by token');
    expect(e.hint).toMatch(/user tokens/);
  });

  it('401 for a target without credentials says to configure them', async () => {
    const e = await describeFailure(response(401, ''), { method: 'GET', target: { name: 't', config: { type: 'nexus', url: 'https://n' } } });
    expect(e.hint).toMatch(/target t sends no credentials: set usernameEnv and passwordEnv/);
  });

  it('400 redeploy refusals (both wordings) say the asset exists and is never overwritten', async () => {
    for (const said of ['raw-hosted/a.bin cannot be updated', 'Repository does not allow updating assets: raw-hosted', 'raw-hosted/a.bin is read-only']) {
      const e = await describeFailure(response(400, '', { statusText: said }), { method: 'PUT', target, subject: 'raw-hosted/a.bin' });
      expect(e.message).toMatch(/^raw-hosted\/a\.bin: PUT .*: HTTP 400 — the asset already exists/);
      expect(e.message).toContain(said);
      expect(e.hint).toMatch(/never overwrites/);
    }
  });

  it('405 and 404 point at the repository configuration', async () => {
    const e405 = await describeFailure(response(405, ''), { method: 'PUT', target, repository: 'npm-proxy' });
    expect(e405.hint).toMatch(/is npm-proxy a hosted repository/);
    const e404 = await describeFailure(response(404, '', { statusText: 'Repository not found' }), { method: 'PUT', target, repository: 'raw-x' });
    expect(e404.message).toMatch(/repository raw-x not found/);
    expect(e404.hint).toMatch(/targets\.nexus\.repositories/);
  });
});
