import { describe, expect, it } from 'vitest';
import { evaluateMarker, parseMarker, targetMarkerEnvironment } from './markers.js';

const linux311 = targetMarkerEnvironment('3.11', 'manylinux_2_17_x86_64');
const ev = (m: string, env = linux311) => evaluateMarker(parseMarker(m), env);

describe('markers for the target environment', () => {
  it('derives the platform variables from the wheel platform tag', () => {
    expect(linux311).toMatchObject({ python_version: '3.11', python_full_version: '3.11.0', sys_platform: 'linux', platform_system: 'Linux', platform_machine: 'x86_64', os_name: 'posix', implementation_name: 'cpython', platform_python_implementation: 'CPython' });
    expect(targetMarkerEnvironment('3.12.4', 'win_amd64')).toMatchObject({ python_full_version: '3.12.4', sys_platform: 'win32', platform_system: 'Windows', os_name: 'nt', platform_machine: 'AMD64' });
    expect(targetMarkerEnvironment('3.11', 'macosx_11_0_arm64')).toMatchObject({ sys_platform: 'darwin', platform_machine: 'arm64' });
    expect(targetMarkerEnvironment('3.10', 'manylinux_2_17_aarch64', 'pp')).toMatchObject({ platform_machine: 'aarch64', implementation_name: 'pypy', platform_python_implementation: 'PyPy' });
  });

  it('compares versions as PEP 440, not as strings', () => {
    expect(ev('python_version >= "3.9"')).toBe(true);
    expect(ev('python_version < "3.9"')).toBe(false);
    expect(ev("python_version > '3.10'")).toBe(true); // as strings "3.11" > "3.10" too, but:
    expect(ev('python_version < "3.100"')).toBe(true); // a string compare would say false
    expect(ev('python_full_version ~= "3.11.0"')).toBe(true);
    expect(ev('python_version != "3.11"')).toBe(false);
  });

  it('strings, in, not in, and/or with parentheses', () => {
    expect(ev('sys_platform == "win32"')).toBe(false);
    expect(ev('sys_platform == "win32" or (platform_machine == "x86_64" and os_name == "posix")')).toBe(true);
    expect(ev('"linux" in sys_platform and platform_system not in "Windows Darwin"')).toBe(true);
    expect(ev("implementation_name == 'pypy' and python_version >= '3'")).toBe(false);
    expect(ev('platform_python_implementation == "CPython" and sys_platform != "darwin"')).toBe(true);
  });

  it('extra compares normalised names and is empty for the base requirements', () => {
    expect(ev('extra == "socks"')).toBe(false);
    expect(evaluateMarker(parseMarker('extra == "Fast_Json"'), { ...linux311, extra: 'fast-json' })).toBe(true);
  });

  it('refuses what it cannot read', () => {
    expect(() => parseMarker('python_version >= ')).toThrow(/expected a variable or string/);
    expect(() => parseMarker('bogus == "1"')).toThrow(/unknown marker variable bogus/);
    expect(() => parseMarker('(python_version == "3"')).toThrow(/expected \)/);
  });
});
