import type { DataSource } from 'typeorm';
import { BlobStore, CaptureStore, CorrelationStore, SampleReader } from '@threadreel/store';

/** What processors need: the database and the input files. */
export class JobDeps {
  readonly captures: CaptureStore;
  readonly samples: SampleReader;
  readonly blobs: BlobStore;
  readonly correlation: CorrelationStore;

  constructor(
    readonly ds: DataSource,
    dataDir: string,
  ) {
    this.captures = new CaptureStore(ds);
    this.samples = new SampleReader(ds);
    this.blobs = new BlobStore(dataDir);
    this.correlation = new CorrelationStore(ds);
  }
}
