import type { DataSource } from 'typeorm';
import type { CaptureSource, CorrelationSink } from '@threadreel/correlate';
import { BlobStore, CaptureStore, PgCaptureSource, PgCorrelationSink, SampleReader } from '@threadreel/store';

/** What processors need: the database and the input files. */
export class JobDeps {
  readonly captures: CaptureStore;
  readonly samples: SampleReader;
  readonly blobs: BlobStore;

  constructor(
    readonly ds: DataSource,
    dataDir: string,
  ) {
    this.captures = new CaptureStore(ds);
    this.samples = new SampleReader(ds);
    this.blobs = new BlobStore(dataDir);
  }

  /** The two ports of one capture's correlation, on this database. */
  correlation(captureId: string): { source: CaptureSource; sink: CorrelationSink } {
    return {
      source: new PgCaptureSource(this.ds, captureId),
      sink: new PgCorrelationSink(this.ds, captureId),
    };
  }
}
