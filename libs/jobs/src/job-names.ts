/** Every job the system runs. The registry refuses to start unless each has exactly one processor. */
export const JOB_NAMES = ['parse-file', 'correlate-capture'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface ParseFileData {
  captureId: string;
  fileId: string;
  /** Set for a job parsing one byte range of a large file (see parse-file.job.ts). */
  range?: {
    generation: number;
    index: number;
    count: number;
    start: number;
    end: number;
    firstLine: number;
    /** When the file's own job planned the ranges (epoch ms), for the file's parse time. */
    startedAt: number;
  };
}
export interface CorrelateCaptureData {
  captureId: string;
}

export interface JobPayloads {
  'parse-file': ParseFileData;
  'correlate-capture': CorrelateCaptureData;
}

/** Queue per job kind, so parse and correlate concurrency are independent. */
export const QUEUE_OF: Record<JobName, 'parse' | 'correlate'> = {
  'parse-file': 'parse',
  'correlate-capture': 'correlate',
};
