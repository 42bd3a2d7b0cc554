export declare function writePerfScript(
  file: string,
  opts: { samples: number; threads?: number; pid?: number; seed?: number; startSec?: number },
): Promise<void>;
