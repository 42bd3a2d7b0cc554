import { describe, expect, it, vi } from 'vitest';
import { describeStop, StopControl } from './stop.js';

describe('StopControl', () => {
  it('stops on the first signal, aborts on the second, hard-exits on the third', async () => {
    const hardExit = vi.fn();
    const stop = new StopControl(hardExit);
    stop.signal('SIGINT');
    expect(await stop.stopped).toEqual({ kind: 'signal', signal: 'SIGINT' });
    expect(stop.aborted).toBe(false);
    stop.signal('SIGTERM');
    expect(stop.aborted).toBe(true);
    expect(hardExit).not.toHaveBeenCalled();
    stop.signal('SIGINT');
    expect(hardExit).toHaveBeenCalledTimes(1);
  });

  it('keeps the first reason; a signal after the recording ended aborts at once', async () => {
    const stop = new StopControl(() => undefined);
    stop.stop({ kind: 'duration' });
    stop.noteDiskFull('ENOSPC');
    expect(await stop.stopped).toEqual({ kind: 'duration' });
    expect(stop.reason).toEqual({ kind: 'duration' });
    expect(stop.diskFull).toBe('ENOSPC');
    stop.recordingOver = true;
    stop.signal('SIGINT');
    expect(stop.aborted).toBe(true);
  });

  it('says why the recording ended early, and nothing when it ran its duration', () => {
    expect(describeStop({ kind: 'duration' }, 30_000, 30_000)).toBeNull();
    expect(describeStop({ kind: 'signal', signal: 'SIGINT' }, 1234, 30_000)).toBe(
      'recording stopped early by SIGINT after 1.2 s of 30.0 s: the files cover only that time',
    );
    expect(describeStop({ kind: 'target-exited' }, 500, 2000)).toContain('target process exited after 0.5 s');
    expect(describeStop({ kind: 'disk-full', detail: 'x' }, 500, 2000)).toContain('disk full');
  });
});
