/** The part of npm-pick-manifest (npm/npm-pick-manifest lib/index.js) airgap calls; the package ships no types. */
declare module 'npm-pick-manifest' {
  export default function pickManifest(
    packument: { name: string; versions?: Record<string, unknown>; 'dist-tags'?: Record<string, string> },
    wanted: string,
    opts?: { nodeVersion?: string; defaultTag?: string },
  ): { version: string } | null;
}
