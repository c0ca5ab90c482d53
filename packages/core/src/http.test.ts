import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HttpClient } from './http.js';

describe('HttpClient.warm (unpack loads the client while the parts are hashed)', () => {
  it('makes the agent ahead of the first request, which then uses it', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const http = new HttpClient({ proxy: 'none', retries: 0 });
      http.warm();
      expect(requests).toBe(0); // warming sends nothing
      const res = await http.request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(res.status).toBe(200);
      expect(await res.body.text()).toBe('ok');
      expect(requests).toBe(1);
      await http.close();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('an agent that cannot be made is the first request\'s error, not an unhandled rejection', async () => {
    const http = new HttpClient({ proxy: 'not a proxy url', retries: 0 });
    http.warm();
    await new Promise((r) => setTimeout(r, 50)); // an unhandled rejection would surface here and fail the file
    const err = await http.request('http://127.0.0.1:9/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/invalid|url/i);
  });
});
