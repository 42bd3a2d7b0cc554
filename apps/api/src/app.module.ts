import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { DataSource } from 'typeorm';
import type { QueueDriver } from '@threadreel/jobs';
import {
  BlobStore,
  CaptureStore,
  ReplayReader,
  SampleReader,
  type Database,
  type ServerConfig,
} from '@threadreel/store';
import { CapturesController } from './captures/captures.controller.js';
import { CapturesService } from './captures/captures.service.js';
import { ErrorFilter } from './common/error.filter.js';
import { QUEUE_DRIVER, SERVER_CONFIG } from './common/tokens.js';
import { HealthController } from './health/health.controller.js';
import { ProfilesController } from './profiles/profiles.controller.js';
import { CaptureReplayController } from './replay/capture-replay.controller.js';
import { ReplayService } from './replay/replay.service.js';
import { RequestsController } from './replay/requests.controller.js';
import { SearchController } from './replay/search.controller.js';
import { TracesController } from './replay/traces.controller.js';

@Module({})
export class AppModule {
  /** The database and queue are opened before Nest starts (migrations, embedded server). */
  static forRoot(config: ServerConfig, db: Database, queue: QueueDriver): DynamicModule {
    return {
      module: AppModule,
      controllers: [
        CapturesController,
        ProfilesController,
        RequestsController,
        TracesController,
        CaptureReplayController,
        SearchController,
        HealthController,
      ],
      providers: [
        { provide: SERVER_CONFIG, useValue: config },
        { provide: QUEUE_DRIVER, useValue: queue },
        { provide: DataSource, useValue: db.dataSource },
        { provide: CaptureStore, useFactory: (ds: DataSource) => new CaptureStore(ds), inject: [DataSource] },
        { provide: SampleReader, useFactory: (ds: DataSource) => new SampleReader(ds), inject: [DataSource] },
        { provide: ReplayReader, useFactory: (ds: DataSource) => new ReplayReader(ds), inject: [DataSource] },
        { provide: BlobStore, useValue: new BlobStore(config.dataDir) },
        { provide: APP_FILTER, useClass: ErrorFilter },
        CapturesService,
        ReplayService,
      ],
    };
  }
}
