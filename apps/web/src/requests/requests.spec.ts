import { describe, expect, it } from 'vitest';
import type { CompareDto, RequestRowDto } from '@threadreel/model';
import { compareSentence } from '../compare/compare-view';
import { formatSignedDuration, msTextToNs, nsToMsText } from '../format';
import { compareHref, parseRoute, requestsHref } from '../router';

const row = (traceId: string, durationNs: string, breakdown: Record<string, string>): RequestRowDto => ({
  captureId: 'c',
  traceId,
  spanId: '0123456789abcdef',
  service: 'svc',
  route: '/lock',
  name: 'GET /lock',
  startNs: '1795303749797103000',
  endNs: '1795303749797103000',
  durationNs,
  dominantCause: 'lock',
  breakdown,
  sampleCount: 3,
  sparse: false,
});

describe('requests page helpers', () => {
  it('keeps duration bounds exact between ns and the ms of the hash', () => {
    for (const ns of [0n, 1n, 999_999n, 1_000_000n, 104_024_432n, 3_600_000_000_000n])
      expect(msTextToNs(nsToMsText(ns))).toBe(ns);
    expect(nsToMsText(104_024_432n)).toBe('104.024432');
    expect(nsToMsText(5_000_000n)).toBe('5');
    expect(msTextToNs('12.5')).toBe(12_500_000n);
    expect(msTextToNs('-1')).toBeNull();
    expect(msTextToNs('1e3')).toBeNull();
    expect(msTextToNs('0.1234567')).toBeNull();
  });

  it('routes #/requests and #/compare with their queries, and builds their links', () => {
    const r = parseRoute('#/requests?capture=x&cause=lock&min=1.5');
    expect(r.name).toBe('requests');
    if (r.name === 'requests') expect(r.query.get('cause')).toBe('lock');
    expect(parseRoute('#/compare?a=1&b=2').name).toBe('compare');
    expect(requestsHref({ route: '/lock', cause: '', q: undefined })).toBe('#/requests?route=%2Flock');
    expect(requestsHref()).toBe('#/requests');
    expect(compareHref('a', 'b', 'c')).toBe('#/compare?a=a&b=b&capture=c');
    expect(formatSignedDuration(-1_500_000n)).toBe('−1.50 ms');
  });

  it('names the biggest difference of a comparison in one sentence', () => {
    const c: CompareDto = {
      a: row('a', '120000000', { lock: '100000000', cpu: '20000000' }),
      b: row('b', '30000000', { lock: '5000000', cpu: '25000000' }),
      causes: [
        { cause: 'lock', aNs: '100000000', bNs: '5000000', deltaNs: '95000000' },
        { cause: 'cpu', aNs: '20000000', bNs: '25000000', deltaNs: '-5000000' },
      ],
    };
    const s = compareSentence(c);
    expect(s).toContain('A took 90.0 ms longer than B');
    expect(s).toContain('The biggest difference is lock wait');
    expect(s).toContain('+95.0 ms');
  });
});
